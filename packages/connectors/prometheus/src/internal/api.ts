/** Alertmanager's API v2: active alerts (pull), silences (acknowledge / resolve), status. */

import { clip, createHttpClient, type HttpClient } from "@runwarden/connector-kit";
import type { HealthResult, Logger, MonitoringWrite, Ticket, TicketInput } from "@runwarden/core";
import { isRunwardenError, rwError } from "@runwarden/core";
import { z } from "zod";
import type { PrometheusConfig } from "../config.js";
import { ApiAlert, ApiSilence } from "../payload.js";

import { createMapper } from "./map.js";

export interface AlertmanagerApi {
  pull(options: { since?: string; signal: AbortSignal }): AsyncIterable<TicketInput>;
  acknowledge(ticket: Ticket, signal: AbortSignal): Promise<void>;
  resolve(ticket: Ticket, signal: AbortSignal): Promise<void>;
  healthCheck(signal: AbortSignal): Promise<HealthResult>;
}

const TicketLabels = z.record(z.string().min(1), z.string());

/** `name="value"` with the value quoted as Alertmanager's matcher parser expects. */
export function equalMatcher(name: string, value: string): string {
  const escaped = value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  return `${name}="${escaped}"`;
}

/**
 * The alert's own fingerprint: the ticket's externalId (the engine prefixes the stored
 * fingerprint with the source name).
 */
function alertFingerprint(ticket: Ticket): string {
  return ticket.externalId ?? ticket.fingerprint.replace(/^prometheus:/, "");
}

/** The tag that marks a silence as ours, for one alert fingerprint. */
export function silenceMarker(fingerprint: string): string {
  return `[runwarden:${fingerprint}]`;
}

/**
 * The audit line of an acknowledge or resolve: the Alertmanager host (never its credentials) and
 * the matchers of the silence, clipped.
 */
export function describeSilenceWrite(write: MonitoringWrite, url: string, durationMs: number): string {
  const parsed = TicketLabels.safeParse(write.ticket.metaData.labels);
  const matchers = parsed.success
    ? Object.entries(parsed.data)
        .filter(([, value]) => value !== "")
        .map(([name, value]) => equalMatcher(name, value))
        .join(", ")
    : "";
  const what = matchers ? `{${clip(matchers, 200)}}` : `ticket ${write.ticket.id} (no labels)`;
  const host = new URL(url).host;
  return write.operation === "acknowledge"
    ? `alertmanager ${host}: create a silence on ${what} for ${Math.round(durationMs / 60_000)} min`
    : `alertmanager ${host}: expire Runwarden's silences on ${what}`;
}

