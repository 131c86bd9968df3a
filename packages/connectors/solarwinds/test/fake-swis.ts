/**
 * A fake SWIS REST/JSON endpoint on the testkit's fake server. It holds the documented entities
 * (`Orion.AlertActive`, `Orion.AlertObjects`, `Orion.AlertConfigurations`, `Orion.Nodes`,
 * `Orion.AlertHistory`, with the properties OrionSDK's schema pages list) and answers SWQL by
 * parsing it: SELECT of `alias.Property [AS name]`, FROM, INNER/LEFT JOIN … ON a.x = b.y, WHERE of
 * comparisons and `IN` against bound `@parameters`, ORDER BY, and `WITH ROWS n TO m [WITH
 * TOTALROWS]`. An unknown entity, property, alias or parameter, a literal spliced into WHERE, or
 * any other syntax is refused with 400 and `{ Message }`, as SWIS reports errors. Invoke checks the
 * `Orion.AlertActive` verbs' positional argument shapes exactly as OrionSDK documents them
 * (`Acknowledge(int[], string)`, `AppendNote(int[], string)`, `Unacknowledge(int[])`,
 * `ClearAlert(int[])`) and applies them. Every call needs HTTP basic auth.
 */
import {
  type FakeRequest,
  type FakeResponse,
  type FakeServer,
  fakeServer,
} from "@runwarden/connector-testkit";

type Row = Record<string, unknown>;

/** Properties per entity, from OrionSDK docs/schema/Orion/*.md (Orion.Nodes: the ones tests use and more). */
export const schema: Record<string, readonly string[]> = {
  "Orion.AlertActive": [
    "AlertActiveID",
    "AlertObjectID",
    "Acknowledged",
    "AcknowledgedBy",
    "AcknowledgedDateTime",
    "AcknowledgedNote",
    "TriggeredDateTime",
    "TriggeredMessage",
    "NumberOfNotes",
    "LastExecutedEscalationLevel",
  ],
  "Orion.AlertObjects": [
    "AlertObjectID",
    "AlertID",
    "EntityUri",
    "EntityType",
    "EntityCaption",
    "EntityDetailsUrl",
    "EntityNetObjectId",
    "RelatedNodeUri",
    "RelatedNodeId",
    "RelatedNodeDetailsUrl",
    "RelatedNodeCaption",
    "RealEntityUri",
    "RealEntityType",
    "TriggeredCount",
    "LastTriggeredDateTime",
    "Context",
    "AlertNote",
  ],
  "Orion.AlertConfigurations": [
    "AlertID",
    "AlertMessage",
    "AlertRefID",
    "Name",
    "Description",
    "ObjectType",
    "Enabled",
    "Frequency",
    "Trigger",
    "Reset",
    "Severity",
    "NotifyEnabled",
    "NotificationSettings",
    "LastEdit",
    "CreatedBy",
    "Category",
    "Canned",
  ],
  "Orion.Nodes": [
    "NodeID",
    "ObjectSubType",
    "IPAddress",
    "Caption",
    "NodeDescription",
    "Description",
    "DNS",
    "SysName",
    "Vendor",
    "Location",
    "Status",
    "StatusDescription",
    "MachineType",
    "IP_Address",
    "NodeName",
    "DetailsUrl",
    "DisplayName",
  ],
  "Orion.AlertHistory": [
    "AlertHistoryID",
    "EventType",
    "Message",
    "Timestamp",
    "AccountID",
    "AlertActiveID",
    "AlertObjectID",
    "ActionID",
  ],
};

const dateProperties = new Set([
  "AcknowledgedDateTime",
  "TriggeredDateTime",
  "LastTriggeredDateTime",
  "LastEdit",
  "Timestamp",
]);

class SwqlError extends Error {}

interface Column {
  alias: string;
  property: string;
  as: string;
}
interface Source {
  entity: string;
  alias: string;
  join?: { kind: "INNER" | "LEFT"; left: [string, string]; right: [string, string] };
}
interface Condition {
  alias: string;
  property: string;
  op: "=" | ">=" | ">" | "<=" | "<" | "IN";
  param: string;
}
interface Query {
  columns: Column[];
  sources: Source[];
  where: Condition[];
  orderBy?: { alias: string; property: string; desc: boolean };
  rows?: { first: number; last: number; total: boolean };
}

