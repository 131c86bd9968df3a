/**
 * SolarWinds alerts over SWIS: pull the active alerts (and the resets since the cursor), acknowledge
 * with a note, resolve with a note and ClearAlert. Every write reads the alert's state first, so a
 * retried call changes nothing twice: an acknowledged alert is not acknowledged again, a note
 * carrying our marker is not appended again, an alert that is gone needs no clearing.
 */
import { createHash } from "node:crypto";
import { apiHealthFailure, clip } from "@runwarden/connector-kit";
import type { HealthResult, Logger, MonitoringWrite, Ticket, TicketInput } from "@runwarden/core";
import { rwError } from "@runwarden/core";
import { z } from "zod";
import type { SolarWindsConfig } from "../config.js";
import { ActiveAlertRow, AlertStateRow, ResetRow } from "../payload.js";
import { alertFingerprint, hostOf, mapSeverity, present, severityName, swisTime } from "./map.js";
import * as queries from "./queries.js";
import { isTlsFailure, type SwisClient } from "./swis.js";

const TicketAlert = z.object({
  alertObjectId: z.union([z.number().int().positive(), z.string().regex(/^\d{1,10}$/)]),
});

/** The AlertObjectID a ticket of this source carries (`metaData.alertObjectId`, else `externalId`). */
export function alertObjectIdOf(ticket: Ticket): number {
  const fromMeta = TicketAlert.safeParse(ticket.metaData);
  if (fromMeta.success) return Number(fromMeta.data.alertObjectId);
  if (ticket.externalId && /^\d{1,10}$/.test(ticket.externalId)) return Number(ticket.externalId);
  throw rwError("RW_ERR_INPUT_INVALID", "ticket carries no SolarWinds alert object id", {
    details: {
      ticketId: ticket.id,
      fields: [{ path: "metaData.alertObjectId", message: "missing or not an AlertObjectID" }],
    },
  });
}

/** The marker our notes carry, so a retry finds the note it appended. */
export function noteMarker(operation: "acknowledge" | "resolve", ticket: Ticket): string {
  return `[runwarden:${operation}:${ticket.id}]`;
}

/** The marker of a work note: a digest of core's idempotency key (the same on every retry). */
export function workNoteMarker(ticket: Ticket, idempotencyKey: string): string {
  return `[runwarden:note:${ticket.id}:${createHash("sha256").update(idempotencyKey).digest("hex").slice(0, 12)}]`;
}

/** The audit line of an acknowledge or resolve: the server and the alert object, never the credential. */
export function describeWrite(write: MonitoringWrite, host: string, resolveAction: "clear" | "note"): string {
  let target: string;
  try {
    target = `alert object ${alertObjectIdOf(write.ticket)}`;
  } catch {
    target = `ticket ${write.ticket.id} (no alert object)`;
  }
  if (write.operation === "acknowledge") {
    return `solarwinds ${host}: acknowledge ${target} with a note (Orion.AlertActive.Acknowledge)`;
  }
  if (write.operation === "note") {
    return `solarwinds ${host}: append a work note to ${target} (Orion.AlertActive.AppendNote)`;
  }
  return resolveAction === "clear"
    ? `solarwinds ${host}: append a note to ${target} and clear it (Orion.AlertActive.AppendNote, ClearAlert)`
    : `solarwinds ${host}: append a resolution note to ${target} (Orion.AlertActive.AppendNote)`;
}

export interface SolarWindsAlerts {
  pull(options: { since?: string; signal: AbortSignal }): AsyncIterable<TicketInput>;
  acknowledge(ticket: Ticket, signal: AbortSignal): Promise<void>;
  resolve(ticket: Ticket, signal: AbortSignal): Promise<void>;
  /** Appends a work note once (a retry finds its marker in the alert's note). */
  note(ticket: Ticket, text: string, idempotencyKey: string | undefined, signal: AbortSignal): Promise<void>;
  healthCheck(signal: AbortSignal): Promise<HealthResult>;
}

