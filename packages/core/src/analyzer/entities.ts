/**
 * extract: finds hostnames, IPv4/IPv6 addresses, service names, error codes (ECONNREFUSED,
 * ORA-12541, HTTP 503, MySQL's ERROR 1040, exit codes, Java exceptions) and URLs in the title and
 * description. Heuristic and bounded: it reads at most the first 4,000 characters.
 */

import { isIPv6 } from "node:net";
import { constants } from "node:os";
import type { Entities } from "../domain.js";
import { entitiesFromLabels, labelsOfMetaData } from "../tickets/labels.js";
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
/** Cloud regions and zones (`us-east-1`, `eu-west-2`, `us-east-1a`) look like host names but are not. */
const cloudRegion =
  /^(?:us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso)-(?:north|south|east|west|central|northeast|southeast|northwest|southwest)-\d{1,2}[a-z]?$/;
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
let shortestSoftware = Number.POSITIVE_INFINITY;
let longestSoftware = 0;
for (const name of knownSoftware) {
  shortestSoftware = Math.min(shortestSoftware, name.length);
  longestSoftware = Math.max(longestSoftware, name.length);
}

const isLowerLetter = (code: number) => code >= 97 && code <= 122;
const isLowerAlnum = (code: number) => isLowerLetter(code) || (code >= 48 && code <= 57);

/**
 * Adds the known software named in lower-cased text: its words as `/[a-z][a-z0-9]*\/g` finds
 * them, scanned by hand so that only words of a known name's length are ever cut out.
 */
function addKnownSoftware(lower: string, services: Bag): void {
  const n = lower.length;
  let i = 0;
  while (i < n) {
    if (!isLowerLetter(lower.charCodeAt(i))) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < n && isLowerAlnum(lower.charCodeAt(end))) end++;
    const length = end - i;
    if (length >= shortestSoftware && length <= longestSoftware) {
      const word = lower.slice(i, end);
      if (knownSoftware.has(word)) services.add(word);
    }
    i = end;
  }
}

/** Replaces host names (web-prod-01, db.example.com) with spaces, so their words do not read as keywords. */
export function maskHosts(text: string): string {
  // Each pattern needs its separator (a "." before a letter, a "-" before a digit): text without
  // it is left as it is, unscanned.
  const masked = hasDotLetter(text)
    ? text.replace(fqdnPattern, (match, suffix: string) =>
        hostSuffixes.has(suffix.toLowerCase()) ? " " : match,
      )
    : text;
  return hasDashDigit(masked)
    ? masked.replace(bareHostPattern, (match) => (match.length >= 5 ? " " : match))
    : masked;
}

/**
 * The matches of a global pattern in text, as `text.matchAll(pattern)` finds them, without the copy
 * of the pattern and the iterator it makes. `lastIndex` is back at 0 when it returns.
 */
function matches(pattern: RegExp, text: string): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    out.push(m);
    if (m[0].length === 0) pattern.lastIndex++;
  }
  return out;
}

/** True when a "." is followed by a letter: every host name with a suffix has one. */
function hasDotLetter(text: string): boolean {
  for (let at = text.indexOf("."); at >= 0; at = text.indexOf(".", at + 1)) {
    const code = text.charCodeAt(at + 1) | 0x20;
    if (code >= 97 && code <= 122) return true;
  }
  return false;
}

