/** Zabbix vocabulary → ticket fields, shared by the webhook and pull. */
import { clip } from "@runwarden/connector-kit";
import type { TicketInput, TicketSeverity } from "@runwarden/core";
import type { ZabbixConfig } from "../config.js";

/** Zabbix's own names of its severities, by number. */
export const zabbixSeverityNames = [
  "Not classified",
  "Information",
  "Warning",
  "Average",
  "High",
  "Disaster",
] as const;

export interface ZabbixTag {
  tag: string;
  value: string;
}

export interface ZabbixHost {
  hostid?: string | undefined;
  /** The technical host name. */
  host: string;
  /** The visible name. */
  name?: string | undefined;
}

/** What pull and the webhook know about one problem, in Zabbix's terms. */
export interface ProblemFacts {
  /** The problem event's id: the ticket's external id, the target of `event.acknowledge`. */
  eventId: string;
  triggerId?: string | undefined;
  name: string;
  /** 0 not classified … 5 disaster; undefined when unknown. */
  severity: number | undefined;
  /** When the problem started, epoch seconds. */
  clock?: number | undefined;
  tags: readonly ZabbixTag[];
  hosts: readonly ZabbixHost[];
  hostIp?: string | undefined;
  resolved: boolean;
  recoveryEventId?: string | undefined;
  acknowledged?: boolean | undefined;
  suppressed?: boolean | undefined;
  opdata?: string | undefined;
  /** A message Zabbix composed (the webhook's alert message). */
  message?: string | undefined;
  /** The frontend's URL, for a link to the problem. */
  frontendUrl?: string | undefined;
  via: "pull" | "webhook";
}

/** The value of the first of `names` present among the tags (case-insensitive names). */
export function tagValue(tags: readonly ZabbixTag[], names: readonly string[]): string | undefined {
  for (const name of names) {
    const wanted = name.toLowerCase();
    const found = tags.find((t) => t.tag.toLowerCase() === wanted && t.value.trim() !== "");
    if (found) return found.value.trim();
  }
  return undefined;
}

/** Zabbix severity number → ticket severity, through the configured table. */
export function severityOf(config: ZabbixConfig, severity: number | undefined): TicketSeverity | undefined {
  if (severity === undefined || !Number.isInteger(severity) || severity < 0 || severity > 5) return undefined;
  return config.mapping.severities[String(severity) as keyof ZabbixConfig["mapping"]["severities"]];
}

function iso(clock: number | undefined): string | null {
  return clock !== undefined && Number.isFinite(clock) && clock > 0
    ? new Date(clock * 1000).toISOString()
    : null;
}

/** A link to the problem's event page in the frontend, when its URL is known. */
export function problemLink(
  frontendUrl: string | undefined,
  facts: Pick<ProblemFacts, "eventId" | "triggerId">,
): string | null {
  if (!frontendUrl || !facts.triggerId || !/^https?:\/\//i.test(frontendUrl)) return null;
  try {
    const url = new URL("tr_events.php", frontendUrl.endsWith("/") ? frontendUrl : `${frontendUrl}/`);
    url.searchParams.set("triggerid", facts.triggerId);
    url.searchParams.set("eventid", facts.eventId);
    return url.href;
  } catch {
    return null;
  }
}

/**
 * One problem as a ticket. The fingerprint and external id are the problem event's id, the same
 * from pull and from the webhook (a recovery notification carries the problem's `{EVENT.ID}`), so
 * both fold into one ticket and a recovery resolves it.
 */
export function problemTicket(
  config: ZabbixConfig,
  source: string,
  facts: ProblemFacts,
): { ticket: TicketInput; warnings: string[] } {
  const warnings: string[] = [];
  let severity = severityOf(config, facts.severity);
  if (!severity) {
    severity = config.mapping.severities["3"];
    warnings.push(`problem ${facts.eventId}: unknown Zabbix severity, used ${severity}`);
  }
  const host = facts.hosts[0];
  const hostName = host ? host.name || host.host : undefined;
  const tags = facts.tags.map((t) => ({ tag: clip(t.tag, 255), value: clip(t.value, 255) }));
  const labels: Record<string, string> = {};
  for (const t of tags) if (!(t.tag in labels)) labels[t.tag] = t.value;
  const component = tagValue(tags, config.mapping.component);
  const started = iso(facts.clock);
  const severityName =
    facts.severity !== undefined
      ? (zabbixSeverityNames[facts.severity] ?? String(facts.severity))
      : "unknown";

  const lines = [
    `Zabbix problem: ${facts.name}`,
    hostName ? `Host: ${hostName}${host?.name && host.name !== host.host ? ` (${host.host})` : ""}` : "",
    facts.hosts.length > 1
      ? `Other hosts: ${facts.hosts
          .slice(1)
          .map((h) => h.host)
          .join(", ")}`
      : "",
    facts.hostIp ? `Host IP: ${facts.hostIp}` : "",
    `Severity: ${severityName}`,
    facts.opdata ? `Operational data: ${facts.opdata}` : "",
    started ? `Started: ${started}` : "",
    tags.length > 0 ? `Tags: ${tags.map((t) => (t.value ? `${t.tag}:${t.value}` : t.tag)).join(", ")}` : "",
    facts.message ? `\n${facts.message}` : "",
  ].filter((l) => l !== "");

  const ticket: TicketInput = {
    title: clip(facts.name.trim() || `Zabbix problem ${facts.eventId}`, 500),
    description: clip(lines.join("\n"), 20_000),
    severity,
    environment: clip(tagValue(tags, config.mapping.environment) ?? "", 64),
    service: clip(tagValue(tags, config.mapping.service) ?? component ?? "", 128),
    source,
    externalId: facts.eventId,
    fingerprint: facts.eventId,
    resolved: facts.resolved,
    metaData: {
      eventId: facts.eventId,
      triggerId: facts.triggerId ?? null,
      zabbixSeverity: facts.severity ?? null,
      zabbixSeverityName: severityName,
      ...(hostName ? { host: hostName } : {}),
      hosts: facts.hosts.map((h) => ({ hostid: h.hostid ?? null, host: h.host, name: h.name ?? h.host })),
      ...(facts.hostIp ? { ip: facts.hostIp } : {}),
      ...(component ? { component } : {}),
      tags,
      labels,
      startedAt: started,
      recoveryEventId: facts.recoveryEventId ?? null,
      acknowledged: facts.acknowledged ?? null,
      suppressed: facts.suppressed ?? null,
      opdata: facts.opdata ?? null,
      link: problemLink(facts.frontendUrl, facts),
      via: facts.via,
    },
  };
  return { ticket, warnings };
}
