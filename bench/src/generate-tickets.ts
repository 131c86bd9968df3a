/**
 * Seeded generators of realistic tickets for the intake and matching rows: titles and
 * descriptions the way monitoring tools write them (host names, IPs, percentages, error codes),
 * spread over services, environments, severities and sources.
 */

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { pick } from "./harness.js";

interface Template {
  title: string;
  description: string;
  services: readonly string[];
}

const templates: readonly Template[] = [
  {
    title: "Database connection timeout on {host}",
    description: "Unable to connect to PostgreSQL at {ip}:5432 after {n}s; {svc}-api logs show ECONNREFUSED",
    services: ["database", "postgres"],
  },
  {
    title: "Too many connections on MySQL {host}",
    description: "ERROR 1040 (08004) Too many connections, max_connections={n} reached on {ip}",
    services: ["mysql"],
  },
  {
    title: "Disk usage above {pct}% on /var",
    description: "Filesystem /var on {host}.internal ({ip}) is {pct}% full, growing {n}GB/h",
    services: ["nginx", "worker", "elasticsearch"],
  },
  {
    title: "Disk full on {host}",
    description: "No space left on device (ENOSPC) writing to /tmp on {host}.internal",
    services: ["ci", "worker"],
  },
  {
    title: "Inode usage high on {host}",
    description: "df -i reports {pct}% of inodes used on {host}.internal ({ip})",
    services: ["worker"],
  },
  {
    title: "High CPU usage on {host}",
    description: "CPU at {pct}% for {n} minutes on {host}.internal ({ip}), HTTP 503 rate 3%",
    services: ["api", "search"],
  },
  {
    title: "CPU throttling on {svc} worker",
    description: "Container {svc}-worker throttled in {pct}% of CFS periods on node {ip}",
    services: ["worker"],
  },
  {
    title: "OOM kill on {svc} container",
    description: "Kernel OOM killer terminated pid {n} on {host}.internal ({ip}), RSS 3.9GiB of 4GiB",
    services: ["api", "worker"],
  },
  {
    title: "Memory usage high on {host}",
    description: "used_memory at {pct}% of maxmemory on {host}.internal, evictions started",
    services: ["redis"],
  },
  {
    title: "Java heap space errors in {svc}",
    description: "java.lang.OutOfMemoryError: Java heap space in {svc}-service on {host}.internal",
    services: ["reporting"],
  },
  {
    title: "TLS certificate expiring in {small} days",
    description: "Certificate for {svc}.example.com expires soon; served by nginx on {host}.internal",
    services: ["nginx"],
  },
  {
    title: "nginx service down on {host}",
    description: "Health check GET / returned HTTP 502 from {host}.internal ({ip}); nginx.service inactive",
    services: ["nginx"],
  },
  {
    title: "API returning 503 after deploy",
    description: "Readiness probe failed: HTTP probe failed with statuscode: 503; release v2.{small}.{n}",
    services: ["api"],
  },
  {
    title: "Worker service failed to start on {host}",
    description: "systemd: worker.service: Main process exited, code=exited, status=1/FAILURE",
    services: ["worker"],
  },
  {
    title: "PostgreSQL replication lag high",
    description: "Replica {host}.internal ({ip}) is {n}s behind primary; replay_lag rising",
    services: ["database"],
  },
  {
    title: "Slow response times on {svc} API",
    description: "Synthetic check reports p95 latency {small}.{small}s for GET /v1/orders",
    services: ["api"],
  },
  {
    title: "Printer on floor {small} offline",
    description: "HP LaserJet on floor {small} ({ip}) shows offline, paper tray jammed",
    services: ["printer"],
  },
  {
    title: "VPN account locked for user{n}",
    description: "User locked out of VPN after three failed logins",
    services: ["vpn"],
  },
];

const hostPrefixes = [
  "web-prod",
  "api-prod",
  "db-prod",
  "worker-prod",
  "ci-agent",
  "app-staging",
  "search-staging",
  "redis-prod",
  "log-prod",
];
const environments = ["prod", "prod", "prod", "staging", "dev"];
const severities = ["critical", "high", "high", "medium", "medium", "low", "info"];
const sources = ["prometheus", "datadog", "zabbix", "servicenow", "manual"];

export interface GeneratedTicket {
  title: string;
  description: string;
  severity: string;
  environment: string;
  service: string;
  source: string;
}

/** One realistic ticket; `i` keeps numbers varied between rows. */
export function generateTicket(rand: () => number, i: number): GeneratedTicket {
  const template = pick(rand, templates);
  const service = pick(rand, template.services);
  const host = `${pick(rand, hostPrefixes)}-${String(1 + Math.floor(rand() * 60)).padStart(2, "0")}`;
  const fill = (text: string) =>
    text
      .replaceAll("{host}", host)
      .replaceAll("{svc}", service)
      .replaceAll("{ip}", `10.0.${Math.floor(rand() * 255)}.${1 + Math.floor(rand() * 254)}`)
      .replaceAll("{pct}", String(80 + Math.floor(rand() * 20)))
      .replaceAll("{small}", String(1 + Math.floor(rand() * 9)))
      .replaceAll("{n}", String(10 + ((i * 7919) % 990)));
  return {
    title: fill(template.title),
    description: fill(template.description),
    severity: pick(rand, severities),
    environment: pick(rand, environments),
    service,
    source: pick(rand, sources),
  };
}

const quote = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

/** One CSV line (the connector guide's column order), newline included. */
export function ticketCsvLine(t: GeneratedTicket): string {
  return `${quote(t.title)},${quote(t.description)},${t.severity},${t.environment},${t.service},${t.source}\n`;
}

/** Writes a ticket CSV of `rows` data rows to `path`, streaming (flat memory). */
export async function writeTicketCsv(path: string, rows: number, rand: () => number): Promise<void> {
  const out = createWriteStream(path);
  out.write("title,description,severity,environment,service,source\n");
  let chunk = "";
  for (let i = 0; i < rows; i++) {
    chunk += ticketCsvLine(generateTicket(rand, i));
    if (chunk.length > 64 * 1024) {
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  out.end(chunk);
  await once(out, "finish");
}
