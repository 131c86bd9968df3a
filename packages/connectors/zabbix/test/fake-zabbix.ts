/**
 * A small fake of Zabbix's JSON-RPC API (`POST /api_jsonrpc.php`) for the 6.4/7.0 paths and error
 * handling the real 6.0 cannot show. It enforces what Zabbix documents and what the real server
 * was seen doing: a JSON-RPC content type (else HTTP 412 with an empty body), `apiinfo.version`
 * without auth, the credential in `Authorization: Bearer` from 6.4 (the body's `auth` is refused
 * from 7.2) or in the body's `auth` before, `user.login`'s `username`, ids as digit strings or
 * integers, and its error shapes (`-32602` for auth, `-32500` for application errors).
 */
import { type FakeServer, fakeServer } from "@runwarden/connector-testkit";

export interface FakeProblem {
  eventid: string;
  objectid: string;
  clock: number;
  name: string;
  severity: number;
  tags: { tag: string; value: string }[];
  hosts: { hostid: string; host: string; name: string }[];
  r_eventid?: string;
  manualClose?: boolean;
  acknowledges: { action: number; message: string }[];
}

export interface FakeZabbix {
  readonly url: string;
  readonly server: FakeServer;
  problems: FakeProblem[];
  /** Every JSON-RPC call, in order: method, params, how it authenticated. */
  calls: { method: string; params: Record<string, unknown>; bodyAuth?: unknown; bearer?: string }[];
  /** Ends every session (as an idle timeout or a logout elsewhere would). */
  expireSessions(): void;
  readonly sessions: ReadonlySet<string>;
  close(): Promise<void>;
}

const contentTypes = ["application/json-rpc", "application/json", "application/jsonrequest"];

