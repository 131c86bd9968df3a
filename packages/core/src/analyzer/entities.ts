/**
 * extract: finds hostnames, IPv4/IPv6 addresses, service names, error codes (ECONNREFUSED,
 * ORA-12541, HTTP 503, MySQL's ERROR 1040, exit codes, Java exceptions) and URLs in the title and
 * description. Heuristic and bounded: it reads at most the first 4,000 characters.
 */

import { isIPv6 } from "node:net";
import { constants } from "node:os";
import type { Entities } from "../domain.js";
import type { AnalyzerStage } from "./stage.js";

/** How much text is scanned: a 20,000-character description cannot make analysis slow. */
const maxScan = 4_000;
/** At most this many entities of each kind are kept. */
const maxPerKind = 20;

const errnoNames: ReadonlySet<string> = new Set(Object.keys(constants.errno));

const urlPattern = /\bhttps?:\/\/[^\s"'<>`)\]]+/gi;
const ipv4Pattern =
  /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)/g;
const ipv6Candidate = /(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:%\w+)?(?![\w:])/gi;
/** host.example.com, db-prod-01.internal: the last label must be a known top-level or internal suffix. */
const fqdnPattern = /\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,8}([a-z]{2,24})\b(?![.-]?\w)/gi;
/** Bare names that follow the usual host naming: web-prod-01, ci-agent-07, db01. */
const bareHostPattern = /\b[a-z][a-z0-9]{0,30}(?:-[a-z0-9]{1,30}){0,6}-\d{1,4}[a-z]?\b/gi;
const hostSuffixes: ReadonlySet<string> = new Set(
  (
    "com net org io dev app ai co cloud biz info me us uk de fr nl eu ca au jp in ch se no es it pl br " +
    "internal local lan corp intra intranet home localdomain example test invalid localhost svc cluster"
  ).split(" "),
);

const errnoPattern = /\bE[A-Z0-9]{3,15}\b/g;
const oraclePattern = /\b(?:ORA|TNS|PLS|IMP|EXP|RMAN)-\d{5}\b/g;
const httpPattern = /\b(?:HTTP(?:\/\d(?:\.\d)?)?[ :/]*|status ?code:? ?|statuscode:? ?)([1-5]\d\d)\b/gi;
const mysqlPattern = /\bERROR (\d{4}) \(([0-9A-Z]{5})\)/g;
const exitPattern = /\bexit(?:ed with)? (?:code|status)[ =:]*(\d{1,3})\b/gi;
const exceptionPattern = /\b(?:[a-z_][a-z0-9_]*\.)+[A-Z]\w*(?:Error|Exception)\b/g;
const browserErrorPattern = /\b(?:NET::)?ERR_[A-Z_]{3,}\b/g;
const sqlStatePattern = /\bSQLSTATE\[?([0-9A-Z]{5})\]?/g;

const systemdUnitPattern = /\b([a-z][a-z0-9_-]*)\.service\b/gi;
const dashServicePattern = /\b([a-z][a-z0-9]*(?:-[a-z0-9]+)*)-(?:service|svc|worker|api|server|daemon)\b/gi;
const knownSoftware: ReadonlySet<string> = new Set(
  (
    "postgresql postgres mysql mariadb oracle mssql sqlserver redis memcached mongodb cassandra elasticsearch " +
    "opensearch kafka rabbitmq zookeeper etcd consul vault nginx apache httpd haproxy envoy traefik tomcat jenkins " +
    "grafana prometheus alertmanager kubernetes kubelet docker containerd systemd sshd cron clickhouse influxdb " +
    "minio ceph nfs samba bind dnsmasq keycloak gitlab"
  ).split(" "),
);
const wordPattern = /[a-z][a-z0-9]*/g;

/** Replaces host names (web-prod-01, db.example.com) with spaces, so their words do not read as keywords. */
export function maskHosts(text: string): string {
  return text
    .replace(fqdnPattern, (match, suffix: string) => (hostSuffixes.has(suffix.toLowerCase()) ? " " : match))
    .replace(bareHostPattern, (match) => (match.length >= 5 ? " " : match));
}

