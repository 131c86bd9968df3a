/**
 * Pull, acknowledge, resolve and the health check over Zabbix's JSON-RPC API.
 *
 * Pull reads, page by page in event id order:
 * 1. `problem.get` — open problems (with tags, acknowledges and suppression), all of them on the
 *    first pull, those started since the cursor (less `overlapMs`) afterwards; each page's hosts
 *    come from one `event.get` with `selectHosts` (problem.get has no host selector);
 * 2. with a cursor, `event.get` of the problem events that were open at some time since it and
 *    have a recovery event now (`problem_time_from`/`problem_time_till`, `r_eventid` ≠ 0): each
 *    resolves its ticket, however long ago Zabbix's "recently resolved" window closed.
 */
import { apiHealthFailure, clip } from "@runwarden/connector-kit";
import type { HealthResult, Logger, MonitoringWrite, Ticket, TicketInput } from "@runwarden/core";
import { isRunwardenError, rwError } from "@runwarden/core";
import { z } from "zod";
import type { ZabbixConfig } from "../config.js";
import { type ProblemFacts, problemTicket, type ZabbixHost } from "./map.js";
import type { ZabbixRpc } from "./rpc.js";

const Id = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(String);
const Tag = z.object({ tag: z.string(), value: z.string().default("") }).loose();
const Host = z.object({ hostid: Id.optional(), host: z.string(), name: z.string().optional() }).loose();
const Flag = z.union([z.string(), z.number()]).transform((v) => String(v) === "1");

const Problem = z
  .object({
    eventid: Id,
    objectid: Id.optional(),
    clock: z.coerce.number().optional(),
    r_eventid: Id.optional(),
    name: z.string(),
    severity: z.coerce.number().int(),
    acknowledged: Flag.optional(),
    suppressed: Flag.optional(),
    opdata: z.string().optional(),
    tags: z.array(Tag).default([]),
  })
  .loose();
const ProblemList = z.array(Problem);

const EventHosts = z.array(z.object({ eventid: Id, hosts: z.array(Host).default([]) }).loose());

const RecoveredEvent = z
  .object({
    eventid: Id,
    objectid: Id.optional(),
    clock: z.coerce.number().optional(),
    r_eventid: Id,
    name: z.string(),
    severity: z.coerce.number().int(),
    acknowledged: Flag.optional(),
    tags: z.array(Tag).default([]),
    hosts: z.array(Host).default([]),
  })
  .loose();
const RecoveredList = z.array(RecoveredEvent);

/** `event.acknowledge` action bits (Zabbix's documentation). */
export const ackAction = { close: 1, acknowledge: 2, message: 4, severity: 8, unacknowledge: 16 } as const;

/** Zabbix's largest acknowledge message (its `acknowledges.message` column) is 2048 characters. */
const maxMessage = 2048;

function shaped<S extends z.ZodType>(schema: S, value: unknown, method: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw rwError("RW_ERR_CONNECTOR_REJECTED", `Zabbix answered ${method} with an unexpected shape`, {
    details: { vendor: "Zabbix", method, issues: parsed.error.issues.slice(0, 5).map((i) => i.message) },
  });
}

const TicketEvent = z.object({ eventId: z.string().regex(/^\d{1,20}$/) });

/** The problem event a ticket names (`metaData.eventId`, else its external id). */
export function eventIdOf(ticket: Ticket): string {
  const fromMeta = TicketEvent.safeParse(ticket.metaData);
  if (fromMeta.success) return fromMeta.data.eventId;
  if (ticket.externalId && /^\d{1,20}$/.test(ticket.externalId)) return ticket.externalId;
  throw rwError("RW_ERR_INPUT_INVALID", "ticket carries no Zabbix problem event to acknowledge", {
    details: {
      ticketId: ticket.id,
      fields: [{ path: "metaData.eventId", message: "missing or not a Zabbix event id" }],
    },
  });
}

