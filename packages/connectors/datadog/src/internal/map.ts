/** Datadog vocabulary → ticket fields, shared by the webhook and pull. */
import type { TicketSeverity } from "@runwarden/core";
import type { DatadogConfig } from "../config.js";

/** A template variable Datadog left unsubstituted (`$ALERT_PRIORITY`) counts as absent. */
export function present(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  if (!trimmed || /^\$[A-Z_]+(\[[^\]]*\])?$/.test(trimmed)) return undefined;
  return trimmed;
}

/** `host:web-01, env:prod` → `env:prod,host:web-01`; `*` and empty → "". Stable across sources. */
export function normalizeScope(scope: string | readonly string[] | undefined): string {
  const parts = (typeof scope === "string" ? scope.split(",") : (scope ?? [])).map((p) => p.trim());
  return [...new Set(parts.filter((p) => p !== "" && p !== "*"))].sort().join(",");
}

/** The fingerprint of one monitor group: the same from the webhook, groups search and events. */
export function monitorFingerprint(monitorId: string | number, scope: string): string {
  return scope ? `${monitorId}:${scope}` : String(monitorId);
}

/** `env:prod,monitor,service:checkout` → [["env","prod"],["monitor",""],["service","checkout"]]. */
export function parseTags(tags: string | readonly string[] | undefined): [string, string][] {
  const list = typeof tags === "string" ? tags.split(",") : (tags ?? []);
  const out: [string, string][] = [];
  for (const raw of list) {
    const tag = raw.trim();
    if (!tag) continue;
    const colon = tag.indexOf(":");
    out.push(colon < 0 ? [tag, ""] : [tag.slice(0, colon), tag.slice(colon + 1)]);
  }
  return out;
}

export function tagValue(tags: readonly [string, string][], keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const found = tags.find(([k, v]) => k === key && v !== "");
    if (found) return found[1];
  }
  return undefined;
}

export type Transition = "firing" | "resolved";

const transitionPrefix =
  /^\s*\[(Triggered|Re-Triggered|Recovered|Warn|Re-Warn|No Data|Re-No Data|Renotify|P[1-5])(?: on \{([^}]*)\})?\]\s*/i;

/** `[Triggered on {host:web-01}] High CPU` → transition "Triggered", scope, rest "High CPU". */
export function splitTitle(title: string): { transition?: string; scope?: string; rest: string } {
  let rest = title;
  let transition: string | undefined;
  let scope: string | undefined;
  // Datadog may prefix a priority as well: "[P1] [Triggered on {…}] …".
  for (let i = 0; i < 2; i++) {
    const match = transitionPrefix.exec(rest);
    if (!match) break;
    if (!/^P[1-5]$/i.test(match[1]!)) {
      transition = match[1];
      scope = match[2];
    }
    rest = rest.slice(match[0].length);
  }
  return { transition, scope, rest: rest.trim() || title.trim() };
}

const firing = new Set(["triggered", "re-triggered", "warn", "re-warn", "no data", "re-no data", "renotify"]);

/** Whether a `$ALERT_TRANSITION` means the problem is over; undefined when unknown. */
export function transitionState(transition: string | undefined): Transition | undefined {
  const key = transition?.trim().toLowerCase();
  if (!key) return undefined;
  if (key === "recovered") return "resolved";
  return firing.has(key) ? "firing" : undefined;
}

export function severityFrom(
  config: DatadogConfig,
  hints: { priority?: string | undefined; alertType?: string | undefined; status?: string | undefined },
): TicketSeverity | undefined {
  const priority = hints.priority?.toUpperCase();
  if (priority && config.mapping.priorities[priority]) return config.mapping.priorities[priority];
  switch ((hints.alertType ?? hints.status)?.toLowerCase()) {
    case "error":
    case "alert":
      return "high";
    case "warning":
    case "warn":
    case "no data":
      return "medium";
    case "info":
    case "success":
      return "info";
    default:
      return undefined;
  }
}

/** `%%%\n…\n%%%` (Datadog's Markdown fences) removed from a message. */
export function plainMessage(message: string): string {
  return message
    .replace(/^\s*%%%\s*\n?/, "")
    .replace(/\n?\s*%%%\s*$/, "")
    .trim();
}

/** `High CPU on {{host.name}}` with the group's tag values filled in. */
export function fillTemplate(name: string, tags: readonly [string, string][]): string {
  return name.replace(
    /\{\{\s*([\w.-]+?)\.name\s*\}\}/g,
    (whole, key: string) => tagValue(tags, [key]) ?? whole,
  );
}
