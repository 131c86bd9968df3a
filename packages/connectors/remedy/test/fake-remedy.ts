/**
 * A fake BMC Remedy AR REST API for tests. It enforces the documented shapes and refuses anything
 * else: JWT login with a form-encoded `username`/`password` answered as text/plain, the
 * `Authorization: AR-JWT <token>` header on every entry call (401 with an AR message list
 * otherwise), logout, JSON bodies `{ values: { … } }`, the default-install enumerations of Impact,
 * Urgency and Status (500 with an AR error otherwise), the required fields of
 * `HPD:IncidentInterface_Create`, and the qualification subset the connector uses (`=`, `>=`,
 * AND, OR, parentheses) with `fields=values(…)`, `sort`, `offset` and `limit`.
 */
import { randomBytes } from "node:crypto";
import {
  type FakeRequest,
  type FakeResponse,
  type FakeServer,
  fakeServer,
} from "@runwarden/connector-testkit";

export type Values = Record<string, string | number | null>;

export interface FakeRemedy {
  server: FakeServer;
  url: string;
  incidents: Values[];
  worklogs: Values[];
  /** The server clock, epoch seconds. */
  clock: { now: number };
  logins: number;
  logouts: number;
  /** Revoke every issued token (a server restart, an expired JWT). */
  revokeTokens(): void;
  failNext(n: number, response: FakeResponse): void;
  close(): Promise<void>;
}

const IMPACT = ["1-Extensive/Widespread", "2-Significant/Large", "3-Moderate/Limited", "4-Minor/Localized"];
const URGENCY = ["1-Critical", "2-High", "3-Medium", "4-Low"];
const STATUS = ["New", "Assigned", "In Progress", "Pending", "Resolved", "Closed", "Cancelled"];
const IMPACT_WEIGHT = [9, 5, 3, 0];
const URGENCY_WEIGHT = [20, 15, 10, 0];
const DATES = new Set(["Submit Date", "Last Modified Date"]);

/** Default Priority Weight ranges: Critical from 24, High from 18, Medium from 10. */
export function priorityOf(impact: string, urgency: string): string {
  const weight = IMPACT_WEIGHT[IMPACT.indexOf(impact)]! + URGENCY_WEIGHT[URGENCY.indexOf(urgency)]!;
  return weight >= 24 ? "Critical" : weight >= 18 ? "High" : weight >= 10 ? "Medium" : "Low";
}

const arError = (status: number, number: number, text: string): FakeResponse => ({
  status,
  body: [{ messageType: "ERROR", messageText: text, messageAppendedText: null, messageNumber: number }],
});

function arDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace("Z", "+0000");
}

// ── qualifications ──────────────────────────────────────────────────────────────────────────────

type Token = { kind: "field" | "string" | "number" | "op" | "word" | "paren"; value: string };

function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:'([^']*)'|"([^"]*)"|(\d+)|(>=|<=|!=|=|<|>)|(AND|OR|NOT)\b|([()]))/y;
  let at = 0;
  while (at < q.length) {
    if (/^\s*$/.test(q.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(q);
    if (!m) throw new Error(`bad qualification near ${JSON.stringify(q.slice(at, at + 20))}`);
    at = re.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: "field", value: m[1] });
    else if (m[2] !== undefined) tokens.push({ kind: "string", value: m[2] });
    else if (m[3] !== undefined) tokens.push({ kind: "number", value: m[3] });
    else if (m[4] !== undefined) tokens.push({ kind: "op", value: m[4] });
    else if (m[5] !== undefined) tokens.push({ kind: "word", value: m[5] });
    else tokens.push({ kind: "paren", value: m[6]! });
  }
  return tokens;
}

type Predicate = (row: Values) => boolean;

function parseQualification(q: string): Predicate {
  const tokens = tokenize(q);
  let i = 0;
  const peek = () => tokens[i];
  function primary(): Predicate {
    const t = tokens[i++];
    if (t?.kind === "paren" && t.value === "(") {
      const inner = or();
      if (tokens[i++]?.value !== ")") throw new Error("missing )");
      return inner;
    }
    if (t?.kind !== "field") throw new Error("expected a 'field'");
    const op = tokens[i++];
    const operand = tokens[i++];
    if (op?.kind !== "op" || (operand?.kind !== "string" && operand?.kind !== "number")) {
      throw new Error("expected an operator and a value");
    }
    const field = t.value;
    return (row) => {
      const actual = row[field];
      const a = operand.kind === "number" ? Number(actual) : String(actual ?? "");
      const b = operand.kind === "number" ? Number(operand.value) : operand.value;
      switch (op.value) {
        case "=":
          return a === b;
        case "!=":
          return a !== b;
        case ">=":
          return a >= b;
        case ">":
          return a > b;
        case "<=":
          return a <= b;
        default:
          return a < b;
      }
    };
  }
  function and(): Predicate {
    let left = primary();
    while (peek()?.value === "AND") {
      i++;
      const l = left;
      const r = primary();
      left = (row) => l(row) && r(row);
    }
    return left;
  }
  function or(): Predicate {
    let left = and();
    while (peek()?.value === "OR") {
      i++;
      const l = left;
      const r = and();
      left = (row) => l(row) || r(row);
    }
    return left;
  }
  const predicate = or();
  if (i !== tokens.length) throw new Error("trailing tokens");
  return predicate;
}

