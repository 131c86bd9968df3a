/** SolarWinds vocabulary → ticket fields, shared by the webhook and pull. */
import type { TicketSeverity } from "@runwarden/core";
import type { SolarWindsConfig } from "../config.js";

/**
 * `Orion.AlertConfigurations.Severity` (OrionSDK docs/alerts.md): 0 Information, 1 Warning,
 * 2 Critical, 3 Serious, 4 Notice.
 */
export const severityNames: Readonly<Record<number, string>> = {
  0: "Information",
  1: "Warning",
  2: "Critical",
  3: "Serious",
  4: "Notice",
};

/** A variable Orion left unsubstituted (`${N=Alerting;M=Severity}`) or an empty one counts as absent. */
export function present(value: string | number | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = String(value).trim();
  if (!trimmed || /^\$\{[^}]*\}$/.test(trimmed)) return undefined;
  return trimmed;
}

/** The severity name for a number or a name (`2` and `"Critical"` both give `Critical`). */
export function severityName(value: string | number | null | undefined): string | undefined {
  const given = present(value);
  if (given === undefined) return undefined;
  if (/^\d+$/.test(given)) return severityNames[Number(given)] ?? given;
  return given;
}

/** A severity name through the configured table, case-insensitively; undefined when unknown. */
export function mapSeverity(config: SolarWindsConfig, name: string | undefined): TicketSeverity | undefined {
  if (name === undefined) return undefined;
  const table = config.mapping.severities;
  if (table[name]) return table[name];
  const key = Object.keys(table).find((k) => k.toLowerCase() === name.toLowerCase());
  return key ? table[key] : undefined;
}

/** The fingerprint and external id of one (alert definition, object) pair: its AlertObjectID. */
export function alertFingerprint(alertObjectId: string | number): string {
  return String(Number(alertObjectId));
}

/** SWIS DateTime (`2021-04-06T12:53:07.2300000Z`, 7 fraction digits) as ISO 8601, or null. */
export function swisTime(value: string | null | undefined): string | null {
  if (!value) return null;
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$/.exec(value.trim());
  if (!match) return null;
  const ms = (match[2] ?? "").padEnd(3, "0").slice(0, 3);
  const at = Date.parse(`${match[1]}.${ms}${match[3] ?? "Z"}`);
  return Number.isNaN(at) ? null : new Date(at).toISOString();
}

/** The host an alert is about: the related node's caption, else the entity's when it is a node. */
export function hostOf(fields: {
  nodeCaption?: string | null | undefined;
  relatedNodeCaption?: string | null | undefined;
  entityType?: string | null | undefined;
  entityCaption?: string | null | undefined;
}): string | undefined {
  return (
    present(fields.nodeCaption) ??
    present(fields.relatedNodeCaption) ??
    (fields.entityType === "Orion.Nodes" ? present(fields.entityCaption) : undefined)
  );
}
