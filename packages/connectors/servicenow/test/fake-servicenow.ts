/**
 * A fake ServiceNow instance for tests: the Table API on `incident` and `sys_journal_field` with
 * the encoded-query subset the connector uses, offset paging with `Link` and `X-Total-Count`
 * headers, basic auth and OAuth client credentials at /oauth_token.do.
 */
import { randomBytes } from "node:crypto";
import {
  type FakeRequest,
  type FakeResponse,
  type FakeServer,
  fakeServer,
} from "@runwarden/connector-testkit";

export interface FakeIncident {
  sys_id: string;
  number: string;
  short_description: string;
  description: string;
  state: string;
  impact: string;
  urgency: string;
  priority: string;
  assignment_group: string;
  correlation_id: string;
  correlation_display: string;
  close_code: string;
  close_notes: string;
  sys_created_on: string;
  sys_updated_on: string;
  [field: string]: string;
}

export interface FakeServiceNow {
  server: FakeServer;
  url: string;
  incidents: FakeIncident[];
  journal: { sys_id: string; element_id: string; element: string; value: string; name: string }[];
  /** Current instance time; bump it to order updates. */
  clock: { now: string };
  tokensIssued: number;
  /** Answer the next n table calls with this response instead. */
  failNext(n: number, response: FakeResponse): void;
  close(): Promise<void>;
}

const PRIORITY: Record<string, string> = {
  "11": "1",
  "12": "2",
  "13": "3",
  "21": "2",
  "22": "3",
  "23": "4",
  "31": "3",
  "32": "4",
  "33": "5",
};

const operators: [RegExp, (actual: string, expected: string) => boolean][] = [
  [/^(\w+)>=(.*)$/, (actual, expected) => actual >= expected],
  [/^(\w+)IN(.*)$/, (actual, expected) => expected.split(",").includes(actual)],
  [/^(\w+)LIKE(.*)$/, (actual, expected) => actual.includes(expected)],
  [/^(\w+)=(.*)$/, (actual, expected) => actual === expected],
];

function matches(record: Record<string, string>, query: string): boolean {
  for (const clause of query.split("^")) {
    if (!clause || clause.startsWith("ORDERBY")) continue;
    const operator = operators.find(([pattern]) => pattern.test(clause));
    if (!operator) throw new Error(`fake ServiceNow does not understand ${clause}`);
    const [, field, expected] = operator[0].exec(clause)!;
    if (!operator[1](record[field!] ?? "", expected!)) return false;
  }
  return true;
}

function pick(record: Record<string, string>, fields: string | null): Record<string, string> {
  if (!fields) return { ...record };
  return Object.fromEntries(fields.split(",").map((f) => [f, record[f] ?? ""]));
}

