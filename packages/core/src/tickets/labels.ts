/**
 * Labels and tags as evidence: what every monitoring source's key/value pairs (Alertmanager
 * labels, Datadog tags, Zabbix tags, a mapped generic body's `labels`) say about a ticket's
 * severity, service and affected hosts. Connectors map their payloads with these, and the
 * analyzer reads a ticket's `metaData.labels` / `metaData.tags` with them, so a host named only
 * in a label still reaches the ticket's detected entities.
 */
import { isIP } from "node:net";
import { normalizeSeverity } from "../analyzer/normalize.js";
import type { TicketSeverity } from "../domain.js";

/** Label keys read for the severity, in order: the first whose value is a known severity wins. */
export const severityLabelKeys: readonly string[] = [
  "severity",
  "priority",
  "level",
  "alert_severity",
  "alert_priority",
  "urgency",
  "criticality",
  "impact",
  "event_severity",
];

/** Label keys naming the service, in order of preference; `job` is read only after them. */
export const serviceLabelKeys: readonly string[] = [
  "service",
  "service_name",
  "app",
  "app.kubernetes.io/name",
  "app_kubernetes_io_name",
  "application",
  "k8s-app",
  "container",
  "deployment",
  "statefulset",
  "daemonset",
  "component",
];

/** Label keys naming the affected host, node, pod or address. */
export const hostLabelKeys: readonly string[] = [
  "instance",
  "host",
  "hostname",
  "host_name",
  "node",
  "nodename",
  "kubernetes_node",
  "pod",
  "ip",
  "host_ip",
  "address",
];

/**
 * `job` values that name a Prometheus exporter or service discovery (what collected the metric),
 * not the service that is failing: `service` falls back to `job` only when it is none of these.
 * Self-scraping jobs (`prometheus`, `alertmanager`) do name their service and are not listed.
 */
const exporterJobs: ReadonlySet<string> = new Set([
  "node",
  "node-exporter",
  "node_exporter",
  "kube-state-metrics",
  "cadvisor",
  "kubernetes-nodes",
  "kubernetes-pods",
  "kubernetes-cadvisor",
  "kubernetes-service-endpoints",
  "blackbox",
  "blackbox-exporter",
  "blackbox_exporter",
  "pushgateway",
  "snmp",
  "windows",
  "windows-exporter",
  "process-exporter",
  "federate",
]);

/** Whether a `job` label value names an exporter (`node`, `kube-state-metrics`, `*-exporter`). */
export function isExporterJob(job: string): boolean {
  const value = job.trim().toLowerCase();
  return (
    exporterJobs.has(value) ||
    /(?:^|[-_])exporter$/.test(value) ||
    /^(?:probe|blackbox)[-_]/.test(value) ||
    /(?:^|[-_])kube-state-metrics$/.test(value)
  );
}

/** Labels as a flat record of non-empty, trimmed string values (numbers and booleans as text). */
export type Labels = Readonly<Record<string, string>>;

/**
 * The labels of a record whose values may be anything: strings, numbers and booleans kept as
 * trimmed text, everything else dropped. Keys are compared as given.
 */
export function toLabels(record: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (record === null || typeof record !== "object" || Array.isArray(record)) return out;
  for (const [key, value] of Object.entries(record as Record<string, unknown>)) {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      const text = String(value).trim();
      if (text !== "") out[key] = text;
    }
  }
  return out;
}

/**
 * Tags as `key:value` strings (Datadog `env:prod,host:web-01`, a list or a comma string) or
 * `{ tag, value }` objects (Zabbix) → labels. A tag without a value is left out; the first value
 * of a repeated key wins.
 */
export function tagsToLabels(tags: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const list = typeof tags === "string" ? tags.split(",") : Array.isArray(tags) ? tags : [];
  for (const item of list.slice(0, 500)) {
    let key: string | undefined;
    let value: string | undefined;
    if (typeof item === "string") {
      const colon = item.indexOf(":");
      if (colon > 0) {
        key = item.slice(0, colon).trim();
        value = item.slice(colon + 1).trim();
      }
    } else if (item !== null && typeof item === "object") {
      const tag = item as { tag?: unknown; key?: unknown; name?: unknown; value?: unknown };
      const name = tag.tag ?? tag.key ?? tag.name;
      if (typeof name === "string" && (typeof tag.value === "string" || typeof tag.value === "number")) {
        key = name.trim();
        value = String(tag.value).trim();
      }
    }
    if (key && value && !(key in out)) out[key] = value;
  }
  return out;
}

function lookup(labels: Labels, key: string): string | undefined {
  const exact = labels[key];
  if (exact !== undefined) return exact.trim() || undefined;
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(labels)) if (k.toLowerCase() === lower) return v.trim() || undefined;
  return undefined;
}