const ident = `[A-Za-z_][A-Za-z0-9_]*`;
const entityName = String.raw`[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+`;
const ref = String.raw`(${ident})\.(${ident})`;

/** Parses the SWQL subset the connector may send; anything else throws SwqlError. */
export function parseSwql(text: string): Query {
  const q = text.trim().replace(/\s+/g, " ");
  const top = new RegExp(
    String.raw`^SELECT (.+?) FROM (.+?)(?: WHERE (.+?))?(?: ORDER BY ${ref}(?: (ASC|DESC))?)?(?: WITH ROWS (\d+) TO (\d+)( WITH TOTALROWS)?)?$`,
    "i",
  ).exec(q);
  if (!top) throw new SwqlError(`mismatched input in query: ${q.slice(0, 80)}`);
  const [, select, from, where, orderAlias, orderProp, orderDir, first, last, total] = top;

  const columns = select!.split(",").map((part) => {
    const m = new RegExp(`^${ref}(?: AS (${ident}))?$`, "i").exec(part.trim());
    if (!m) throw new SwqlError(`unsupported select item "${part.trim()}"`);
    return { alias: m[1]!, property: m[2]!, as: m[3] ?? m[2]! };
  });

  const sources: Source[] = [];
  const fromRe = new RegExp(
    `^(${entityName})(?: AS)? (${ident})((?: (?:INNER|LEFT) JOIN ${entityName}(?: AS)? ${ident} ON ${ref} = ${ref})*)$`,
    "i",
  );
  const fm = fromRe.exec(from!);
  if (!fm) throw new SwqlError(`unsupported FROM clause "${from}"`);
  sources.push({ entity: fm[1]!, alias: fm[2]! });
  const joinRe = new RegExp(` (INNER|LEFT) JOIN (${entityName})(?: AS)? (${ident}) ON ${ref} = ${ref}`, "gi");
  for (const j of fm[3]!.matchAll(joinRe)) {
    sources.push({
      entity: j[2]!,
      alias: j[3]!,
      join: { kind: j[1]!.toUpperCase() as "INNER" | "LEFT", left: [j[4]!, j[5]!], right: [j[6]!, j[7]!] },
    });
  }

  const conditions: Condition[] = [];
  if (where) {
    for (const part of where.split(/ AND /i)) {
      const m = new RegExp(`^${ref} (=|>=|>|<=|<|IN) @(${ident})$`, "i").exec(part.trim());
      if (!m) throw new SwqlError(`unsupported condition "${part.trim()}" (values must be @parameters)`);
      conditions.push({
        alias: m[1]!,
        property: m[2]!,
        op: m[3]!.toUpperCase() as Condition["op"],
        param: m[4]!,
      });
    }
  }

  const query: Query = { columns, sources, where: conditions };
  if (orderAlias)
    query.orderBy = { alias: orderAlias, property: orderProp!, desc: orderDir?.toUpperCase() === "DESC" };
  if (first) query.rows = { first: Number(first), last: Number(last), total: Boolean(total) };
  // Every alias and property must exist.
  const aliases = new Map<string, string>();
  for (const s of sources) {
    if (!schema[s.entity]) throw new SwqlError(`Source entity [${s.entity}] not found in catalog`);
    if (aliases.has(s.alias)) throw new SwqlError(`duplicate alias ${s.alias}`);
    aliases.set(s.alias, s.entity);
  }
  const check = (alias: string, property: string) => {
    const entity = aliases.get(alias);
    if (!entity) throw new SwqlError(`unknown alias ${alias}`);
    if (!schema[entity]!.includes(property)) {
      throw new SwqlError(`Cannot resolve property ${property} on entity ${entity}`);
    }
  };
  for (const c of columns) check(c.alias, c.property);
  for (const s of sources)
    if (s.join) {
      check(...s.join.left);
      check(...s.join.right);
    }
  for (const c of conditions) check(c.alias, c.property);
  if (query.orderBy) check(query.orderBy.alias, query.orderBy.property);
  const names = columns.map((c) => c.as);
  if (new Set(names).size !== names.length) throw new SwqlError("duplicate column names in the result");
  if (query.rows && (query.rows.first < 1 || query.rows.last < query.rows.first)) {
    throw new SwqlError("WITH ROWS needs 1 <= first <= last");
  }
  return query;
}