export async function fakeServiceNow(options: {
  auth: "basic" | "oauth";
  user?: string;
  password?: string;
  clientId?: string;
  clientSecret?: string;
  tokenTtlS?: number;
}): Promise<FakeServiceNow> {
  const tokens = new Set<string>();
  let failures: { left: number; response: FakeResponse } = { left: 0, response: {} };
  let counter = 10_023;
  const state: FakeServiceNow = {
    server: undefined as unknown as FakeServer,
    url: "",
    incidents: [],
    journal: [],
    clock: { now: "2025-05-14 09:00:00" },
    tokensIssued: 0,
    failNext(n, response) {
      failures = { left: n, response };
    },
    close: () => state.server.close(),
  };

  function authorized(req: FakeRequest): boolean {
    const header = req.headers.authorization ?? "";
    if (options.auth === "basic") {
      return header === `Basic ${Buffer.from(`${options.user}:${options.password}`).toString("base64")}`;
    }
    return header.startsWith("Bearer ") && tokens.has(header.slice(7));
  }

  function guard(req: FakeRequest): FakeResponse | undefined {
    if (!authorized(req))
      return {
        status: 401,
        body: {
          error: { message: "User Not Authenticated", detail: "Required to provide Auth information" },
          status: "failure",
        },
      };
    if (failures.left > 0) {
      failures.left--;
      return failures.response;
    }
    return undefined;
  }

  function list(req: FakeRequest, rows: Record<string, string>[]): FakeResponse {
    const query = req.query.get("sysparm_query") ?? "";
    const order = /ORDERBY(\w+)/.exec(query)?.[1];
    let found = rows.filter((r) => matches(r, query));
    if (order)
      found = [...found].sort((a, b) => (a[order]! < b[order]! ? -1 : a[order]! > b[order]! ? 1 : 0));
    const limit = Number(req.query.get("sysparm_limit") ?? 10_000);
    const offset = Number(req.query.get("sysparm_offset") ?? 0);
    const page = found.slice(offset, offset + limit).map((r) => pick(r, req.query.get("sysparm_fields")));
    const link = (o: number, rel: string) => {
      const q = new URLSearchParams(req.query);
      q.set("sysparm_offset", String(o));
      q.set("sysparm_limit", String(limit));
      return `<${state.url}${req.path}?${q}>;rel="${rel}"`;
    };
    const links = [link(0, "first")];
    if (offset + limit < found.length) links.push(link(offset + limit, "next"));
    links.push(link(Math.max(0, Math.floor((found.length - 1) / limit) * limit), "last"));
    return {
      headers: { "X-Total-Count": String(found.length), Link: links.join(",") },
      body: { result: page },
    };
  }

  state.server = await fakeServer({
    "POST /oauth_token.do": (req) => {
      const form = new URLSearchParams(req.body);
      if (
        form.get("grant_type") !== "client_credentials" ||
        form.get("client_id") !== options.clientId ||
        form.get("client_secret") !== options.clientSecret
      ) {
        return { status: 401, body: { error_description: "access_denied", error: "server_error" } };
      }
      const token = randomBytes(16).toString("hex");
      tokens.add(token);
      state.tokensIssued++;
      return {
        body: {
          access_token: token,
          refresh_token: "r",
          scope: "useraccount",
          token_type: "Bearer",
          expires_in: options.tokenTtlS ?? 1799,
        },
      };
    },
    "GET /api/now/table/incident": (req) => guard(req) ?? list(req, state.incidents),
    "GET /api/now/table/sys_journal_field": (req) => guard(req) ?? list(req, state.journal),
    "POST /api/now/table/incident": (req) => {
      const denied = guard(req);
      if (denied) return denied;
      const body = req.json<Record<string, string>>();
      const sys_id = randomBytes(16).toString("hex");
      const incident: FakeIncident = {
        short_description: "",
        description: "",
        state: "1",
        impact: "3",
        urgency: "3",
        assignment_group: "",
        correlation_id: "",
        correlation_display: "",
        close_code: "",
        close_notes: "",
        ...body,
        priority: PRIORITY[`${body.impact ?? "3"}${body.urgency ?? "3"}`]!,
        sys_id,
        number: `INC00${counter++}`,
        sys_created_on: state.clock.now,
        sys_updated_on: state.clock.now,
      };
      state.incidents.push(incident);
      return {
        status: 201,
        headers: { Location: `${state.url}/api/now/table/incident/${sys_id}` },
        body: { result: pick(incident, req.query.get("sysparm_fields")) },
      };
    },
    "PATCH /api/now/table/incident/:id": (req) => {
      const denied = guard(req);
      if (denied) return denied;
      const incident = state.incidents.find((i) => i.sys_id === req.params.id);
      if (!incident)
        return { status: 404, body: { error: { message: "No Record found" }, status: "failure" } };
      const { work_notes, ...fields } = req.json<Record<string, string>>();
      if (fields.state === "6" && !(fields.close_code ?? incident.close_code)) {
        return {
          status: 403,
          body: {
            error: { message: "Operation Failed", detail: "Data Policy Exception: close_code is mandatory" },
          },
        };
      }
      Object.assign(incident, fields, { sys_updated_on: state.clock.now });
      if (work_notes) {
        state.journal.push({
          sys_id: randomBytes(16).toString("hex"),
          element_id: incident.sys_id,
          element: "work_notes",
          value: work_notes,
          name: "incident",
        });
      }
      return { body: { result: pick(incident, req.query.get("sysparm_fields")) } };
    },
  });
  state.url = state.server.url;
  return state;
}
