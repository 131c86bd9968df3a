/**
 * OpManager's REST API for alarms: listAlarms, acknowledgeAlarm, clearAlarm and addNotes, with the
 * REST API key in the `apiKey` header (the query-parameter form is deprecated since build 128100).
 * Acknowledge and resolve read the alarm first, so a retry changes nothing twice: an acknowledged
 * alarm is not acknowledged again, a cleared or vanished one is not cleared again.
 */
import { apiHealthFailure, clip, createHttpClient, type HttpClient } from "@runwarden/connector-kit";
import type { HealthResult, Logger, MonitoringWrite, Ticket, TicketInput } from "@runwarden/core";
import { isRunwardenError, rwError } from "@runwarden/core";
import { Agent, type Dispatcher } from "undici";
import { z } from "zod";
import type { OpManagerConfig } from "../config.js";
import { ActionResponse, Alarm } from "../payload.js";
import { alarmTitle, isClear, mapSeverity, present, severityName } from "./map.js";

const tlsCodes = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME|ALTNAME/;

function isTlsFailure(error: unknown): boolean {
  if (!isRunwardenError(error)) return false;
  if (error.details?.reason === "tls") return true;
  return error.code === "RW_ERR_CONNECTOR_UNREACHABLE" && tlsCodes.test(String(error.details?.reason ?? ""));
}

const TicketAlarm = z.object({ entity: z.string().min(1).max(256) });

/** The alarm entity a ticket of this source carries (`metaData.entity`, else `externalId`). */
export function entityOf(ticket: Ticket): string {
  const fromMeta = TicketAlarm.safeParse(ticket.metaData);
  if (fromMeta.success) return fromMeta.data.entity;
  if (ticket.externalId) return ticket.externalId;
  throw rwError("RW_ERR_INPUT_INVALID", "ticket carries no OpManager alarm entity", {
    details: { ticketId: ticket.id, fields: [{ path: "metaData.entity", message: "missing" }] },
  });
}

/** The audit line of an acknowledge or resolve: the server and the alarm entity, never the key. */
export function describeWrite(write: MonitoringWrite, host: string, resolveAction: "clear" | "note"): string {
  let target: string;
  try {
    target = `alarm ${clip(entityOf(write.ticket), 200)}`;
  } catch {
    target = `ticket ${write.ticket.id} (no alarm entity)`;
  }
  if (write.operation === "acknowledge")
    return `opmanager ${host}: add a note to ${target} and acknowledge it`;
  if (write.operation === "note") return `opmanager ${host}: add a work note to ${target} (addNotes)`;
  return resolveAction === "clear"
    ? `opmanager ${host}: add a note to ${target} and clear it`
    : `opmanager ${host}: add a resolution note to ${target}`;
}

export interface OpManagerApi {
  pull(options: { since?: string; signal: AbortSignal }): AsyncIterable<TicketInput>;
  acknowledge(ticket: Ticket, signal: AbortSignal): Promise<void>;
  resolve(ticket: Ticket, signal: AbortSignal): Promise<void>;
  /**
   * Adds a work note (addNotes). OpManager's API cannot read notes back, so a retry after a lost
   * answer may add it twice; an alarm gone or clear gets none.
   */
  note(ticket: Ticket, text: string, signal: AbortSignal): Promise<void>;
  healthCheck(signal: AbortSignal): Promise<HealthResult>;
  close(): Promise<void>;
}