/** The audit line of an acknowledge or resolve: the problem event and what the call does. */
export function describeZabbixWrite(write: MonitoringWrite, config: ZabbixConfig): string {
  let target: string;
  try {
    target = `problem event ${eventIdOf(write.ticket)}`;
  } catch {
    target = `ticket ${write.ticket.id} (no problem event)`;
  }
  const where = config.url ? new URL(config.url).host : "zabbix";
  if (write.operation === "note")
    return `zabbix ${where}: add a work note to ${target} (event.acknowledge action 4)`;
  return write.operation === "acknowledge"
    ? `zabbix ${where}: acknowledge ${target} with a message naming the session (event.acknowledge action 6)`
    : `zabbix ${where}: ${config.actions.close ? "close" : "add a message to"} ${target} (event.acknowledge action ${config.actions.close ? 5 : 4})`;
}

/** What core passes to a write: the session it is about (named in the message) and the call's signal. */
export interface ZabbixWriteOptions {
  sessionId?: number | undefined;
  signal: AbortSignal;
}

export interface ZabbixApi {
  pull(options: { since?: string | undefined; signal: AbortSignal }): AsyncIterable<TicketInput>;
  acknowledge(ticket: Ticket, options: ZabbixWriteOptions): Promise<void>;
  resolve(ticket: Ticket, options: ZabbixWriteOptions): Promise<void>;
  /** A work note on the problem: an acknowledge message only (action 4). */
  note(ticket: Ticket, text: string, options: ZabbixWriteOptions): Promise<void>;
  healthCheck(signal: AbortSignal): Promise<HealthResult>;
}