function fieldsOf(param: string | null): string[] | undefined {
  if (param === null) return undefined;
  const m = /^values\((.*)\)$/.exec(param);
  if (!m) throw new Error("fields must be values(...)");
  return m[1]!.split(",");
}

function present(row: Values, fields: string[] | undefined): Values {
  const names = fields ?? Object.keys(row);
  return Object.fromEntries(
    names.map((f) => {
      const v = row[f] ?? null;
      return [f, DATES.has(f) && typeof v === "number" ? arDate(v) : v];
    }),
  );
}

export async function fakeRemedy(options: { username: string; password: string }): Promise<FakeRemedy> {
  const tokens = new Set<string>();
  let failures = { left: 0, response: {} as FakeResponse };
  let incidentCounter = 103;
  let worklogCounter = 211;
  const state: FakeRemedy = {
    server: undefined as unknown as FakeServer,
    url: "",
    incidents: [],
    worklogs: [],
    clock: { now: Date.parse("2025-05-14T09:00:00Z") / 1000 },
    logins: 0,
    logouts: 0,
    revokeTokens: () => tokens.clear(),
    failNext(n, response) {
      failures = { left: n, response };
    },
    close: () => state.server.close(),
  };

  function guard(req: FakeRequest, write: boolean): { refused: FakeResponse } | { values: Values } {
    const header = req.headers.authorization ?? "";
    if (!header.startsWith("AR-JWT ") || !tokens.has(header.slice(7))) {
      return { refused: arError(401, 623, "Authentication failed") };
    }
    if (failures.left > 0) {
      failures.left--;
      return { refused: failures.response };
    }
    if (!write) return { values: {} };
    if (!(req.headers["content-type"] ?? "").startsWith("application/json")) {
      return { refused: arError(415, 0, "Content-Type must be application/json") };
    }
    try {
      const body = req.json<{ values?: unknown }>();
      if (typeof body.values !== "object" || body.values === null || Array.isArray(body.values))
        throw new Error();
      return { values: body.values as Values };
    } catch {
      return { refused: arError(400, 0, "The body must be JSON { values: { … } }") };
    }
  }

  function search(req: FakeRequest, rows: Values[], form: string): FakeResponse {
    let predicate: Predicate = () => true;
    let fields: string[] | undefined;
    try {
      const q = req.query.get("q");
      if (q !== null) predicate = parseQualification(q);
      fields = fieldsOf(req.query.get("fields"));
    } catch (error) {
      return arError(500, 1587, `Syntax error in qualification: ${(error as Error).message}`);
    }
    let found = rows.filter(predicate);
    const sort = req.query.get("sort");
    if (sort) {
      const m = /^(.+)\.(asc|desc)$/.exec(sort);
      if (!m) return arError(400, 0, "sort must be <field>.asc|desc");
      const [, field, dir] = m;
      found = [...found].sort((a, b) => {
        const x = a[field!] ?? "";
        const y = b[field!] ?? "";
        return (x < y ? -1 : x > y ? 1 : 0) * (dir === "desc" ? -1 : 1);
      });
    }
    const offset = Number(req.query.get("offset") ?? 0);
    const limit = Number(req.query.get("limit") ?? 1000);
    const page = found.slice(offset, offset + limit);
    const self = `${state.url}/api/arsys/v1/entry/${form}`;
    return {
      body: {
        entries: page.map((row) => ({
          values: present(row, fields),
          _links: {
            self: [
              { href: `${self}/${encodeURIComponent(String(row["Request ID"] ?? row["Work Log ID"]))}` },
            ],
          },
        })),
        _links: {
          self: [{ href: `${self}?offset=${offset}&limit=${limit}` }],
          ...(offset + limit < found.length
            ? { next: [{ href: `${self}?offset=${offset + limit}&limit=${limit}` }] }
            : {}),
        },
      },
    };
  }

  state.server = await fakeServer({
    "POST /api/jwt/login": (req) => {
      if (!(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
        return arError(400, 0, "login takes a form");
      }
      const form = new URLSearchParams(req.body);
      if (form.get("username") !== options.username || form.get("password") !== options.password) {
        return arError(401, 623, "Authentication failed");
      }
      const token = `eyJhbGciOiJIUzI1NiJ9.${randomBytes(24).toString("base64url")}.${randomBytes(12).toString("base64url")}`;
      tokens.add(token);
      state.logins++;
      return { headers: { "content-type": "text/plain" }, body: token };
    },
    "POST /api/jwt/logout": (req) => {
      const header = req.headers.authorization ?? "";
      if (!header.startsWith("AR-JWT ") || !tokens.delete(header.slice(7)))
        return arError(401, 623, "Authentication failed");
      state.logouts++;
      return { status: 204 };
    },
    "GET /api/arsys/v1/entry/HPD:IncidentInterface": (req) => {
      const g = guard(req, false);
      return "refused" in g ? g.refused : search(req, state.incidents, "HPD:IncidentInterface");
    },
    "GET /api/arsys/v1/entry/HPD:WorkLog": (req) => {
      const g = guard(req, false);
      return "refused" in g ? g.refused : search(req, state.worklogs, "HPD:WorkLog");
    },
    "POST /api/arsys/v1/entry/HPD:IncidentInterface_Create": (req) => {
      const g = guard(req, true);
      if ("refused" in g) return g.refused;
      const v = g.values;
      for (const required of [
        "First_Name",
        "Last_Name",
        "Description",
        "Impact",
        "Urgency",
        "Status",
        "Reported Source",
        "Service_Type",
      ]) {
        if (typeof v[required] !== "string" || v[required] === "") {
          return arError(500, 326, `Required field cannot be blank: ${required}`);
        }
      }
      if (v.z1D_Action !== "CREATE") return arError(500, 1291053, "z1D_Action must be CREATE");
      if (!IMPACT.includes(String(v.Impact)))
        return arError(500, 306, "Value does not fall within the limits specified for the field: Impact");
      if (!URGENCY.includes(String(v.Urgency)))
        return arError(500, 306, "Value does not fall within the limits specified for the field: Urgency");
      if (!STATUS.includes(String(v.Status)))
        return arError(500, 306, "Value does not fall within the limits specified for the field: Status");
      const number = `INC${String(incidentCounter++).padStart(12, "0")}`;
      const { z1D_Action: _action, First_Name: _f, Last_Name: _l, Detailed_Decription, ...rest } = v;
      const incident: Values = {
        ...rest,
        "Detailed Decription": Detailed_Decription ?? "",
        "Request ID": `${number}|${number}`,
        "Incident Number": number,
        Priority: priorityOf(String(v.Impact), String(v.Urgency)),
        "Submit Date": state.clock.now,
        "Last Modified Date": state.clock.now,
      };
      state.incidents.push(incident);
      let fields: string[] | undefined;
      try {
        fields = fieldsOf(req.query.get("fields"));
      } catch {
        return arError(400, 0, "fields must be values(...)");
      }
      return {
        status: 201,
        headers: { Location: `${state.url}/api/arsys/v1/entry/HPD:IncidentInterface_Create/${number}` },
        body: fields
          ? {
              values: present(incident, fields),
              _links: { self: [{ href: `${state.url}/api/arsys/v1/entry/HPD:IncidentInterface_Create` }] },
            }
          : undefined,
      };
    },
    "PUT /api/arsys/v1/entry/HPD:IncidentInterface/:id": (req) => {
      const g = guard(req, true);
      if ("refused" in g) return g.refused;
      const incident = state.incidents.find((i) => i["Request ID"] === req.params.id);
      if (!incident) return arError(404, 302, "Entry does not exist in database");
      const v = g.values;
      if (v.Status !== undefined) {
        if (!STATUS.includes(String(v.Status)))
          return arError(500, 306, "Value does not fall within the limits specified for the field: Status");
        if (
          (v.Status === "Resolved" || v.Status === "Closed") &&
          !v.Status_Reason &&
          !incident.Status_Reason
        ) {
          return arError(500, 1291053, "Status Reason is required when resolving");
        }
      }
      for (const key of ["Request ID", "Incident Number"])
        if (key in v) return arError(500, 0, `${key} is read only`);
      Object.assign(incident, v, { "Last Modified Date": state.clock.now });
      return { status: 204 };
    },
    "POST /api/arsys/v1/entry/HPD:WorkLog": (req) => {
      const g = guard(req, true);
      if ("refused" in g) return g.refused;
      const v = g.values;
      const incident = state.incidents.find((i) => i["Incident Number"] === v["Incident Number"]);
      if (!incident) return arError(500, 1291000, "The incident number is not valid");
      for (const required of ["Work Log Type", "Description"]) {
        if (typeof v[required] !== "string" || v[required] === "")
          return arError(500, 326, `Required field cannot be blank: ${required}`);
      }
      const id = `WLG${String(worklogCounter++).padStart(12, "0")}`;
      state.worklogs.push({ ...v, "Work Log ID": id, "Submit Date": state.clock.now });
      incident["Last Modified Date"] = state.clock.now;
      return { status: 201, headers: { Location: `${state.url}/api/arsys/v1/entry/HPD:WorkLog/${id}` } };
    },
  });
  state.url = state.server.url;
  return state;
}