class Bag {
  readonly values: string[] = [];
  private readonly seen = new Set<string>();
  add(value: string): void {
    const key = value.toLowerCase();
    if (this.seen.has(key) || this.values.length >= maxPerKind) return;
    this.seen.add(key);
    this.values.push(value);
  }
}

/** Extracts entities from free text (title and description joined). */
export function extractEntities(text: string, service = ""): Entities {
  const scan = text.length > maxScan ? text.slice(0, maxScan) : text;
  const hosts = new Bag();
  const ips = new Bag();
  const services = new Bag();
  const errorCodes = new Bag();
  const urls = new Bag();

  for (const m of scan.matchAll(urlPattern)) urls.add(m[0].replace(/[.,;:!?]+$/, ""));
  for (const m of scan.matchAll(ipv4Pattern)) ips.add(m[0]);
  if (scan.includes(":")) {
    for (const m of scan.matchAll(ipv6Candidate)) {
      const candidate = m[0];
      if ((candidate.match(/:/g)?.length ?? 0) >= 2 && isIPv6(candidate.split("%")[0] ?? ""))
        ips.add(candidate.toLowerCase());
    }
  }
  const withoutUrls = urls.values.length > 0 ? scan.replace(urlPattern, " ") : scan;
  for (const m of withoutUrls.matchAll(fqdnPattern)) {
    const suffix = (m[1] ?? "").toLowerCase();
    if (hostSuffixes.has(suffix) && !/^\d+(?:\.\d+)+$/.test(m[0])) hosts.add(m[0].toLowerCase());
  }
  for (const m of withoutUrls.matchAll(bareHostPattern)) {
    const name = m[0].toLowerCase();
    // `sev-1`, `p-2`, `utf-8`: too short to be a host name.
    if (name.length >= 5 && !hosts.values.some((h) => h.startsWith(`${name}.`))) hosts.add(name);
  }

  for (const m of scan.matchAll(errnoPattern)) if (errnoNames.has(m[0])) errorCodes.add(m[0]);
  for (const m of scan.matchAll(oraclePattern)) errorCodes.add(m[0]);
  for (const m of scan.matchAll(httpPattern)) errorCodes.add(`HTTP ${m[1]}`);
  for (const m of scan.matchAll(mysqlPattern)) errorCodes.add(`ERROR ${m[1]}`);
  for (const m of scan.matchAll(sqlStatePattern)) errorCodes.add(`SQLSTATE ${m[1]}`);
  for (const m of scan.matchAll(exitPattern)) errorCodes.add(`exit ${m[1]}`);
  for (const m of scan.matchAll(exceptionPattern)) errorCodes.add(m[0]);
  for (const m of scan.matchAll(browserErrorPattern)) errorCodes.add(m[0].replace(/^NET::/, ""));

  if (service) services.add(service.toLowerCase());
  for (const m of scan.matchAll(systemdUnitPattern)) services.add((m[1] ?? "").toLowerCase());
  for (const m of scan.matchAll(dashServicePattern)) services.add(m[0].toLowerCase());
  const lower = scan.toLowerCase();
  for (const m of lower.matchAll(wordPattern)) if (knownSoftware.has(m[0])) services.add(m[0]);

  return {
    hosts: hosts.values,
    ips: ips.values,
    services: services.values,
    errorCodes: errorCodes.values,
    urls: urls.values,
  };
}

export const extractStage: AnalyzerStage = {
  name: "extract",
  run(state, { note }) {
    const { title, description, service } = state.ticket;
    state.entities = extractEntities(description ? `${title}\n${description}` : title, service);
    const e = state.entities;
    const counts = [
      [e.hosts.length, "host"],
      [e.ips.length, "IP"],
      [e.services.length, "service"],
      [e.errorCodes.length, "error code"],
      [e.urls.length, "URL"],
    ] as const;
    const found = counts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}${n === 1 ? "" : "s"}`);
    note(found.length > 0 ? `found ${found.join(", ")}` : "found no entities");
  },
};
