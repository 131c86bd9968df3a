/**
 * normalize: trims and collapses whitespace, lower-cases service and environment, maps
 * environment aliases (production → prod, stage → staging) and severity aliases.
 */
import { type TicketSeverity, ticketSeverities } from "../domain.js";
import type { AnalyzerStage } from "./stage.js";

const severityAliases: Readonly<Record<string, TicketSeverity>> = {
  critical: "critical",
  crit: "critical",
  fatal: "critical",
  emergency: "critical",
  emerg: "critical",
  disaster: "critical",
  blocker: "critical",
  urgent: "critical",
  p1: "critical",
  sev1: "critical",
  "sev-1": "critical",
  high: "high",
  major: "high",
  error: "high",
  err: "high",
  alert: "high",
  p2: "high",
  sev2: "high",
  "sev-2": "high",
  medium: "medium",
  moderate: "medium",
  average: "medium",
  warning: "medium",
  warn: "medium",
  normal: "medium",
  p3: "medium",
  sev3: "medium",
  "sev-3": "medium",
  low: "low",
  minor: "low",
  p4: "low",
  sev4: "low",
  "sev-4": "low",
  info: "info",
  informational: "info",
  information: "info",
  notice: "info",
  debug: "info",
  ok: "info",
  "not classified": "info",
  p5: "info",
  sev5: "info",
  "sev-5": "info",
};

/**
 * Maps a severity as tools spell it (`P1`, `Warning`, `sev-2`, `CRITICAL`) onto Runwarden's
 * scale; undefined when it is not one we know.
 */
export function normalizeSeverity(raw: unknown): TicketSeverity | undefined {
  if (typeof raw !== "string") return undefined;
  return severityAliases[raw.trim().toLowerCase().replace(/\s+/g, " ")];
}

/** Every severity spelling `normalizeSeverity` accepts. */
export const knownSeverities: readonly string[] = Object.keys(severityAliases);

const environmentAliases: Readonly<Record<string, string>> = {
  production: "prod",
  prd: "prod",
  live: "prod",
  stage: "staging",
  stg: "staging",
  preprod: "staging",
  "pre-prod": "staging",
  development: "dev",
  develop: "dev",
  testing: "test",
  qa: "test",
};

/** Lower-cases an environment and maps its aliases (`Production` → `prod`, `stage` → `staging`). */
export function normalizeEnvironment(raw: string): string {
  const env = raw.trim().toLowerCase();
  return environmentAliases[env] ?? env;
}

const collapse = (text: string) => text.replace(/\s+/g, " ").trim();

export const normalizeStage: AnalyzerStage = {
  name: "normalize",
  run(state, { note }) {
    const t = state.ticket;
    const title = collapse(t.title);
    if (title !== t.title) {
      t.title = title;
      note("title whitespace collapsed");
    }
    const description = t.description.trim();
    if (description !== t.description) t.description = description;
    const environment = normalizeEnvironment(t.environment);
    if (environment !== t.environment) {
      note(`environment "${t.environment}" → "${environment}"`);
      t.environment = environment;
    }
    const service = t.service.trim().toLowerCase();
    if (service !== t.service) {
      note(`service "${t.service}" → "${service}"`);
      t.service = service;
    }
    const source = t.source.trim().toLowerCase();
    if (source !== t.source) t.source = source;
    if (!ticketSeverities.includes(t.severity)) {
      const mapped = normalizeSeverity(t.severity) ?? "medium";
      note(`severity "${t.severity}" → "${mapped}"`);
      t.severity = mapped;
    }
  },
};