export function createAlertmanagerApi(
  config: PrometheusConfig & { url: string },
  deps: { source: string; logger: Logger; now(): Date },
): AlertmanagerApi {
  const auth = config.apiAuth;
  const http: HttpClient = createHttpClient({
    vendor: "Alertmanager",
    baseUrl: new URL(config.url),
    dispatcher: config.dispatcher,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: 50 * 1024 * 1024,
    now: () => deps.now().getTime(),
    headers: (): Record<string, string> => {
      if (!auth) return {};
      if (auth.type === "bearer") return { authorization: `Bearer ${auth.token}` };
      return {
        authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`,
      };
    },
  });
  const mapper = createMapper(config);

  function labelsOf(ticket: Ticket): Record<string, string> {
    const parsed = TicketLabels.safeParse(ticket.metaData.labels);
    const labels = parsed.success
      ? Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== ""))
      : {};
    if (Object.keys(labels).length === 0) {
      throw rwError("RW_ERR_INPUT_INVALID", "ticket carries no Alertmanager labels to silence", {
        details: {
          ticketId: ticket.id,
          fields: [{ path: "metaData.labels", message: "missing or not a label set" }],
        },
      });
    }
    return labels;
  }

  /** Our silences for this ticket's alert that still mute it (active or pending). */
  async function ourSilences(ticket: Ticket, labels: Record<string, string>, signal: AbortSignal) {
    const marker = silenceMarker(alertFingerprint(ticket));
    const body = await http.json({
      method: "GET",
      path: "api/v2/silences",
      query: { filter: labels.alertname ? [equalMatcher("alertname", labels.alertname)] : undefined },
      signal,
    });
    const list = z.array(z.unknown()).safeParse(body);
    if (!list.success) {
      throw rwError("RW_ERR_CONNECTOR_REJECTED", "Alertmanager's silence list is not an array", {
        details: { vendor: "Alertmanager" },
      });
    }
    const silences = [];
    for (const item of list.data) {
      const silence = ApiSilence.safeParse(item);
      if (!silence.success) continue;
      const { status, comment, createdBy } = silence.data;
      if (status.state !== "expired" && createdBy === config.silence.createdBy && comment.includes(marker)) {
        silences.push(silence.data);
      }
    }
    return silences;
  }

  return {
    async *pull({ since, signal }) {
      const sinceMs = since === undefined ? undefined : Date.parse(since);
      if (sinceMs !== undefined && Number.isNaN(sinceMs)) {
        throw rwError("RW_ERR_INPUT_INVALID", "pull `since` is not a date", {
          details: { fields: [{ path: "since", message: "expected an ISO 8601 date" }] },
        });
      }
      const body = await http.json({
        method: "GET",
        path: "api/v2/alerts",
        query: {
          active: "true",
          silenced: String(config.pull.includeSilenced),
          inhibited: String(config.pull.includeInhibited),
          unprocessed: "false",
          filter: config.pull.filter,
          receiver: config.pull.receiver,
        },
        signal,
      });
      if (!Array.isArray(body)) {
        throw rwError("RW_ERR_CONNECTOR_REJECTED", "Alertmanager's alert list is not an array", {
          details: { vendor: "Alertmanager" },
        });
      }
      for (const item of body) {
        const parsed = ApiAlert.safeParse(item);
        if (!parsed.success) {
          deps.logger.warn(
            { issues: parsed.error.issues.slice(0, 3) },
            "skipped malformed alert from alertmanager",
          );
          continue;
        }
        const alert = parsed.data;
        if (sinceMs !== undefined && Date.parse(alert.updatedAt) < sinceMs) continue;
        const warnings: string[] = [];
        const ticket = mapper.map(
          alert,
          {
            source: deps.source,
            resolved: false,
            extra: {
              state: alert.status.state,
              updatedAt: alert.updatedAt,
              silencedBy: alert.status.silencedBy,
              receivers: alert.receivers.map((r) => r.name),
            },
          },
          warnings,
        );
        if (warnings.length > 0) deps.logger.debug({ warnings }, "mapped pulled alert with guesses");
        yield ticket;
      }
    },

    async acknowledge(ticket, signal) {
      const labels = labelsOf(ticket);
      const existing = await ourSilences(ticket, labels, signal);
      if (existing.length > 0) {
        deps.logger.debug({ ticketId: ticket.id, silenceId: existing[0]!.id }, "alert already silenced");
        return;
      }
      const now = deps.now();
      const result = await http.json({
        method: "POST",
        path: "api/v2/silences",
        json: {
          matchers: Object.entries(labels).map(([name, value]) => ({
            name,
            value,
            isRegex: false,
            isEqual: true,
          })),
          startsAt: now.toISOString(),
          endsAt: new Date(now.getTime() + config.silence.durationMs).toISOString(),
          createdBy: config.silence.createdBy,
          comment: `Runwarden ticket #${ticket.id}: ${clip(ticket.title, 200)} ${silenceMarker(alertFingerprint(ticket))}`,
        },
        signal,
      });
      const silenceId = (result as { silenceID?: unknown } | undefined)?.silenceID;
      deps.logger.info({ ticketId: ticket.id, silenceId }, "alert silenced");
    },

    async resolve(ticket, signal) {
      const labels = labelsOf(ticket);
      for (const silence of await ourSilences(ticket, labels, signal)) {
        try {
          await http.send({
            method: "DELETE",
            path: `api/v2/silence/${encodeURIComponent(silence.id)}`,
            signal,
          });
        } catch (error) {
          // Expired between the list and the delete: the goal is met.
          if (isRunwardenError(error) && error.code === "RW_ERR_CONNECTOR_NOT_FOUND") continue;
          throw error;
        }
        deps.logger.info({ ticketId: ticket.id, silenceId: silence.id }, "silence expired");
      }
    },

    async healthCheck(signal) {
      const started = performance.now();
      try {
        await http.json({ method: "GET", path: "api/v2/status", signal });
        return { ok: true, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        const latencyMs = Math.round(performance.now() - started);
        if (!isRunwardenError(error)) throw error;
        const reason =
          error.code === "RW_ERR_CONNECTOR_AUTH"
            ? "auth"
            : error.code === "RW_ERR_CONNECTOR_TIMEOUT"
              ? "timeout"
              : error.code === "RW_ERR_CONNECTOR_UNREACHABLE"
                ? String(error.details?.reason ?? "unreachable")
                : "rejected";
        return { ok: false, latencyMs, reason, message: error.message };
      }
    },
  };
}