/** A severity read from labels, and which label said so. */
export interface LabelSeverity {
  /** The severity the label mapped to. */
  severity: TicketSeverity;
  /** The label key that gave it. */
  label: string;
  /** Its value as the source wrote it. */
  value: string;
}

/**
 * The severity the labels give: each key of `keys` in order, its value through
 * `normalizeSeverity` (Zabbix `not classified…disaster`, `P1…P5`, `sev-2`, `critical/error/
 * warning/info`) and then `extra` (a connector's own spellings, keys lower-case). An unknown value
 * does not stop the search: `severity=bogus, priority=P2` is high. Undefined when none is known;
 * `unknown` lists the values that were not understood.
 *
 * @example
 * severityFromLabels({ severity: "disaster", priority: "P2" }); // { severity: "critical", label: "severity", … }
 */
export function severityFromLabels(
  labels: Labels,
  options: {
    keys?: readonly string[];
    extra?: Readonly<Record<string, TicketSeverity>>;
    /** Receives each label whose value was not understood. */
    unknown?: { label: string; value: string }[];
  } = {},
): LabelSeverity | undefined {
  for (const key of options.keys ?? severityLabelKeys) {
    const value = lookup(labels, key);
    if (value === undefined) continue;
    const lower = value.toLowerCase().replace(/\s+/g, " ");
    const severity = options.extra?.[lower] ?? normalizeSeverity(value);
    if (severity) return { severity, label: key, value };
    options.unknown?.push({ label: key, value: value.slice(0, 40) });
  }
  return undefined;
}

/**
 * The service the labels name: the first of `keys` (`service`, `app`, `app.kubernetes.io/name`,
 * `container`, `deployment`, …), else `job`; a value that names an exporter (`node`,
 * `kube-state-metrics`, `blackbox`: what scraped the metric, not what is failing) is skipped
 * wherever it appears. Undefined when none does.
 */
export function serviceFromLabels(
  labels: Labels,
  keys: readonly string[] = serviceLabelKeys,
): string | undefined {
  for (const key of keys) {
    const value = lookup(labels, key);
    if (value !== undefined && !isExporterJob(value)) return value;
  }
  const job = lookup(labels, "job");
  return job !== undefined && !isExporterJob(job) ? job : undefined;
}

/**
 * `web-01:9100` → `web-01`, `[::1]:9100` → `::1`, `http://db.example.com:5432/x` → `db.example.com`,
 * `10.0.0.5:9100` → `10.0.0.5`; a bare IPv6 address is kept whole.
 */
export function hostOfAddress(address: string): string {
  const value = address.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      return new URL(value).hostname.replace(/^\[|\]$/g, "");
    } catch {
      // not a URL: read it as host[:port]
    }
  }
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed) return bracketed[1]!;
  if (isIP(value) === 6) return value;
  const colons = value.split(":").length - 1;
  return colons === 1 ? value.replace(/:\d*$/, "") : value;
}

const hostName = /^[a-z0-9](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9](?:[a-z0-9_-]{0,62}))*\.?$/i;

/** Hosts and IP addresses named by the labels' host keys (ports and URL parts dropped, lower-cased). */
export function entitiesFromLabels(
  labels: Labels,
  keys: readonly string[] = hostLabelKeys,
): { hosts: string[]; ips: string[] } {
  const hosts: string[] = [];
  const ips: string[] = [];
  for (const key of keys) {
    const value = lookup(labels, key);
    if (value === undefined || value.length > 253) continue;
    const host = hostOfAddress(value).toLowerCase().replace(/\.$/, "");
    if (!host) continue;
    if (isIP(host.split("%")[0] ?? "") !== 0) {
      if (!ips.includes(host)) ips.push(host);
    } else if (hostName.test(host) && !/^\d+$/.test(host) && !hosts.includes(host)) {
      hosts.push(host);
    }
  }
  return { hosts, ips };
}

/**
 * The labels a ticket's metadata carries, as connectors store them: `metaData.labels` (a record),
 * `metaData.tags` (Datadog `key:value` strings or Zabbix `{ tag, value }`), and the top-level
 * `host` / `instance` / `hostname` / `node` / `pod` / `ip` fields. For one key, `labels` wins over
 * `tags`, and `tags` over the top-level field.
 */
export function labelsOfMetaData(metaData: Readonly<Record<string, unknown>> | undefined): Labels {
  if (!metaData) return {};
  const top: Record<string, string> = {};
  for (const key of ["host", "instance", "hostname", "node", "pod", "ip"]) {
    const value = metaData[key];
    if (typeof value === "string" && value.trim() !== "") top[key] = value.trim();
  }
  return { ...top, ...tagsToLabels(metaData.tags), ...toLabels(metaData.labels) };
}
