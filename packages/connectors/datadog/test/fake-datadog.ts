/**
 * A fake Datadog API on the testkit's fake server, with state: monitor groups (groups search),
 * alert events (Events v2) and downtimes (Downtime v2: create, list, cancel), keys checked on
 * every call. It dedupes nothing: a second `POST /api/v2/downtime` makes a second downtime, so a
 * test counting them sees a repeated acknowledge.
 */
import { randomUUID } from "node:crypto";
import {
  type FakeRequest,
  type FakeResponse,
  type FakeServer,
  fakeServer,
} from "@runwarden/connector-testkit";

export interface FakeMonitorGroup {
  monitor_id: number;
  monitor_name: string;
  group: string;
  group_tags: string[];
  status: "Alert" | "Warn" | "No Data";
  last_triggered_ts?: number;
}

export interface FakeDowntime {
  id: string;
  attributes: {
    monitor_identifier: { monitor_id?: number };
    scope: string;
    message: string;
    status: "active" | "canceled";
    schedule: { start: string | null; end: string | null };
  };
}

export interface FakeDatadog {
  readonly server: FakeServer;
  readonly url: string;
  /** Monitor groups, as groups search returns them (by `status`). */
  groups: FakeMonitorGroup[];
  /** Events v2 `data` items returned by `GET /api/v2/events` (filtered by `filter[from]`). */
  events: Record<string, unknown>[];
  /** Every downtime ever created, cancelled ones included. */
  readonly downtimes: FakeDowntime[];
  /**
   * The next downtime create is applied at once but answered only after this long (a caller that
   * dies meanwhile never learns it succeeded). 0: answer at once.
   */
  slowCreateMs: number;
  /** The next `n` calls to any route answer 429 with this `Retry-After` (seconds). */
  rateLimit(n: number, retryAfterSeconds: number): void;
  /** Requests of one path (pulls count `GET /api/v1/monitor/groups/search`). */
  requestsTo(method: string, path: string): FakeRequest[];
  close(): Promise<void>;
}

export async function fakeDatadog(keys: { apiKey: string; applicationKey: string }): Promise<FakeDatadog> {
  const state = {
    groups: [] as FakeMonitorGroup[],
    events: [] as Record<string, unknown>[],
    downtimes: [] as FakeDowntime[],
    limited: 0,
    retryAfter: 1,
    slowCreateMs: 0,
  };

  function guard(
    handler: (req: FakeRequest) => FakeResponse | undefined,
  ): (req: FakeRequest) => FakeResponse | undefined {
    return (req) => {
      if (
        req.headers["dd-api-key"] !== keys.apiKey ||
        req.headers["dd-application-key"] !== keys.applicationKey
      ) {
        return { status: 403, body: { errors: ["Forbidden"] } };
      }
      if (state.limited > 0) {
        state.limited--;
        return {
          status: 429,
          headers: { "retry-after": String(state.retryAfter) },
          body: { errors: ["Rate limit exceeded"] },
        };
      }
      return handler(req);
    };
  }

  const server = await fakeServer({
    "GET /api/v1/validate": guard(() => ({ body: { valid: true } })),
    "GET /api/v1/monitor/groups/search": guard((req) => {
      const query = req.query.get("query") ?? "";
      const wanted = /group_status:"([^"]+)"/.exec(query)?.[1]?.toLowerCase();
      const groups = state.groups.filter((g) => g.status.toLowerCase() === wanted);
      return {
        body: {
          groups,
          metadata: {
            page: 0,
            page_count: groups.length > 0 ? 1 : 0,
            per_page: 100,
            total_count: groups.length,
          },
        },
      };
    }),
    "GET /api/v2/events": guard((req) => {
      const from = Number(req.query.get("filter[from]") ?? 0);
      const data = state.events.filter((e) => {
        const ts = (e.attributes as { timestamp?: string } | undefined)?.timestamp;
        return ts === undefined || Date.parse(ts) >= from;
      });
      return { body: { data, meta: { page: {} } } };
    }),
    "GET /api/v2/downtime": guard((req) => {
      const currentOnly = req.query.get("current_only") === "true";
      const limit = Number(req.query.get("page[limit]") ?? 30);
      const offset = Number(req.query.get("page[offset]") ?? 0);
      const all = state.downtimes.filter((d) => !currentOnly || d.attributes.status !== "canceled");
      return {
        body: {
          data: all.slice(offset, offset + limit).map((d) => ({ type: "downtime", ...d })),
          meta: { page: { total_filtered_count: all.length } },
        },
      };
    }),
    "POST /api/v2/downtime": guard((req) => {
      const body = req.json<{ data?: { type?: string; attributes?: Partial<FakeDowntime["attributes"]> } }>();
      const attributes = body.data?.attributes;
      if (body.data?.type !== "downtime" || !attributes?.scope || !attributes.monitor_identifier) {
        return { status: 400, body: { errors: ["invalid downtime"] } };
      }
      const downtime: FakeDowntime = {
        id: randomUUID(),
        attributes: {
          monitor_identifier: attributes.monitor_identifier,
          scope: attributes.scope,
          message: attributes.message ?? "",
          status: "active",
          schedule: { start: attributes.schedule?.start ?? null, end: attributes.schedule?.end ?? null },
        },
      };
      state.downtimes.push(downtime);
      const delayMs = state.slowCreateMs;
      state.slowCreateMs = 0;
      return { body: { data: { type: "downtime", ...downtime } }, delayMs };
    }),
    "DELETE /api/v2/downtime/:id": guard((req) => {
      const downtime = state.downtimes.find((d) => d.id === req.params.id);
      if (!downtime) return { status: 404, body: { errors: ["Downtime not found"] } };
      downtime.attributes.status = "canceled";
      return { status: 204 };
    }),
  });

  return {
    server,
    url: server.url,
    get groups() {
      return state.groups;
    },
    set groups(value) {
      state.groups = value;
    },
    get events() {
      return state.events;
    },
    set events(value) {
      state.events = value;
    },
    downtimes: state.downtimes,
    get slowCreateMs() {
      return state.slowCreateMs;
    },
    set slowCreateMs(value) {
      state.slowCreateMs = value;
    },
    rateLimit(n, retryAfterSeconds) {
      state.limited = n;
      state.retryAfter = retryAfterSeconds;
    },
    requestsTo: (method, path) => server.requests.filter((r) => r.method === method && r.path === path),
    close: () => server.close(),
  };
}
