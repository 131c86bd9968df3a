/**
 * A fake ServiceDesk Plus (API v3) for tests. It enforces the documented request shapes and
 * refuses anything else: the `Accept: application/vnd.manageengine.sdp.v3+json` header, the
 * `authtoken` header (on-premises) or `Authorization: Zoho-oauthtoken` (Cloud, tokens from a fake
 * Zoho accounts `/oauth/v2/token`), bodies form-encoded with one `input_data` field holding JSON,
 * `list_info` with `row_count` ≤ 100, instance-configured names for statuses, priorities and
 * closure codes, the `note`/`request_note` wrapper, and a close of a closed request.
 */
import { randomBytes } from "node:crypto";
import {
  type FakeRequest,
  type FakeResponse,
  type FakeServer,
  fakeServer,
} from "@runwarden/connector-testkit";

export interface FakeSdpRequest {
  id: string;
  subject: string;
  description: string;
  status: string;
  priority: string | null;
  group: string | null;
  request_type: string | null;
  requester: string | null;
  created_time: number;
  last_updated_time: number;
  closure_info: Record<string, unknown> | null;
  resolution: string | null;
  udf_fields: Record<string, string>;
  notes: { id: string; description: string; show_to_requester: boolean }[];
}

export interface FakeSdp {
  server: FakeServer;
  url: string;
  requests: FakeSdpRequest[];
  /** The instance clock in epoch ms; bump it to order updates. */
  clock: { now: number };
  tokensIssued: number;
  /** Answer the next n API calls with this response instead. */
  failNext(n: number, response: FakeResponse): void;
  close(): Promise<void>;
}

const ACCEPT = "application/vnd.manageengine.sdp.v3+json";
const STATUSES = ["Open", "In Progress", "On Hold", "Resolved", "Closed", "Canceled"];
const PRIORITIES = ["Low", "Medium", "High", "Urgent"];
const CLOSURE_CODES = ["Success", "Failed", "Canceled"];

const failure = (status: number, code: number, message: string): FakeResponse => ({
  status,
  body: {
    response_status: {
      status_code: code,
      status: "failed",
      messages: [{ status_code: code, type: "failed", message }],
    },
  },
});
const success = { status_code: 2000, status: "success" };

function view(r: FakeSdpRequest) {
  return {
    id: r.id,
    subject: r.subject,
    description: r.description,
    status: { name: r.status, id: String(STATUSES.indexOf(r.status) + 1) },
    priority: r.priority === null ? null : { name: r.priority },
    group: r.group === null ? null : { name: r.group },
    request_type: r.request_type === null ? null : { name: r.request_type },
    created_time: { value: String(r.created_time), display_value: new Date(r.created_time).toUTCString() },
    last_updated_time: {
      value: String(r.last_updated_time),
      display_value: new Date(r.last_updated_time).toUTCString(),
    },
    udf_fields: r.udf_fields,
  };
}

function fieldValue(r: FakeSdpRequest, field: string): string {
  if (field === "last_updated_time") return String(r.last_updated_time);
  if (field === "created_time") return String(r.created_time);
  if (field === "group.name") return r.group ?? "";
  if (field === "description") return r.description;
  if (field.startsWith("udf_fields.")) return r.udf_fields[field.slice(11)] ?? "";
  throw new Error(`fake SDP cannot search ${field}`);
}

interface Criterion {
  field: string;
  condition: string;
  value?: string;
  values?: string[];
}

function matches(r: FakeSdpRequest, criteria: Criterion[]): boolean {
  return criteria.every((c) => {
    const actual = fieldValue(r, c.field);
    switch (c.condition) {
      case "greater than":
        return Number(actual) > Number(c.value);
      case "is":
        return c.values ? c.values.includes(actual) : actual === c.value;
      case "contains":
        return actual.includes(String(c.value));
      default:
        throw new Error(`fake SDP does not know condition ${c.condition}`);
    }
  });
}

