/** Datadog's API: monitor groups in Alert/Warn and alert events since a cursor; downtimes; key validation. */

import { apiHealthFailure, clip, createHttpClient } from "@runwarden/connector-kit";
import type { HealthResult, Logger, TicketInput } from "@runwarden/core";
import { rwError } from "@runwarden/core";
import type { z } from "zod";
import type { DatadogConfig } from "../config.js";
import { EventsList, MonitorGroupSearch } from "../payload.js";
import { createDowntimeApi, type DowntimeApi } from "./downtime.js";

import {
  fillTemplate,
  monitorFingerprint,
  normalizeScope,
  parseTags,
  plainMessage,
  severityFrom,
  splitTitle,
  tagValue,
} from "./map.js";

export interface DatadogApi extends DowntimeApi {
  pull(options: { since?: string; signal: AbortSignal }): AsyncIterable<TicketInput>;
  healthCheck(signal: AbortSignal): Promise<HealthResult>;
}

/** Datadog's `X-RateLimit-Reset` is the number of seconds until the window resets. */
export function datadogRateLimitDelayMs(headers: Readonly<Record<string, string>>): number | undefined {
  const reset = Number(headers["x-ratelimit-reset"]);
  return Number.isFinite(reset) && reset >= 0 ? Math.ceil(reset * 1000) : undefined;
}