export async function fakeZabbix(options: {
  version: string;
  token?: string;
  user?: { username: string; password: string };
}): Promise<FakeZabbix> {
  const server = await fakeServer();
  const [major, minor] = options.version.split(".").map(Number) as [number, number];
  const bearerMode = major > 6 || (major === 6 && minor >= 4);
  const authRemoved = major > 7 || (major === 7 && minor >= 2);
  const sessions = new Set<string>();
  let nextSession = 1;
  const state: FakeZabbix = {
    url: `${server.url}/`,
    server,
    problems: [],
    calls: [],
    expireSessions: () => sessions.clear(),
    sessions,
    close: () => server.close(),
  };

  const ok = (id: unknown, result: unknown) => ({ body: { jsonrpc: "2.0", result, id } });
  const fail = (id: unknown, code: number, message: string, data: string) => ({
    body: { jsonrpc: "2.0", error: { code, message, data }, id },
  });

  server.route("POST /api_jsonrpc.php", (req) => {
    const type = String(req.headers["content-type"] ?? "")
      .split(";")[0]!
      .trim()
      .toLowerCase();
    if (!contentTypes.includes(type)) return { status: 412, body: "" };
    let body: { jsonrpc?: unknown; method?: unknown; params?: unknown; id?: unknown; auth?: unknown };
    try {
      body = req.json();
    } catch {
      return fail(
        null,
        -32700,
        "Parse error.",
        "Invalid JSON. An error occurred on the server while parsing the JSON text.",
      );
    }
    const { id } = body;
    if (body.jsonrpc !== "2.0" || typeof body.method !== "string") {
      return fail(id, -32600, "Invalid Request.", "JSON-rpc version is not specified.");
    }
    const method = body.method;
    const params = (body.params ?? {}) as Record<string, unknown>;
    const header = String(req.headers.authorization ?? "");
    const bearer = /^Bearer (.+)$/.exec(header)?.[1];
    state.calls.push({
      method,
      params,
      ...("auth" in body ? { bodyAuth: body.auth } : {}),
      ...(bearer ? { bearer } : {}),
    });
    if ("auth" in body && authRemoved) {
      return fail(id, -32602, "Invalid params.", 'Invalid parameter "/": unexpected parameter "auth".');
    }

    const anonymous = method === "apiinfo.version" || method === "user.login";
    if (anonymous) {
      if (body.auth !== undefined && body.auth !== null) {
        return fail(
          id,
          -32602,
          "Invalid params.",
          `The "${method}" method must be called without the "auth" parameter.`,
        );
      }
      if (method === "apiinfo.version") return ok(id, options.version);
      if (typeof params.username !== "string" || "user" in params) {
        return fail(
          id,
          -32602,
          "Invalid params.",
          'Invalid parameter "/": the parameter "username" is missing.',
        );
      }
      if (
        !options.user ||
        params.username !== options.user.username ||
        params.password !== options.user.password
      ) {
        return fail(
          id,
          -32500,
          "Application error.",
          "Incorrect user name or password or account is temporarily blocked.",
        );
      }
      const session = `session-${nextSession++}-0123456789abcdef`;
      sessions.add(session);
      return ok(id, session);
    }

    // 6.0 ignores the header; 6.4+ reads it (7.0 still takes `auth` too).
    const credential = bearerMode ? (bearer ?? (authRemoved ? undefined : body.auth)) : body.auth;
    if (credential === undefined || credential === null) {
      return fail(id, -32602, "Invalid params.", "Not authorized.");
    }
    const isToken = options.token !== undefined && credential === options.token;
    if (!isToken && !sessions.has(String(credential))) {
      return fail(id, -32602, "Invalid params.", "Session terminated, re-login, please.");
    }

    switch (method) {
      case "user.logout":
        sessions.delete(String(credential));
        return ok(id, true);
      case "problem.get": {
        let rows = state.problems.filter((p) => !p.r_eventid);
        if (typeof params.time_from === "number")
          rows = rows.filter((p) => p.clock >= (params.time_from as number));
        if (Array.isArray(params.severities))
          rows = rows.filter((p) => (params.severities as number[]).includes(p.severity));
        rows = page(rows, params);
        return ok(
          id,
          rows.map((p) => ({
            eventid: p.eventid,
            source: "0",
            object: "0",
            objectid: p.objectid,
            clock: String(p.clock),
            ns: "0",
            r_eventid: "0",
            r_clock: "0",
            r_ns: "0",
            correlationid: "0",
            userid: "0",
            name: p.name,
            acknowledged: p.acknowledges.some((a) => a.action & 2) ? "1" : "0",
            severity: String(p.severity),
            cause_eventid: "0",
            opdata: "",
            suppressed: "0",
            urls: [],
            ...(params.selectTags ? { tags: p.tags } : {}),
            ...(params.selectAcknowledges
              ? { acknowledges: p.acknowledges.map((a) => ({ ...a, action: String(a.action) })) }
              : {}),
            ...(params.selectSuppressionData ? { suppression_data: [] } : {}),
          })),
        );
      }
      case "event.get": {
        let rows = [...state.problems];
        if (Array.isArray(params.eventids))
          rows = rows.filter((p) => (params.eventids as string[]).includes(p.eventid));
        if (typeof params.problem_time_from === "number") {
          // The real one also keeps problems still open: the connector filters on r_eventid.
          rows = rows.filter((p) => p.clock <= (params.problem_time_till as number));
        }
        rows = page(rows, params);
        return ok(
          id,
          rows.map((p) => ({
            eventid: p.eventid,
            objectid: p.objectid,
            clock: String(p.clock),
            r_eventid: p.r_eventid ?? "0",
            name: p.name,
            severity: String(p.severity),
            acknowledged: "0",
            ...(params.selectHosts ? { hosts: p.hosts } : {}),
            ...(params.selectTags ? { tags: p.tags } : {}),
          })),
        );
      }
      case "event.acknowledge": {
        const ids = params.eventids;
        // Zabbix's API_IDS: digit strings or integers (the real 6.0 takes both).
        if (
          !Array.isArray(ids) ||
          ids.some((i) => !(typeof i === "number" || (typeof i === "string" && /^\d+$/.test(i))))
        ) {
          return fail(
            id,
            -32602,
            "Invalid params.",
            'Invalid parameter "/eventids/1": an integer is expected.',
          );
        }
        const action = Number(params.action);
        const targets = ids.map((i) => state.problems.find((p) => p.eventid === String(i)));
        if (targets.some((t) => t === undefined)) {
          return fail(
            id,
            -32500,
            "Application error.",
            "No permissions to referred object or it does not exist!",
          );
        }
        if (action & 1 && targets.some((t) => !t!.manualClose)) {
          return fail(
            id,
            -32500,
            "Application error.",
            `Cannot close problem: trigger does not allow manual closing.`,
          );
        }
        for (const t of targets) {
          t!.acknowledges.push({ action, message: String(params.message ?? "") });
          if (action & 1) t!.r_eventid = String(Number(t!.eventid) + 100_000);
        }
        return ok(id, { eventids: ids });
      }
      default:
        return fail(id, -32602, "Invalid params.", `Incorrect API "${method}".`);
    }
  });

  return state;
}

function page(rows: FakeProblem[], params: Record<string, unknown>): FakeProblem[] {
  let out = [...rows].sort((a, b) => Number(a.eventid) - Number(b.eventid));
  if (params.eventid_from !== undefined)
    out = out.filter((p) => Number(p.eventid) >= Number(params.eventid_from));
  if (typeof params.limit === "number") out = out.slice(0, params.limit);
  return out;
}