/** True when a "-" is followed by a digit: every bare host name (web-prod-01) has one. */
function hasDashDigit(text: string): boolean {
  for (let at = text.indexOf("-"); at >= 0; at = text.indexOf("-", at + 1)) {
    const code = text.charCodeAt(at + 1);
    if (code >= 48 && code <= 57) return true;
  }
  return false;
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

  // Each pattern is run only when the text holds a string every match of it contains (a URL's
  // "://", a dotted name's ".", "ERROR "...): most tickets name few kinds of entity, and a
  // substring test costs far less than a regex pass. The entities found are the same.
  const lower = scan.toLowerCase();
  const hasDot = scan.includes(".");
  const hasDash = scan.includes("-");
  if (scan.includes("://"))
    for (const m of matches(urlPattern, scan)) urls.add(m[0].replace(/[.,;:!?]+$/, ""));
  if (hasDot) for (const m of matches(ipv4Pattern, scan)) ips.add(m[0]);
  if (scan.includes(":")) {
    for (const m of matches(ipv6Candidate, scan)) {
      const candidate = m[0];
      if ((candidate.match(/:/g)?.length ?? 0) >= 2 && isIPv6(candidate.split("%")[0] ?? ""))
        ips.add(candidate.toLowerCase());
    }
  }
  const withoutUrls = urls.values.length > 0 ? scan.replace(urlPattern, " ") : scan;
  if (hasDotLetter(withoutUrls)) {
    for (const m of matches(fqdnPattern, withoutUrls)) {
      const suffix = (m[1] ?? "").toLowerCase();
      if (hostSuffixes.has(suffix) && !/^\d+(?:\.\d+)+$/.test(m[0])) hosts.add(m[0].toLowerCase());
    }
  }
  if (hasDashDigit(withoutUrls)) {
    for (const m of matches(bareHostPattern, withoutUrls)) {
      const name = m[0].toLowerCase();
      // `sev-1`, `p-2`, `utf-8`: too short to be a host name.
      if (name.length >= 5 && !cloudRegion.test(name) && !hosts.values.some((h) => h.startsWith(`${name}.`)))
        hosts.add(name);
    }
  }

  if (scan.includes("E"))
    for (const m of matches(errnoPattern, scan)) if (errnoNames.has(m[0])) errorCodes.add(m[0]);
  if (hasDash) for (const m of matches(oraclePattern, scan)) errorCodes.add(m[0]);
  if (lower.includes("http") || lower.includes("status"))
    for (const m of matches(httpPattern, scan)) errorCodes.add(`HTTP ${m[1]}`);
  if (scan.includes("ERROR ")) for (const m of matches(mysqlPattern, scan)) errorCodes.add(`ERROR ${m[1]}`);
  if (scan.includes("SQLSTATE"))
    for (const m of matches(sqlStatePattern, scan)) errorCodes.add(`SQLSTATE ${m[1]}`);
  if (lower.includes("exit")) for (const m of matches(exitPattern, scan)) errorCodes.add(`exit ${m[1]}`);
  if (hasDot && (scan.includes("Error") || scan.includes("Exception")))
    for (const m of matches(exceptionPattern, scan)) errorCodes.add(m[0]);
  if (scan.includes("ERR_"))
    for (const m of matches(browserErrorPattern, scan)) errorCodes.add(m[0].replace(/^NET::/, ""));

  if (service) services.add(service.toLowerCase());
  if (lower.includes(".service"))
    for (const m of matches(systemdUnitPattern, scan)) services.add((m[1] ?? "").toLowerCase());
  if (hasDash) for (const m of matches(dashServicePattern, scan)) services.add(m[0].toLowerCase());
  addKnownSoftware(lower, services);

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
    const { title, description, service, metaData } = state.ticket;
    const found = extractEntities(description ? `${title}\n${description}` : title, service);
    // Labels and tags name the host on purpose: they come first, the text's guesses after.
    const labelled = entitiesFromLabels(labelsOfMetaData(metaData));
    if (labelled.hosts.length + labelled.ips.length > 0) {
      note(`labels name ${[...labelled.hosts, ...labelled.ips].slice(0, 5).join(", ")}`);
      found.hosts = merge(labelled.hosts, found.hosts);
      found.ips = merge(labelled.ips, found.ips);
    }
    state.entities = found;
    const e = state.entities;
    const counts = [
      [e.hosts.length, "host"],
      [e.ips.length, "IP"],
      [e.services.length, "service"],
      [e.errorCodes.length, "error code"],
      [e.urls.length, "URL"],
    ] as const;
    const kinds = counts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}${n === 1 ? "" : "s"}`);
    note(kinds.length > 0 ? `found ${kinds.join(", ")}` : "found no entities");
  },
};

/** `first` then the values of `rest` not already in it (case-insensitive), at most `maxPerKind`. */
function merge(first: readonly string[], rest: readonly string[]): string[] {
  const bag = new Bag();
  for (const value of [...first, ...rest]) bag.add(value);
  return bag.values;
}