function compare(a: unknown, b: unknown, property: string): number {
  if (dateProperties.has(property)) return Date.parse(String(a)) - Date.parse(String(b));
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}

/** Runs a parsed query over `tables` (entity → rows) with `parameters`. */
export function runSwql(
  query: Query,
  tables: Record<string, Row[]>,
  parameters: Record<string, unknown>,
): { results: Row[]; totalRows?: number } {
  let joined: Record<string, Row>[] = (tables[query.sources[0]!.entity] ?? []).map((row) => ({
    [query.sources[0]!.alias]: row,
  }));
  for (const source of query.sources.slice(1)) {
    const { join } = source;
    const next: Record<string, Row>[] = [];
    for (const combo of joined) {
      const [leftAlias, leftProp] = join!.left[0] === source.alias ? join!.right : join!.left;
      const [, ownProp] = join!.left[0] === source.alias ? join!.left : join!.right;
      const value = combo[leftAlias]?.[leftProp];
      const matches = (tables[source.entity] ?? []).filter((r) => value != null && r[ownProp] === value);
      if (matches.length > 0) for (const m of matches) next.push({ ...combo, [source.alias]: m });
      else if (join!.kind === "LEFT") next.push({ ...combo, [source.alias]: {} });
    }
    joined = next;
  }
  for (const c of query.where) {
    if (!(c.param in parameters)) throw new SwqlError(`parameter @${c.param} was not supplied`);
    const want = parameters[c.param];
    if (c.op === "IN" && !Array.isArray(want)) throw new SwqlError(`@${c.param} must be an array for IN`);
    if (c.op !== "IN" && (Array.isArray(want) || (typeof want === "object" && want !== null))) {
      throw new SwqlError(`@${c.param} must be a scalar`);
    }
    joined = joined.filter((combo) => {
      const got = combo[c.alias]?.[c.property];
      if (got === undefined || got === null) return false;
      if (c.op === "IN") return (want as unknown[]).includes(got);
      const d = compare(got, want, c.property);
      return c.op === "="
        ? d === 0
        : c.op === ">="
          ? d >= 0
          : c.op === ">"
            ? d > 0
            : c.op === "<="
              ? d <= 0
              : d < 0;
    });
  }
  if (query.orderBy) {
    const { alias, property, desc } = query.orderBy;
    joined.sort((x, y) => compare(x[alias]?.[property], y[alias]?.[property], property) * (desc ? -1 : 1));
  }
  const total = joined.length;
  if (query.rows) joined = joined.slice(query.rows.first - 1, query.rows.last);
  const results = joined.map((combo) =>
    Object.fromEntries(query.columns.map((c) => [c.as, combo[c.alias]?.[c.property] ?? null])),
  );
  return query.rows?.total ? { totalRows: total, results } : { results };
}

/** The verbs of `Orion.AlertActive` and their documented positional argument shapes. */
const verbShapes: Record<string, ("int[]" | "string")[]> = {
  Acknowledge: ["int[]", "string"],
  AppendNote: ["int[]", "string"],
  Unacknowledge: ["int[]"],
  ClearAlert: ["int[]"],
};

function argumentError(verb: string, args: unknown): string | undefined {
  const shape = verbShapes[verb];
  if (!shape) return `Verb Orion.AlertActive.${verb} not found`;
  if (!Array.isArray(args)) return "Verb arguments must be a JSON array (positional)";
  if (args.length !== shape.length) return `Verb ${verb} takes ${shape.length} arguments, got ${args.length}`;
  for (const [i, kind] of shape.entries()) {
    const value = args[i];
    if (kind === "string" && typeof value !== "string") return `argument ${i} of ${verb} must be a string`;
    if (kind === "int[]" && !(Array.isArray(value) && value.every((v) => Number.isInteger(v)))) {
      return `argument ${i} of ${verb} must be an array of integers`;
    }
  }
  return undefined;
}