export function createZabbixApi(
  config: ZabbixConfig,
  rpc: ZabbixRpc,
  deps: { source: string; logger: Logger; now(): Date },
): ZabbixApi {
  const { pull: settings } = config;
  const frontendUrl = config.url;
  const tagOperator = { like: 0, equals: 1, exists: 4 } as const;
  /** The filters every query shares: severities, host groups, tags. */
  const scope: Record<string, unknown> = {
    ...(settings.severities ? { severities: settings.severities } : {}),
    ...(settings.hostGroupIds ? { groupids: settings.hostGroupIds } : {}),
    ...(settings.tags
      ? {
          evaltype: 0,
          tags: settings.tags.map((t) => ({ tag: t.tag, value: t.value, operator: tagOperator[t.operator] })),
        }
      : {}),
  };

  function ticketOf(facts: ProblemFacts): TicketInput {
    const { ticket, warnings } = problemTicket(config, deps.source, facts);
    for (const warning of warnings)
      deps.logger.warn({ eventId: facts.eventId, warning }, "zabbix problem mapped with a guess");
    return ticket;
  }

  async function hostsOf(
    eventIds: readonly string[],
    signal: AbortSignal,
  ): Promise<Map<string, ZabbixHost[]>> {
    const out = new Map<string, ZabbixHost[]>();
    if (eventIds.length === 0) return out;
    const result = await rpc.call(
      "event.get",
      { eventids: eventIds, output: ["eventid"], selectHosts: ["hostid", "host", "name"] },
      signal,
    );
    for (const event of shaped(EventHosts, result, "event.get")) out.set(event.eventid, event.hosts);
    return out;
  }

  /** Pages of one query in event id order: `eventid_from` moves past the last id of each page. */
  async function* pages<T extends { eventid: string }>(
    method: string,
    params: Record<string, unknown>,
    schema: z.ZodType<T[]>,
    signal: AbortSignal,
    startAt?: bigint,
  ): AsyncGenerator<T[]> {
    let from: bigint | undefined = startAt;
    for (let page = 0; page < settings.maxPages; page++) {
      const result = await rpc.call(
        method,
        {
          ...params,
          ...(from === undefined ? {} : { eventid_from: String(from) }),
          sortfield: ["eventid"],
          sortorder: "ASC",
          limit: settings.pageSize,
        },
        signal,
      );
      const rows = shaped(schema, result, method);
      if (rows.length > 0) yield rows;
      if (rows.length < settings.pageSize) return;
      from = BigInt(rows[rows.length - 1]!.eventid) + 1n;
    }
    deps.logger.warn(
      { method, maxPages: settings.maxPages },
      "stopped reading zabbix events at the page limit",
    );
  }

  function sinceSeconds(since: string | undefined): number | undefined {
    if (since === undefined) return undefined;
    const ms = Date.parse(since);
    if (Number.isNaN(ms)) {
      throw rwError("RW_ERR_INPUT_INVALID", "pull `since` is not a date", {
        details: { fields: [{ path: "since", message: "expected an ISO 8601 date" }] },
      });
    }
    return Math.max(0, Math.floor((ms - settings.overlapMs) / 1000));
  }

  /**
   * The highest problem event id a pull delivered, known once core moved its cursor past that
   * pull (a later `since`): the next pulls start after it, so the clock overlap never brings a
   * problem this process already delivered back (a problem still open in Zabbix after its ticket
   * resolved would read as a flap). After a restart it is unknown and the overlap alone applies.
   */
  let delivered: bigint | undefined;
  let previous: { since: string | undefined; highest: bigint | undefined } | undefined;

  async function* openProblems(
    from: number | undefined,
    signal: AbortSignal,
    seen: { highest: bigint | undefined },
  ): AsyncGenerator<TicketInput> {
    const params: Record<string, unknown> = {
      output: [
        "eventid",
        "objectid",
        "clock",
        "r_eventid",
        "name",
        "severity",
        "acknowledged",
        "suppressed",
        "opdata",
      ],
      source: 0,
      object: 0,
      selectTags: ["tag", "value"],
      selectAcknowledges: ["clock", "action", "message"],
      selectSuppressionData: ["maintenanceid", "suppress_until"],
      ...scope,
      ...(settings.skipSuppressed ? { suppressed: false } : {}),
      ...(from === undefined ? {} : { time_from: from }),
    };
    const startAt = from !== undefined && delivered !== undefined ? delivered + 1n : undefined;
    for await (const page of pages("problem.get", params, ProblemList, signal, startAt)) {
      const hosts = await hostsOf(
        page.map((p) => p.eventid),
        signal,
      );
      for (const problem of page) {
        const id = BigInt(problem.eventid);
        if (seen.highest === undefined || id > seen.highest) seen.highest = id;
        yield ticketOf({
          eventId: problem.eventid,
          triggerId: problem.objectid,
          name: problem.name,
          severity: problem.severity,
          clock: problem.clock,
          tags: problem.tags,
          hosts: hosts.get(problem.eventid) ?? [],
          // problem.get lists a problem resolved a moment ago (its r_eventid set) until it is gone.
          resolved: problem.r_eventid !== undefined && problem.r_eventid !== "0",
          recoveryEventId: problem.r_eventid && problem.r_eventid !== "0" ? problem.r_eventid : undefined,
          acknowledged: problem.acknowledged,
          suppressed: problem.suppressed,
          opdata: problem.opdata || undefined,
          frontendUrl,
          via: "pull",
        });
      }
    }
  }

  async function* recoveries(from: number, signal: AbortSignal): AsyncGenerator<TicketInput> {
    const params: Record<string, unknown> = {
      output: ["eventid", "objectid", "clock", "r_eventid", "name", "severity", "acknowledged"],
      source: 0,
      object: 0,
      value: 1,
      problem_time_from: from,
      problem_time_till: Math.ceil(deps.now().getTime() / 1000) + 1,
      selectTags: ["tag", "value"],
      selectHosts: ["hostid", "host", "name"],
      ...scope,
    };
    for await (const page of pages("event.get", params, RecoveredList, signal)) {
      for (const event of page) {
        if (event.r_eventid === "0") continue;
        yield ticketOf({
          eventId: event.eventid,
          triggerId: event.objectid,
          name: event.name,
          severity: event.severity,
          clock: event.clock,
          tags: event.tags,
          hosts: event.hosts,
          resolved: true,
          recoveryEventId: event.r_eventid,
          acknowledged: event.acknowledged,
          frontendUrl,
          via: "pull",
        });
      }
    }
  }

  async function acknowledgeEvent(
    eventId: string,
    action: number,
    message: string,
    signal: AbortSignal,
  ): Promise<void> {
    await rpc.call(
      "event.acknowledge",
      // Ids stay strings (as Zabbix's own example sends them): a number would lose digits past 2^53.
      { eventids: [eventId], action, message: clip(message, maxMessage) },
      signal,
    );
  }

  function ticketRef(ticket: Ticket): string {
    return `Runwarden ticket #${ticket.id}`;
  }

  return {
    async *pull({ since, signal }) {
      const from = sinceSeconds(since);
      if (signal.aborted) {
        throw rwError("RW_ERR_CONNECTOR_TIMEOUT", "Zabbix pull was aborted", {
          details: { vendor: "Zabbix", aborted: true },
          retryable: false,
        });
      }
      // Core moved its cursor past the previous pull (a new `since`): what it read is delivered.
      if (previous && since !== undefined && since !== previous.since && previous.highest !== undefined) {
        if (delivered === undefined || previous.highest > delivered) delivered = previous.highest;
      }
      const seen: { highest: bigint | undefined } = { highest: undefined };
      yield* openProblems(from, signal, seen);
      // Recoveries last: a problem opened and resolved since the cursor ends resolved.
      if (from !== undefined) yield* recoveries(from, signal);
      previous = { since, highest: seen.highest };
    },

    async acknowledge(ticket, { sessionId: session, signal }) {
      const eventId = eventIdOf(ticket);
      const message =
        session !== undefined
          ? `${config.actions.signature}: remediation session ${session} started for ${ticketRef(ticket)} (${clip(ticket.title, 200)}).`
          : `${config.actions.signature}: remediation started for ${ticketRef(ticket)} (${clip(ticket.title, 200)}).`;
      // Acknowledging twice is not an error in Zabbix: a retry only adds the message again.
      await acknowledgeEvent(eventId, ackAction.acknowledge | ackAction.message, message, signal);
      deps.logger.info(
        { eventId, ticketId: ticket.id, session: session ?? null },
        "zabbix problem acknowledged",
      );
    },

    async note(ticket, text, { sessionId, signal }) {
      const eventId = eventIdOf(ticket);
      await acknowledgeEvent(eventId, ackAction.message, `${config.actions.signature}: ${text}`, signal);
      deps.logger.info(
        { eventId, ticketId: ticket.id, session: sessionId ?? null },
        "zabbix work note added",
      );
    },

    async resolve(ticket, { sessionId, signal }) {
      const eventId = eventIdOf(ticket);
      const reason = ticket.statusReason ? ` ${clip(ticket.statusReason, 300)}` : "";
      const by = sessionId === undefined ? "" : ` by remediation session ${sessionId}`;
      const message = `${config.actions.signature}: ${ticketRef(ticket)} resolved${by}.${reason}`;
      if (config.actions.close) {
        try {
          await acknowledgeEvent(eventId, ackAction.close | ackAction.message, message, signal);
          deps.logger.info({ eventId, ticketId: ticket.id }, "zabbix problem closed");
          return;
        } catch (error) {
          // The trigger forbids manual close, or the problem is already resolved: say so in a message.
          if (!isRunwardenError(error) || error.code !== "RW_ERR_CONNECTOR_REJECTED") throw error;
          deps.logger.info(
            { eventId, ticketId: ticket.id, remote: String(error.details?.remote ?? "") },
            "zabbix refused to close the problem: adding the message only",
          );
        }
      }
      await acknowledgeEvent(eventId, ackAction.message, message, signal);
    },

    async healthCheck(signal) {
      const started = performance.now();
      try {
        await rpc.version(signal);
        // An authenticated call proves the credential, not only that the frontend answers.
        await rpc.call("problem.get", { output: ["eventid"], limit: 1 }, signal);
        return { ok: true, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        return apiHealthFailure(error, Math.round(performance.now() - started));
      }
    },
  };
}