export function createDatadogApi(
  config: DatadogConfig & { apiKey: string; applicationKey: string },
  deps: { source: string; logger: Logger; now(): Date },
): DatadogApi {
  const http = createHttpClient({
    vendor: "Datadog",
    baseUrl: new URL(config.apiUrl ?? `https://api.${config.site}`),
    dispatcher: config.dispatcher,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: 50 * 1024 * 1024,
    now: () => deps.now().getTime(),
    headers: () => ({ "DD-API-KEY": config.apiKey, "DD-APPLICATION-KEY": config.applicationKey }),
    rateLimitDelayMs: datadogRateLimitDelayMs,
  });
  const { pull } = config;
  const downtimes = createDowntimeApi(
    http,
    { durationMs: config.downtime.durationMs, pageSize: pull.pageSize, maxPages: pull.maxPages },
    deps,
  );

  async function fetchParsed<S extends z.ZodType>(
    schema: S,
    path: string,
    query: Record<string, string | undefined>,
    signal: AbortSignal,
  ): Promise<z.output<S>> {
    const body = await http.json({ method: "GET", path, query, signal });
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw rwError("RW_ERR_CONNECTOR_REJECTED", `Datadog answered ${path} with an unexpected shape`, {
        details: { vendor: "Datadog", path, issues: parsed.error.issues.slice(0, 5).map((i) => i.message) },
      });
    }
    return parsed.data;
  }

  function fromEvent(event: EventsList["data"][number]): TicketInput | undefined {
    const outer = event.attributes;
    const inner = outer.attributes;
    const monitorId = inner.monitor_id ?? inner.monitor?.id;
    if (monitorId === undefined || monitorId === null) return undefined;
    const status = inner.status?.toLowerCase();
    const title = splitTitle(inner.title);
    const recovered = status === "success" || title.transition?.toLowerCase() === "recovered";
    if (!recovered && status !== "error" && status !== "warning") return undefined;
    const scope = normalizeScope(inner.monitor_groups ?? inner.monitor?.groups ?? title.scope);
    const tags = parseTags([...outer.tags, ...(inner.monitor?.tags ?? [])]);
    const fingerprint = monitorFingerprint(monitorId, scope);
    const host = tagValue(tags, config.mapping.host) ?? inner.hostname ?? undefined;
    return {
      title: clip(title.rest || inner.monitor?.name || `Datadog monitor ${monitorId}`, 500),
      description: clip(plainMessage(outer.message) || title.rest, 20_000),
      severity: severityFrom(config, { status }) ?? config.defaultSeverity,
      environment: clip(tagValue(tags, config.mapping.environment) ?? "", 64),
      service: clip(tagValue(tags, config.mapping.service) ?? inner.service ?? "", 128),
      source: deps.source,
      externalId: fingerprint,
      fingerprint,
      resolved: recovered,
      metaData: {
        monitorId,
        scope,
        transition: title.transition ?? null,
        ...(host ? { host } : {}),
        eventId: event.id,
        status: status ?? null,
        timestamp: outer.timestamp ?? null,
        tags: outer.tags,
      },
    };
  }

  async function* events(since: string | undefined, signal: AbortSignal): AsyncGenerator<TicketInput> {
    if (!pull.eventQuery) return;
    const to = deps.now().getTime();
    const from = since === undefined ? to - pull.lookbackMs : Date.parse(since);
    let cursor: string | undefined;
    for (let page = 0; page < pull.maxPages; page++) {
      const list = await fetchParsed(
        EventsList,
        "api/v2/events",
        {
          "filter[query]": pull.eventQuery,
          "filter[from]": String(from),
          "filter[to]": String(to),
          sort: "timestamp",
          "page[limit]": String(pull.pageSize),
          "page[cursor]": cursor,
        },
        signal,
      );
      for (const event of list.data) {
        const ticket = fromEvent(event);
        if (ticket) yield ticket;
      }
      cursor = list.meta?.page?.after;
      if (!cursor || list.data.length === 0) return;
    }
    deps.logger.warn({ maxPages: pull.maxPages }, "stopped reading datadog events at the page limit");
  }

  async function* monitorGroups(signal: AbortSignal): AsyncGenerator<TicketInput> {
    for (const state of pull.monitorStates) {
      const query = `group_status:"${state}"${pull.monitorQuery ? ` ${pull.monitorQuery}` : ""}`;
      for (let page = 0; page < pull.maxPages; page++) {
        const result = await fetchParsed(
          MonitorGroupSearch,
          "api/v1/monitor/groups/search",
          { query, page: String(page), per_page: String(pull.pageSize) },
          signal,
        );
        for (const group of result.groups) {
          const scope = normalizeScope(group.group);
          const tags = parseTags(group.group_tags.length > 0 ? group.group_tags : scope.split(","));
          const name = fillTemplate(group.monitor_name, tags) || `Datadog monitor ${group.monitor_id}`;
          const fingerprint = monitorFingerprint(group.monitor_id, scope);
          const host = tagValue(tags, config.mapping.host);
          yield {
            title: clip(name, 500),
            description: clip(`${name}: ${group.status}${scope ? ` on ${scope}` : ""}.`, 20_000),
            severity: severityFrom(config, { status: group.status }) ?? config.defaultSeverity,
            environment: clip(tagValue(tags, config.mapping.environment) ?? "", 64),
            service: clip(tagValue(tags, config.mapping.service) ?? "", 128),
            source: deps.source,
            externalId: fingerprint,
            fingerprint,
            resolved: false,
            metaData: {
              monitorId: group.monitor_id,
              scope,
              status: group.status,
              ...(host ? { host } : {}),
              lastTriggeredAt: group.last_triggered_ts
                ? new Date(group.last_triggered_ts * 1000).toISOString()
                : null,
              tags: group.group_tags,
            },
          };
        }
        const meta = result.metadata;
        if (!meta || page + 1 >= meta.page_count || result.groups.length === 0) break;
        if (page + 1 === pull.maxPages) {
          deps.logger.warn(
            { maxPages: pull.maxPages, state },
            "stopped reading datadog monitor groups at the page limit",
          );
        }
      }
    }
  }

  return {
    acknowledge: downtimes.acknowledge,
    resolve: downtimes.resolve,

    async *pull({ since, signal }) {
      if (since !== undefined && Number.isNaN(Date.parse(since))) {
        throw rwError("RW_ERR_INPUT_INVALID", "pull `since` is not a date", {
          details: { fields: [{ path: "since", message: "expected an ISO 8601 date" }] },
        });
      }
      // Transitions first (oldest to newest, recoveries included), then the current state, which
      // is newer than any of them: the last word on a fingerprint is always the freshest.
      yield* events(since, signal);
      yield* monitorGroups(signal);
    },

    async healthCheck(signal) {
      const started = performance.now();
      try {
        await http.json({ method: "GET", path: "api/v1/validate", signal });
        return { ok: true, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        return apiHealthFailure(error, Math.round(performance.now() - started));
      }
    },
  };
}