export interface Invocation {
  verb: string;
  args: unknown[];
}

export interface FakeSwis {
  readonly server: FakeServer;
  /** `http://127.0.0.1:<port>` — the connector's `url`. */
  readonly url: string;
  readonly tables: Record<string, Row[]>;
  /** Every accepted Invoke, in order. */
  readonly invocations: Invocation[];
  /** Every query text received (accepted or not). */
  readonly queries: string[];
  /** The next Invoke of this verb answers 503 (after the shape check, before any change). */
  failNext(verb: string): void;
  /** Adds an active alert with its object, definition and node (a node is created if missing). */
  addAlert(alert: {
    alertActiveId: number;
    alertObjectId: number;
    alertId: number;
    name: string;
    severity: number;
    nodeId?: number;
    nodeCaption?: string;
    ip?: string;
    triggeredAt?: string;
    message?: string;
    entityType?: string;
    entityCaption?: string;
  }): void;
  /** Resets an alert as Orion does: the AlertActive row goes, a history row (EventType 1) is written. */
  resetAlert(alertObjectId: number, at: string): void;
  close(): Promise<void>;
}

export async function fakeSwis(credentials: { username: string; password: string }): Promise<FakeSwis> {
  const tables: Record<string, Row[]> = Object.fromEntries(Object.keys(schema).map((e) => [e, []]));
  const invocations: Invocation[] = [];
  const queries: string[] = [];
  const failing = new Set<string>();
  let historyId = 1000;
  const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
  const now = () => new Date().toISOString().replace("Z", "0000Z");

  function history(alertObjectId: number, eventType: number, message: string, at = now()): void {
    const active = tables["Orion.AlertActive"]!.find((r) => r.AlertObjectID === alertObjectId);
    tables["Orion.AlertHistory"]!.push({
      AlertHistoryID: ++historyId,
      EventType: eventType,
      Message: message,
      Timestamp: at,
      AccountID: credentials.username,
      AlertActiveID: active?.AlertActiveID ?? null,
      AlertObjectID: alertObjectId,
      ActionID: null,
    });
  }

  function guard(handler: (req: FakeRequest) => FakeResponse): (req: FakeRequest) => FakeResponse {
    return (req) => {
      if (req.headers.authorization !== expected) {
        return { status: 401, body: { Message: "The user name or password is incorrect." } };
      }
      if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) {
        return { status: 415, body: { Message: "Content-Type must be application/json" } };
      }
      let body: unknown;
      try {
        body = req.json();
      } catch {
        return { status: 400, body: { Message: "The request body is not valid JSON." } };
      }
      try {
        return handler({ ...req, json: <T>() => body as T });
      } catch (error) {
        if (error instanceof SwqlError) return { status: 400, body: { Message: error.message } };
        throw error;
      }
    };
  }

  const base = "/SolarWinds/InformationService/v3/Json";
  const server = await fakeServer({
    [`POST ${base}/Query`]: guard((req) => {
      const body = req.json<{ query?: unknown; parameters?: unknown }>();
      if (typeof body.query !== "string") throw new SwqlError("query is required");
      queries.push(body.query);
      const parameters = (body.parameters ?? {}) as Record<string, unknown>;
      if (typeof parameters !== "object" || Array.isArray(parameters))
        throw new SwqlError("parameters must be an object");
      return { body: runSwql(parseSwql(body.query), tables, parameters) };
    }),
    [`POST ${base}/Invoke/:entity/:verb`]: guard((req) => {
      if (req.params.entity !== "Orion.AlertActive") {
        return { status: 400, body: { Message: `Entity ${req.params.entity} not handled by this fake` } };
      }
      const verb = req.params.verb!;
      const args = req.json<unknown[]>();
      const problem = argumentError(verb, args);
      if (problem) return { status: 400, body: { Message: problem } };
      if (failing.delete(verb)) return { status: 503, body: { Message: "Service unavailable" } };
      invocations.push({ verb, args });
      const ids = args[0] as number[];
      const active = tables["Orion.AlertActive"]!.filter((r) => ids.includes(r.AlertObjectID as number));
      if (active.length === 0) return { body: false };
      for (const row of active) {
        const id = row.AlertObjectID as number;
        const object = tables["Orion.AlertObjects"]!.find((o) => o.AlertObjectID === id);
        if (verb === "Acknowledge") {
          Object.assign(row, {
            Acknowledged: true,
            AcknowledgedBy: credentials.username,
            AcknowledgedDateTime: now(),
          });
          if (object) object.AlertNote = [object.AlertNote, args[1]].filter(Boolean).join("\n");
          history(id, 2, args[1] as string);
        } else if (verb === "AppendNote") {
          if (object) object.AlertNote = [object.AlertNote, args[1]].filter(Boolean).join("\n");
          row.NumberOfNotes = ((row.NumberOfNotes as number | null) ?? 0) + 1;
          history(id, 3, args[1] as string);
        } else if (verb === "Unacknowledge") {
          Object.assign(row, { Acknowledged: null, AcknowledgedBy: null, AcknowledgedDateTime: null });
          history(id, 7, "");
        } else if (verb === "ClearAlert") {
          history(id, 8, "");
          tables["Orion.AlertActive"]!.splice(tables["Orion.AlertActive"]!.indexOf(row), 1);
        }
      }
      return { body: true };
    }),
  });

  return {
    server,
    url: server.url,
    tables,
    invocations,
    queries,
    failNext(verb) {
      failing.add(verb);
    },
    addAlert(a) {
      const nodeId = a.nodeId ?? 1;
      if (!tables["Orion.Nodes"]!.some((n) => n.NodeID === nodeId)) {
        tables["Orion.Nodes"]!.push({
          NodeID: nodeId,
          Caption: a.nodeCaption ?? `node-${nodeId}`,
          IPAddress: a.ip ?? "10.0.0.1",
          DNS: `${a.nodeCaption ?? `node-${nodeId}`}.example.com`,
          Status: 2,
        });
      }
      if (!tables["Orion.AlertConfigurations"]!.some((c) => c.AlertID === a.alertId)) {
        tables["Orion.AlertConfigurations"]!.push({
          AlertID: a.alertId,
          Name: a.name,
          Severity: a.severity,
          Enabled: true,
        });
      }
      if (!tables["Orion.AlertObjects"]!.some((o) => o.AlertObjectID === a.alertObjectId))
        tables["Orion.AlertObjects"]!.push({
          AlertObjectID: a.alertObjectId,
          AlertID: a.alertId,
          EntityType: a.entityType ?? "Orion.Nodes",
          EntityCaption: a.entityCaption ?? a.nodeCaption ?? `node-${nodeId}`,
          EntityUri: `swis://orion.example.com/Orion/Orion.Nodes/NodeID=${nodeId}`,
          EntityDetailsUrl: `/Orion/View.aspx?NetObject=N:${nodeId}`,
          RelatedNodeId: nodeId,
          RelatedNodeCaption: a.nodeCaption ?? `node-${nodeId}`,
          AlertNote: null,
        });
      tables["Orion.AlertActive"]!.push({
        AlertActiveID: a.alertActiveId,
        AlertObjectID: a.alertObjectId,
        Acknowledged: null,
        AcknowledgedBy: null,
        AcknowledgedDateTime: null,
        TriggeredDateTime: a.triggeredAt ?? "2025-05-14T09:12:30.1230000Z",
        TriggeredMessage: a.message ?? `${a.name}`,
        NumberOfNotes: null,
      });
      history(a.alertObjectId, 0, "", a.triggeredAt ?? "2025-05-14T09:12:30.1230000Z");
    },
    resetAlert(alertObjectId, at) {
      history(alertObjectId, 1, "", at);
      const list = tables["Orion.AlertActive"]!;
      const index = list.findIndex((r) => r.AlertObjectID === alertObjectId);
      if (index >= 0) list.splice(index, 1);
    },
    close: () => server.close(),
  };
}
