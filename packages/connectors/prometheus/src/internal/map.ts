/** Alertmanager alert → TicketInput, the one mapping shared by the webhook and pull. */

import { clip } from "@runwarden/connector-kit";
import {
  hostOfAddress,
  serviceFromLabels,
  severityFromLabels,
  type TicketInput,
  type TicketSeverity,
} from "@runwarden/core";
import type { PrometheusConfig } from "../config.js";
import { defaultSeverities } from "../config.js";

/** Alertmanager's "not set" time (a firing alert's `endsAt` in a webhook). */
const ZERO_TIME = "0001-01-01T00:00:00Z";

export interface AlertLike {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  fingerprint: string;
  startsAt: string;
  endsAt?: string | undefined;
  generatorURL: string;
}

export interface AlertContext {
  /** The connector name: the ticket's `source`. */
  source: string;
  resolved: boolean;
  /** Where it came from, kept in metaData. */
  extra: Record<string, unknown>;
}

export interface Mapper {
  map(alert: AlertLike, context: AlertContext, warnings: string[]): TicketInput;
}

function first(record: Record<string, string>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = record[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** `web-01:9100` → `web-01`, `[::1]:9100` → `::1`; a URL → its host name (core's `hostOfAddress`). */
export function hostOf(instance: string): string {
  return hostOfAddress(instance);
}

export function createMapper(config: PrometheusConfig): Mapper {
  const severities: Record<string, TicketSeverity> = {};
  for (const [key, value] of Object.entries({ ...defaultSeverities, ...config.severities })) {
    severities[key.toLowerCase()] = value;
  }
  const { mapping } = config;

  return {
    map(alert, context, warnings) {
      const { labels, annotations } = alert;
      const alertname = labels.alertname?.trim() || "Alert";
      const instance = first(labels, mapping.host);

      // Every severity label in order: an unknown value does not stop the search.
      const unknown: { label: string; value: string }[] = [];
      let severity = severityFromLabels(labels, {
        keys: mapping.severity,
        extra: severities,
        unknown,
      })?.severity;
      if (!severity) {
        severity = config.defaultSeverity;
        warnings.push(
          unknown.length > 0
            ? `alert ${alert.fingerprint}: unknown severity ${unknown.map((u) => `"${u.value}" (${u.label})`).join(", ")}, used ${severity}`
            : `alert ${alert.fingerprint}: no severity label, used ${severity}`,
        );
      }

      const title =
        first(annotations, mapping.title) ?? (instance ? `${alertname} on ${instance}` : alertname);
      const description =
        first(annotations, mapping.description) ??
        `${alertname} is ${context.resolved ? "resolved" : "firing"}${instance ? ` on ${instance}` : ""}.`;
      const endsAt = alert.endsAt && alert.endsAt !== ZERO_TIME ? alert.endsAt : null;

      return {
        title: clip(title, 500),
        description: clip(description, 20_000),
        severity,
        environment: clip(first(labels, mapping.environment) ?? config.defaultEnvironment, 64),
        service: clip(serviceFromLabels(labels, mapping.service) ?? "", 128),
        source: context.source,
        externalId: alert.fingerprint,
        fingerprint: alert.fingerprint,
        resolved: context.resolved,
        metaData: {
          alertname,
          ...(instance ? { instance, host: hostOf(instance) } : {}),
          ...(labels.job ? { job: labels.job } : {}),
          ...(annotations.runbook_url ? { runbookUrl: annotations.runbook_url } : {}),
          labels,
          annotations,
          startsAt: alert.startsAt,
          endsAt,
          generatorURL: alert.generatorURL,
          ...context.extra,
        },
      };
    },
  };
}