export function createSolarWindsAlerts(
  swis: SwisClient,
  config: SolarWindsConfig,
  deps: { source: string; logger: Logger; now(): Date },
): SolarWindsAlerts {
  const { pageSize, maxPages, lookbackMs } = config.pull;

  async function* pages<S extends z.ZodType>(
    swql: string,
    parameters: Record<string, unknown>,
    row: S,
    signal: AbortSignal,
  ): AsyncGenerator<z.output<S>> {
    for (let page = 0; page < maxPages; page++) {
      const { rows, totalRows } = await swis.query(
        `${swql} ${queries.withRows(page, pageSize)}`,
        parameters,
        row,
        signal,
      );
      yield* rows;
      const seen = (page + 1) * pageSize;
      if (rows.length < pageSize || (totalRows !== undefined && seen >= totalRows)) return;
      if (page + 1 === maxPages) {
        deps.logger.warn({ maxPages, pageSize }, "stopped reading solarwinds rows at the page limit");
      }
    }
  }

  function severityOf(value: number | null | undefined): {
    severity: TicketInput["severity"];
    name: string | null;
  } {
    const name = severityName(value ?? undefined);
    return { severity: mapSeverity(config, name) ?? config.defaultSeverity, name: name ?? null };
  }

  function fromActive(row: ActiveAlertRow): TicketInput {
    const fingerprint = alertFingerprint(row.AlertObjectID);
    const name = present(row.AlertName) ?? `SolarWinds alert object ${fingerprint}`;
    const host = hostOf({
      nodeCaption: row.NodeCaption,
      relatedNodeCaption: row.RelatedNodeCaption,
      entityType: row.EntityType,
      entityCaption: row.EntityCaption,
    });
    const caption = present(row.EntityCaption);
    const object = host ?? caption;
    const { severity, name: severityLabel } = severityOf(row.Severity);
    const ip = present(row.NodeIPAddress);
    return {
      title: clip(object && !name.includes(object) ? `${name} on ${object}` : name, 500),
      description: clip(present(row.TriggeredMessage) ?? name, 20_000),
      severity,
      environment: config.mapping.environment,
      service: config.mapping.service,
      source: deps.source,
      externalId: fingerprint,
      fingerprint,
      resolved: false,
      metaData: {
        alertObjectId: row.AlertObjectID,
        alertActiveId: row.AlertActiveID,
        alertId: row.AlertID ?? null,
        alertName: clip(name, 1_024),
        severityName: severityLabel,
        entityType: row.EntityType ?? null,
        entityUri: row.EntityUri ?? null,
        entityCaption: row.EntityCaption ?? null,
        detailsUrl: row.EntityDetailsUrl ?? null,
        nodeId: row.RelatedNodeId ?? null,
        ...(host ? { host } : {}),
        ...(ip ? { ip } : {}),
        ...(present(row.NodeDNS) ? { dns: present(row.NodeDNS) } : {}),
        acknowledged: row.Acknowledged === true,
        acknowledgedBy: row.AcknowledgedBy ?? null,
        triggeredAt: swisTime(row.TriggeredDateTime),
      },
    };
  }

  function fromReset(row: ResetRow): TicketInput {
    const fingerprint = alertFingerprint(row.AlertObjectID);
    const name = present(row.AlertName) ?? `SolarWinds alert object ${fingerprint}`;
    const host = hostOf({
      relatedNodeCaption: row.RelatedNodeCaption,
      entityType: row.EntityType,
      entityCaption: row.EntityCaption,
    });
    const object = host ?? present(row.EntityCaption);
    const { severity, name: severityLabel } = severityOf(row.Severity);
    return {
      title: clip(object && !name.includes(object) ? `${name} on ${object}` : name, 500),
      description: row.EventType === 8 ? `${name}: cleared in SolarWinds.` : `${name}: reset in SolarWinds.`,
      severity,
      environment: config.mapping.environment,
      service: config.mapping.service,
      source: deps.source,
      externalId: fingerprint,
      fingerprint,
      resolved: true,
      metaData: {
        alertObjectId: row.AlertObjectID,
        alertName: clip(name, 1_024),
        severityName: severityLabel,
        entityType: row.EntityType ?? null,
        entityUri: row.EntityUri ?? null,
        ...(host ? { host } : {}),
        event: row.EventType === 8 ? "cleared" : "reset",
        resetAt: swisTime(row.Timestamp),
      },
    };
  }

  async function stateOf(alertObjectId: number, signal: AbortSignal): Promise<AlertStateRow | undefined> {
    const { rows } = await swis.query(queries.alertState, { id: alertObjectId }, AlertStateRow, signal);
    return rows[0];
  }

  async function invokeVerb(verb: string, args: readonly unknown[], signal: AbortSignal): Promise<void> {
    const result = await swis.invoke("Orion.AlertActive", verb, args, signal);
    if (result !== true) {
      throw rwError("RW_ERR_CONNECTOR_REJECTED", `SolarWinds refused Orion.AlertActive.${verb}`, {
        details: { vendor: "SolarWinds", verb, result: clip(JSON.stringify(result ?? null), 100) },
      });
    }
  }

  function note(ticket: Ticket, operation: "acknowledge" | "resolve"): string {
    const what =
      operation === "acknowledge"
        ? `Runwarden is remediating this alert (ticket #${ticket.id}: ${clip(ticket.title, 200)}).`
        : `Runwarden resolved ticket #${ticket.id} (${clip(ticket.title, 200)}).`;
    return `${what} ${noteMarker(operation, ticket)}`;
  }

  return {
    async *pull({ since, signal }) {
      if (since !== undefined && Number.isNaN(Date.parse(since))) {
        throw rwError("RW_ERR_INPUT_INVALID", "pull `since` is not a date", {
          details: { fields: [{ path: "since", message: "expected an ISO 8601 date" }] },
        });
      }
      const active: TicketInput[] = [];
      const activeIds = new Set<number>();
      for await (const row of pages(queries.activeAlerts, {}, ActiveAlertRow, signal)) {
        active.push(fromActive(row));
        activeIds.add(row.AlertObjectID);
      }
      // Resets first (oldest to newest), then the alerts active now: the last word on a
      // fingerprint is the freshest. An object active again after its reset is not resolved.
      const from = since ?? new Date(deps.now().getTime() - lookbackMs).toISOString();
      const resolved = new Set<number>();
      for await (const row of pages(
        queries.alertResets,
        { resetTypes: [...queries.resetEventTypes], since: from },
        ResetRow,
        signal,
      )) {
        if (activeIds.has(row.AlertObjectID) || resolved.has(row.AlertObjectID)) continue;
        resolved.add(row.AlertObjectID);
        yield fromReset(row);
      }
      yield* active;
    },

    async acknowledge(ticket, signal) {
      const id = alertObjectIdOf(ticket);
      const state = await stateOf(id, signal);
      if (!state) {
        deps.logger.info(
          { ticketId: ticket.id, alertObjectId: id },
          "solarwinds alert no longer active: nothing to acknowledge",
        );
        return;
      }
      if (state.Acknowledged === true) {
        deps.logger.debug(
          { ticketId: ticket.id, alertObjectId: id },
          "solarwinds alert already acknowledged",
        );
        return;
      }
      // Acknowledge(int[] alertObjectIds, string note) → bool (OrionSDK docs/alerts.md).
      await invokeVerb("Acknowledge", [[id], note(ticket, "acknowledge")], signal);
      deps.logger.info({ ticketId: ticket.id, alertObjectId: id }, "solarwinds alert acknowledged");
    },

    async note(ticket, text, idempotencyKey, signal) {
      const id = alertObjectIdOf(ticket);
      const state = await stateOf(id, signal);
      if (!state) {
        deps.logger.info(
          { ticketId: ticket.id, alertObjectId: id },
          "solarwinds alert no longer active: no work note",
        );
        return;
      }
      const marker = idempotencyKey === undefined ? undefined : workNoteMarker(ticket, idempotencyKey);
      if (marker && state.AlertNote?.includes(marker)) return;
      // AppendNote(int[] alertObjectIds, string note) → bool.
      await invokeVerb(
        "AppendNote",
        [[id], marker ? `${clip(text, 1000)} ${marker}` : clip(text, 1000)],
        signal,
      );
      deps.logger.info({ ticketId: ticket.id, alertObjectId: id }, "solarwinds work note appended");
    },

    async resolve(ticket, signal) {
      const id = alertObjectIdOf(ticket);
      const state = await stateOf(id, signal);
      if (!state) {
        deps.logger.info(
          { ticketId: ticket.id, alertObjectId: id },
          "solarwinds alert no longer active: nothing to resolve",
        );
        return;
      }
      const marker = noteMarker("resolve", ticket);
      if (!state.AlertNote?.includes(marker)) {
        // AppendNote(int[] alertObjectIds, string note) → bool.
        await invokeVerb("AppendNote", [[id], note(ticket, "resolve")], signal);
      }
      if (config.resolveAction === "clear") {
        // ClearAlert(int[] alertObjectIds) → bool: clears without running the reset actions.
        await invokeVerb("ClearAlert", [[id]], signal);
      }
      deps.logger.info(
        { ticketId: ticket.id, alertObjectId: id, action: config.resolveAction },
        "solarwinds alert resolved",
      );
    },

    async healthCheck(signal) {
      const started = performance.now();
      try {
        await swis.query(queries.health, {}, z.object({ AlertID: z.number().int() }), signal);
        return { ok: true, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        const latencyMs = Math.round(performance.now() - started);
        const health = apiHealthFailure(error, latencyMs);
        const tls =
          isTlsFailure(error) || (error as { details?: { reason?: unknown } }).details?.reason === "tls";
        return tls ? { ...health, reason: "tls" } : health;
      }
    },
  };
}
