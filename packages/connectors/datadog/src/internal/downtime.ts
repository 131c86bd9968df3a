/**
 * Acknowledge and resolve for Datadog: a Downtime (API v2) muting the alert's monitor on its
 * group's scope, and cancelling it. Datadog monitor alerts have no acknowledgement of their own;
 * a downtime is the nearest thing, as a silence is for Alertmanager. Both calls are idempotent:
 * our downtimes carry a marker naming the alert, so a retry finds the one it made.
 */
import { clip, type HttpClient } from "@runwarden/connector-kit";
import type { Logger, MonitoringWrite, Ticket } from "@runwarden/core";
import { isRunwardenError, rwError } from "@runwarden/core";
import { z } from "zod";

/** One downtime as `GET /api/v2/downtime` lists it (the fields we read). */
const DowntimeData = z.object({
  id: z.string(),
  attributes: z
    .object({
      message: z.string().nullish(),
      status: z.string().nullish(),
    })
    .loose(),
});
const DowntimeList = z.object({
  data: z.array(z.unknown()),
  meta: z
    .object({ page: z.object({ total_filtered_count: z.number().optional() }).loose().optional() })
    .loose()
    .optional(),
});

/** The tag that marks a downtime as ours, for one alert fingerprint. */
export function downtimeMarker(fingerprint: string): string {
  return `[runwarden:${fingerprint}]`;
}

/** A monitor group's scope (`env:prod,host:web-01`) as a downtime scope query (`env:prod AND host:web-01`). */
export function downtimeScope(scope: string): string {
  const parts = scope
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "" && p !== "*");
  return parts.length === 0
    ? "*"
    : parts.map((p) => (/^[\w.:/-]+$/.test(p) ? p : JSON.stringify(p))).join(" AND ");
}

const TicketMonitor = z.object({
  monitorId: z.union([z.number().int(), z.string().regex(/^\d+$/)]),
  scope: z.string().default(""),
});

/**
 * The audit line of an acknowledge or resolve: the monitor and scope it mutes, never a key.
 * A ticket without a monitor gets a line too (its call fails with an input code).
 */
export function describeDowntimeWrite(write: MonitoringWrite, durationMs: number): string {
  const parsed = TicketMonitor.safeParse(write.ticket.metaData);
  const target = parsed.success
    ? `monitor ${Number(parsed.data.monitorId)}${parsed.data.scope ? ` on ${clip(parsed.data.scope, 200)}` : ""}`
    : `ticket ${write.ticket.id} (no monitor)`;
  return write.operation === "acknowledge"
    ? `datadog: create a downtime muting ${target} for ${Math.round(durationMs / 60_000)} min`
    : `datadog: cancel Runwarden's downtimes on ${target}`;
}

export interface DowntimeApi {
  acknowledge(ticket: Ticket, signal: AbortSignal): Promise<void>;
  resolve(ticket: Ticket, signal: AbortSignal): Promise<void>;
}

export function createDowntimeApi(
  http: HttpClient,
  config: { durationMs: number; pageSize: number; maxPages: number },
  deps: { logger: Logger; now(): Date },
): DowntimeApi {
  function monitorOf(ticket: Ticket): { monitorId: number; scope: string; fingerprint: string } {
    const parsed = TicketMonitor.safeParse(ticket.metaData);
    if (!parsed.success) {
      throw rwError("RW_ERR_INPUT_INVALID", "ticket carries no Datadog monitor to mute", {
        details: {
          ticketId: ticket.id,
          fields: [{ path: "metaData.monitorId", message: "missing or not a monitor id" }],
        },
      });
    }
    const monitorId = Number(parsed.data.monitorId);
    const fingerprint = ticket.externalId ?? ticket.fingerprint.replace(/^datadog:/, "");
    return { monitorId, scope: parsed.data.scope, fingerprint };
  }

  /** Our downtimes for this alert that still mute it (active or scheduled). */
  async function ours(fingerprint: string, signal: AbortSignal): Promise<string[]> {
    const marker = downtimeMarker(fingerprint);
    const found: string[] = [];
    for (let page = 0; page < config.maxPages; page++) {
      const body = await http.json({
        method: "GET",
        path: "api/v2/downtime",
        query: {
          current_only: "true",
          "page[limit]": String(config.pageSize),
          "page[offset]": String(page * config.pageSize),
        },
        signal,
      });
      const list = DowntimeList.safeParse(body);
      if (!list.success) {
        throw rwError(
          "RW_ERR_CONNECTOR_REJECTED",
          "Datadog answered api/v2/downtime with an unexpected shape",
          {
            details: { vendor: "Datadog", path: "api/v2/downtime" },
          },
        );
      }
      for (const item of list.data.data) {
        const downtime = DowntimeData.safeParse(item);
        if (!downtime.success) continue;
        const { message, status } = downtime.data.attributes;
        if (status !== "ended" && status !== "canceled" && message?.includes(marker))
          found.push(downtime.data.id);
      }
      if (list.data.data.length < config.pageSize) break;
    }
    return found;
  }

  return {
    async acknowledge(ticket, signal) {
      const { monitorId, scope, fingerprint } = monitorOf(ticket);
      const existing = await ours(fingerprint, signal);
      if (existing.length > 0) {
        deps.logger.debug({ ticketId: ticket.id, downtimeId: existing[0] }, "alert already in a downtime");
        return;
      }
      const now = deps.now();
      const result = await http.json({
        method: "POST",
        path: "api/v2/downtime",
        json: {
          data: {
            type: "downtime",
            attributes: {
              monitor_identifier: { monitor_id: monitorId },
              scope: downtimeScope(scope),
              schedule: { start: null, end: new Date(now.getTime() + config.durationMs).toISOString() },
              message: `Runwarden ticket #${ticket.id}: ${clip(ticket.title, 200)} ${downtimeMarker(fingerprint)}`,
              mute_first_recovery_notification: false,
            },
          },
        },
        signal,
      });
      const downtimeId = (result as { data?: { id?: unknown } } | undefined)?.data?.id;
      deps.logger.info({ ticketId: ticket.id, downtimeId }, "alert muted by a downtime");
    },

    async resolve(ticket, signal) {
      const { fingerprint } = monitorOf(ticket);
      for (const id of await ours(fingerprint, signal)) {
        try {
          await http.send({ method: "DELETE", path: `api/v2/downtime/${encodeURIComponent(id)}`, signal });
        } catch (error) {
          // Ended or cancelled between the list and the delete: the goal is met.
          if (isRunwardenError(error) && error.code === "RW_ERR_CONNECTOR_NOT_FOUND") continue;
          throw error;
        }
        deps.logger.info({ ticketId: ticket.id, downtimeId: id }, "downtime cancelled");
      }
    },
  };
}