export async function fakeSdp(options: {
  mode: "onprem" | "cloud";
  authtoken?: string;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  tokenTtlS?: number;
}): Promise<FakeSdp> {
  const tokens = new Set<string>();
  let failures = { left: 0, response: {} as FakeResponse };
  let counter = 100_000_000_000_034_567n;
  const state: FakeSdp = {
    server: undefined as unknown as FakeServer,
    url: "",
    requests: [],
    clock: { now: Date.parse("2025-05-14T09:00:00Z") },
    tokensIssued: 0,
    failNext(n, response) {
      failures = { left: n, response };
    },
    close: () => state.server.close(),
  };

  /** Auth, Accept and (for writes) the input_data form; returns the parsed input_data or a refusal. */
  function guard(
    req: FakeRequest,
    write: boolean,
  ): { refused: FakeResponse } | { input: Record<string, unknown> } {
    const authorized =
      options.mode === "onprem"
        ? req.headers.authtoken === options.authtoken && req.headers.authorization === undefined
        : (req.headers.authorization ?? "").startsWith("Zoho-oauthtoken ") &&
          tokens.has((req.headers.authorization ?? "").slice(16));
    if (!authorized) return { refused: failure(401, 4001, "Invalid authentication token") };
    if (req.headers.accept !== ACCEPT) return { refused: failure(400, 4000, `Accept must be ${ACCEPT}`) };
    if (failures.left > 0) {
      failures.left--;
      return { refused: failures.response };
    }
    let raw: string | null;
    if (write) {
      if (!(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
        return { refused: failure(400, 4000, "input_data must be form-encoded") };
      }
      const form = new URLSearchParams(req.body);
      if ([...form.keys()].some((k) => k !== "input_data"))
        return { refused: failure(400, 4000, "unknown form field") };
      raw = form.get("input_data");
    } else raw = req.query.get("input_data");
    if (raw === null)
      return write ? { refused: failure(400, 4012, "input_data is mandatory") } : { input: {} };
    try {
      const input = JSON.parse(raw) as unknown;
      if (typeof input !== "object" || input === null || Array.isArray(input))
        throw new Error("not an object");
      return { input: input as Record<string, unknown> };
    } catch {
      return { refused: failure(400, 4000, "input_data is not JSON") };
    }
  }

  function named(
    value: unknown,
    allowed: readonly string[] | undefined,
    field: string,
  ): string | FakeResponse | null {
    if (value === undefined) return null;
    const name = (value as { name?: unknown } | null)?.name;
    if (typeof name !== "string") return failure(400, 4000, `${field} must be { name }`);
    if (allowed && !allowed.includes(name)) return failure(400, 4001, `${field} ${name} does not exist`);
    return name;
  }

  const find = (id: string | undefined) => state.requests.find((r) => r.id === id);

  state.server = await fakeServer({
    "POST /oauth/v2/token": (req) => {
      const form = new URLSearchParams(req.body);
      if (
        form.get("grant_type") !== "refresh_token" ||
        form.get("refresh_token") !== options.refreshToken ||
        form.get("client_id") !== options.clientId ||
        form.get("client_secret") !== options.clientSecret
      ) {
        return { body: { error: "invalid_code" } };
      }
      const token = `1000.${randomBytes(16).toString("hex")}`;
      tokens.add(token);
      state.tokensIssued++;
      return {
        body: {
          access_token: token,
          api_domain: "https://www.zohoapis.com",
          token_type: "Bearer",
          expires_in: options.tokenTtlS ?? 3600,
        },
      };
    },
    "GET /api/v3/requests": (req) => {
      const g = guard(req, false);
      if ("refused" in g) return g.refused;
      const info = (g.input.list_info ?? {}) as {
        row_count?: number;
        start_index?: number;
        sort_field?: string;
        sort_order?: string;
        search_criteria?: Criterion[] | Criterion;
      };
      const rowCount = info.row_count ?? 10;
      if (!Number.isInteger(rowCount) || rowCount < 1 || rowCount > 100) {
        return failure(400, 4000, "row_count must be 1 to 100");
      }
      const start = info.start_index ?? 1;
      const criteria = info.search_criteria === undefined ? [] : [info.search_criteria].flat();
      let found = state.requests.filter((r) => matches(r, criteria));
      if (info.sort_field) {
        const key = info.sort_field as "last_updated_time" | "created_time";
        found = [...found].sort((a, b) => (a[key] - b[key]) * (info.sort_order === "desc" ? -1 : 1));
      }
      const page = found.slice(start - 1, start - 1 + rowCount);
      return {
        body: {
          requests: page.map(view),
          list_info: {
            has_more_rows: start - 1 + rowCount < found.length,
            start_index: start,
            row_count: page.length,
          },
          response_status: [success],
        },
      };
    },
    "GET /api/v3/requests/:id": (req) => {
      const g = guard(req, false);
      if ("refused" in g) return g.refused;
      const r = find(req.params.id);
      if (!r) return failure(404, 4007, "Invalid URL or resource not found");
      return { body: { request: view(r), response_status: success } };
    },
    "POST /api/v3/requests": (req) => {
      const g = guard(req, true);
      if ("refused" in g) return g.refused;
      const input = g.input.request as Record<string, unknown> | undefined;
      if (!input || typeof input.subject !== "string" || input.subject === "") {
        return failure(400, 4012, "subject is mandatory");
      }
      const priority = named(input.priority, PRIORITIES, "priority");
      const status = named(input.status, STATUSES, "status");
      for (const v of [priority, status]) if (v !== null && typeof v === "object") return v;
      const id = String(counter++);
      const r: FakeSdpRequest = {
        id,
        subject: input.subject,
        description: typeof input.description === "string" ? input.description : "",
        status: (status as string | null) ?? "Open",
        priority: priority as string | null,
        group: named(input.group, undefined, "group") as string | null,
        request_type: named(input.request_type, undefined, "request_type") as string | null,
        requester: named(input.requester, undefined, "requester") as string | null,
        created_time: state.clock.now,
        last_updated_time: state.clock.now,
        closure_info: null,
        resolution: null,
        udf_fields: (input.udf_fields as Record<string, string> | undefined) ?? {},
        notes: [],
      };
      state.requests.push(r);
      return { status: 201, body: { request: view(r), response_status: success } };
    },
    "PUT /api/v3/requests/:id": (req) => {
      const g = guard(req, true);
      if ("refused" in g) return g.refused;
      const r = find(req.params.id);
      if (!r) return failure(404, 4007, "Invalid URL or resource not found");
      const input = g.input.request as Record<string, unknown> | undefined;
      if (!input) return failure(400, 4012, "request is mandatory");
      const status = named(input.status, STATUSES, "status");
      const priority = named(input.priority, PRIORITIES, "priority");
      for (const v of [priority, status]) if (v !== null && typeof v === "object") return v;
      if (r.status === "Closed") return failure(400, 4000, "Closed requests cannot be edited");
      if (status === "Closed") return failure(400, 4000, "Use the close operation to close a request");
      if (status !== null) r.status = status as string;
      if (priority !== null) r.priority = priority as string;
      if (typeof input.subject === "string") r.subject = input.subject;
      const resolution = (input.resolution as { content?: unknown } | undefined)?.content;
      if (typeof resolution === "string") r.resolution = resolution;
      if (input.udf_fields) Object.assign(r.udf_fields, input.udf_fields);
      r.last_updated_time = state.clock.now;
      return { body: { request: view(r), response_status: success } };
    },
    "PUT /api/v3/requests/:id/close": (req) => {
      const g = guard(req, true);
      if ("refused" in g) return g.refused;
      const r = find(req.params.id);
      if (!r) return failure(404, 4007, "Invalid URL or resource not found");
      const info = (g.input.request as { closure_info?: Record<string, unknown> } | undefined)?.closure_info;
      if (!info) return failure(400, 4012, "closure_info is mandatory");
      const code = named(info.closure_code, CLOSURE_CODES, "closure_code");
      if (code !== null && typeof code === "object") return code;
      if (r.status === "Closed") return failure(400, 4000, "Request is already closed");
      r.status = "Closed";
      r.closure_info = info;
      r.last_updated_time = state.clock.now;
      return {
        body: {
          response_status: {
            ...success,
            messages: [{ status_code: 2000, type: "success", message: "Request(s) closed successfully" }],
          },
        },
      };
    },
    "GET /api/v3/requests/:id/notes": (req) => {
      const g = guard(req, false);
      if ("refused" in g) return g.refused;
      const r = find(req.params.id);
      if (!r) return failure(404, 4007, "Invalid URL or resource not found");
      const info = (g.input.list_info ?? {}) as { row_count?: number; start_index?: number };
      const start = info.start_index ?? 1;
      const rows = info.row_count ?? 10;
      const page = r.notes.slice(start - 1, start - 1 + rows);
      return {
        body: {
          [options.mode === "onprem" ? "notes" : "request_notes"]: page,
          list_info: {
            has_more_rows: start - 1 + rows < r.notes.length,
            start_index: start,
            row_count: page.length,
          },
          response_status: [success],
        },
      };
    },
    "POST /api/v3/requests/:id/notes": (req) => {
      const g = guard(req, true);
      if ("refused" in g) return g.refused;
      const r = find(req.params.id);
      if (!r) return failure(404, 4007, "Invalid URL or resource not found");
      const key = options.mode === "onprem" ? "note" : "request_note";
      const note = g.input[key] as { description?: unknown; show_to_requester?: unknown } | undefined;
      if (!note || typeof note.description !== "string" || note.description === "") {
        return failure(400, 4012, `${key}.description is mandatory`);
      }
      const added = {
        id: String(counter++),
        description: note.description,
        show_to_requester: note.show_to_requester === true,
      };
      r.notes.push(added);
      r.last_updated_time = state.clock.now;
      return { status: 201, body: { [key]: added, response_status: success } };
    },
  });
  state.url = state.server.url;
  return state;
}
