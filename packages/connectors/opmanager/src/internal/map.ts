/** OpManager vocabulary → ticket fields, shared by the webhook and pull. */
import type { TicketSeverity } from "@runwarden/core";
import type { OpManagerConfig } from "../config.js";

/** listAlarms `severity` / `numericSeverity`: 1 Critical, 2 Trouble, 3 Attention, 4 Service Down, 5 Clear. */
export const severityNames: Readonly<Record<number, string>> = {
  1: "Critical",
  2: "Trouble",
  3: "Attention",
  4: "Service Down",
  5: "Clear",
};

/** A `$variable` OpManager left unsubstituted, or an empty value, counts as absent. */
export function present(value: string | number | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = String(value).trim();
  if (!trimmed || /^\$[A-Za-z]+(\([A-Za-z]+\))?$/.test(trimmed)) return undefined;
  return trimmed;
}

/** The severity name for a number or a name (`1` and `"Critical"` both give `Critical`). */
export function severityName(value: string | number | null | undefined): string | undefined {
  const given = present(value);
  if (given === undefined) return undefined;
  if (/^\d+$/.test(given)) return severityNames[Number(given)] ?? given;
  return given;
}

export function isClear(name: string | undefined): boolean {
  return name?.toLowerCase() === "clear";
}

/** A severity name through the configured table, case-insensitively; undefined when unknown. */
export function mapSeverity(config: OpManagerConfig, name: string | undefined): TicketSeverity | undefined {
  if (name === undefined) return undefined;
  const table = config.mapping.severities;
  if (table[name]) return table[name];
  const key = Object.keys(table).find((k) => k.toLowerCase() === name.toLowerCase());
  return key ? table[key] : undefined;
}

/** The title of an alarm: its message, else its event type or category on the device. */
export function alarmTitle(fields: {
  message?: string | undefined;
  eventType?: string | undefined;
  category?: string | undefined;
  device?: string | undefined;
  entity: string;
}): string {
  if (fields.message) return fields.message;
  const what = fields.eventType ?? fields.category ?? "OpManager alarm";
  return fields.device ? `${what} on ${fields.device}` : `${what} (${fields.entity})`;
}