export function createOpManagerApi(
  config: OpManagerConfig & { url: string; apiKey: string },
  deps: { source: string; logger: Logger; now(): Date },
): OpManagerApi {
  const owned: Dispatcher | undefined = config.dispatcher
    ? undefined
    : new Agent({
        connect: {
          rejectUnauthorized: config.tls.verify,
          ...(config.tls.ca ? { ca: config.tls.ca } : {}),
          ...(config.tls.servername ? { servername: config.tls.servername } : {}),
        },
      });
  const http: HttpClient = createHttpClient({
    vendor: "OpManager",
    baseUrl: new URL("/api/json/", config.url),
    dispatcher: config.dispatcher ?? owned,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: 32 * 1024 * 1024,
    now: () => deps.now().getTime(),
    headers: () => ({ apiKey: config.apiKey }),
  });

  async function call(
    method: "GET" | "POST",
    path: string,
    query: Record<string, string | undefined>,
    signal: AbortSignal,
  ): Promise<unknown> {
    let body: unknown;
    try {
      body = await http.json({ method, path, query, signal });
    } catch (error) {
      if (isTlsFailure(error)) {
        throw rwError(
          "RW_ERR_CONNECTOR_AUTH",
          "the TLS certificate of the OpManager server could not be verified: set tls.ca to its CA (PEM)",
          { cause: error, details: { ...(error as { details?: object }).details, reason: "tls" } },
        );
      }
      throw error;
    }
    // OpManager may answer an error with a 200 and an `error` object (guess): never a success.
    const failure = (body as { error?: { message?: unknown } } | null)?.error;
    if (failure !== undefined && !Array.isArray(body)) {
      const message = clip(String(failure?.message ?? "error"), 200);
      const auth = /api ?key|unauthori[sz]ed|authenticat/i.test(message);
      throw rwError(
        auth ? "RW_ERR_CONNECTOR_AUTH" : "RW_ERR_CONNECTOR_REJECTED",
        `OpManager refused ${method} ${path}`,
        { details: { vendor: "OpManager", method, path, remote: message } },
      );
    }
    return body;
  }

  async function listAlarms(
    query: Record<string, string | undefined>,
    signal: AbortSignal,
  ): Promise<Alarm[]> {
    const body = await call("GET", "alarm/listAlarms", query, signal);
    // An empty list may come back as an empty body (guess).
    const list = z.array(z.unknown()).safeParse(body ?? []);
    if (!list.success) {
      throw rwError("RW_ERR_CONNECTOR_REJECTED", "OpManager answered listAlarms with an unexpected shape", {
        details: { vendor: "OpManager", path: "alarm/listAlarms" },
      });
    }
    const alarms: Alarm[] = [];
    for (const [index, item] of list.data.entries()) {
      const alarm = Alarm.safeParse(item);
      if (!alarm.success) {
        throw rwError("RW_ERR_CONNECTOR_REJECTED", "OpManager answered listAlarms with an unexpected alarm", {
          details: {
            vendor: "OpManager",
            path: "alarm/listAlarms",
            index,
            issues: alarm.error.issues.slice(0, 5).map((i) => `${i.path.join(".")}: ${i.message}`),
          },
        });
      }
      alarms.push(alarm.data);
    }
    return alarms;
  }

  async function action(verb: string, query: Record<string, string>, signal: AbortSignal): Promise<void> {
    const body = await call("POST", `alarm/${verb}`, query, signal);
    if (!ActionResponse.safeParse(body).success) {
      throw rwError("RW_ERR_CONNECTOR_REJECTED", `OpManager answered ${verb} with an unexpected shape`, {
        details: { vendor: "OpManager", path: `alarm/${verb}` },
      });
    }
  }

  function fromAlarm(alarm: Alarm): TicketInput {
    const name = severityName(alarm.severityString ?? alarm.numericSeverity ?? undefined);
    const clear = isClear(name) || Number(alarm.numericSeverity) === 5;
    const severity = mapSeverity(config, name) ?? (clear ? "info" : config.defaultSeverity);
    const device = present(alarm.displayName) ?? present(alarm.deviceName);
    const modTimeLong = Number(alarm.modTimeLong);
    return {
      title: clip(
        alarmTitle({
          message: present(alarm.message),
          eventType: present(alarm.eventType),
          category: present(alarm.category),
          device,
          entity: alarm.entity,
        }),
        500,
      ),
      description: clip(present(alarm.message) ?? "", 20_000),
      severity,
      environment: config.mapping.environment,
      service: config.mapping.service,
      source: deps.source,
      externalId: alarm.entity,
      fingerprint: alarm.entity,
      resolved: clear,
      metaData: {
        entity: alarm.entity,
        alarmId: present(alarm.alarmId) ?? null,
        severityName: name ?? null,
        category: present(alarm.category) ?? null,
        ...(device ? { host: clip(device, 255) } : {}),
        ...(present(alarm.deviceName) ? { deviceName: present(alarm.deviceName) } : {}),
        acknowledgedBy: present(alarm.who) && alarm.who !== "Unacknowledged" ? present(alarm.who) : null,
        modifiedAt:
          Number.isFinite(modTimeLong) && modTimeLong > 0 ? new Date(modTimeLong).toISOString() : null,
      },
    };
  }

  function note(ticket: Ticket, operation: "acknowledge" | "resolve"): string {
    const what =
      operation === "acknowledge"
        ? `Runwarden is remediating this alarm (ticket #${ticket.id}: ${clip(ticket.title, 200)}).`
        : `Runwarden resolved ticket #${ticket.id} (${clip(ticket.title, 200)}).`;
    return `${what} [runwarden:${operation}:${ticket.id}]`;
  }

  async function current(entity: string, signal: AbortSignal): Promise<Alarm | undefined> {
    // `entity` filters listAlarms on the older API page only: a server that ignores it answers
    // every alarm, so the match is made here.
    const alarms = await listAlarms({ entity }, signal);
    return alarms.find((a) => a.entity === entity);
  }

  return {
    async *pull({ since, signal }) {
      if (since !== undefined && Number.isNaN(Date.parse(since))) {
        throw rwError("RW_ERR_INPUT_INVALID", "pull `since` is not a date", {
          details: { fields: [{ path: "since", message: "expected an ISO 8601 date" }] },
        });
      }
      // listAlarms has no paging: one call returns the alarms of the type (OpManager REST API).
      const alarms = await listAlarms(
        { alertType: config.pull.alertType, category: config.pull.category },
        signal,
      );
      for (const alarm of alarms) yield fromAlarm(alarm);
    },

    async acknowledge(ticket, signal) {
      const entity = entityOf(ticket);
      const alarm = await current(entity, signal);
      const name = severityName(alarm?.severityString ?? alarm?.numericSeverity ?? undefined);
      if (!alarm || isClear(name)) {
        deps.logger.info({ ticketId: ticket.id }, "opmanager alarm gone or clear: nothing to acknowledge");
        return;
      }
      if (present(alarm.who) && alarm.who !== "Unacknowledged") {
        deps.logger.debug({ ticketId: ticket.id }, "opmanager alarm already acknowledged");
        return;
      }
      // The note first: a retry after a failed acknowledge may add it twice, but never loses it.
      await action("addNotes", { entity, notes: note(ticket, "acknowledge") }, signal);
      await action("acknowledgeAlarm", { entity }, signal);
      deps.logger.info({ ticketId: ticket.id }, "opmanager alarm acknowledged");
    },

    async note(ticket, text, signal) {
      const entity = entityOf(ticket);
      const alarm = await current(entity, signal);
      const name = severityName(alarm?.severityString ?? alarm?.numericSeverity ?? undefined);
      if (!alarm || isClear(name)) {
        deps.logger.info({ ticketId: ticket.id }, "opmanager alarm gone or clear: no work note");
        return;
      }
      await action("addNotes", { entity, notes: clip(text, 1000) }, signal);
      deps.logger.info({ ticketId: ticket.id }, "opmanager work note added");
    },

    async resolve(ticket, signal) {
      const entity = entityOf(ticket);
      const alarm = await current(entity, signal);
      const name = severityName(alarm?.severityString ?? alarm?.numericSeverity ?? undefined);
      if (!alarm || isClear(name)) {
        deps.logger.info({ ticketId: ticket.id }, "opmanager alarm gone or clear: nothing to resolve");
        return;
      }
      await action("addNotes", { entity, notes: note(ticket, "resolve") }, signal);
      if (config.resolveAction === "clear") await action("clearAlarm", { entity }, signal);
      deps.logger.info({ ticketId: ticket.id, action: config.resolveAction }, "opmanager alarm resolved");
    },

    async healthCheck(signal) {
      const started = performance.now();
      try {
        await listAlarms({ alertType: "ActiveAlarms", severity: "1" }, signal);
        return { ok: true, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        const health = apiHealthFailure(error, Math.round(performance.now() - started));
        return isTlsFailure(error) ? { ...health, reason: "tls" } : health;
      }
    },

    async close() {
      await owned?.close();
    },
  };
}
