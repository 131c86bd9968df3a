/**
 * The egress policy: only the connection's origin and its allowlist may be called, and link-local
 * or cloud metadata addresses are refused unless the connection allows them — checked on the URL
 * before sending and again on every address DNS returns (so a name cannot rebind to them).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { BlockList, isIP } from "node:net";
import { rwError } from "@runwarden/core";

const METADATA_NAMES = new Set([
  "metadata.google.internal",
  "metadata.goog",
  "metadata",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.azure.internal",
]);

const blocked = new BlockList();
blocked.addSubnet("169.254.0.0", 16, "ipv4"); // link-local, AWS/GCP/Azure/OpenStack metadata
blocked.addAddress("100.100.100.200", "ipv4"); // Alibaba Cloud metadata
blocked.addSubnet("fe80::", 10, "ipv6"); // link-local
blocked.addAddress("fd00:ec2::254", "ipv6"); // AWS metadata over IPv6

/** True for a link-local or metadata address (IPv4-mapped IPv6 included). */
export function isBlockedAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1]!, "ipv4");
  const family = isIP(address);
  if (family === 0) return false;
  return blocked.check(address, family === 4 ? "ipv4" : "ipv6");
}

/** Strips IPv6 brackets from a URL hostname. */
export function bareHost(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

export function isMetadataHost(hostname: string): boolean {
  const host = bareHost(hostname).toLowerCase().replace(/\.$/, "");
  return METADATA_NAMES.has(host) || isBlockedAddress(host);
}

function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  if (p.startsWith("*.")) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
  return p === host;
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { "http:": "80", "https:": "443" };

/** The port a URL connects to: its explicit port, else its scheme's default. */
function effectivePort(url: URL): string {
  return url.port || DEFAULT_PORTS[url.protocol] || "";
}

/**
 * One `allowed_hosts` entry against a URL's origin. `host` and `*.domain` allow http and https on
 * their default ports (80, 443); `host:port` that port; `scheme://host[:port]` exactly that origin.
 */
function entryMatches(entry: string, url: URL, host: string): boolean {
  let rest = entry.trim().toLowerCase();
  let scheme: string | undefined;
  const schemed = /^([a-z][a-z0-9+.-]*):\/\//.exec(rest);
  if (schemed) {
    scheme = `${schemed[1]}:`;
    rest = rest.slice(schemed[0].length).replace(/\/+$/, "");
  }
  let pattern = rest;
  let port: string | undefined;
  const bracketed = /^(\[[^\]]+\])(?::(\d+))?$/.exec(rest);
  if (bracketed) {
    pattern = bracketed[1]!;
    port = bracketed[2];
  } else {
    const withPort = /^([^:]+):(\d+)$/.exec(rest);
    if (withPort) {
      pattern = withPort[1]!;
      port = withPort[2];
    }
  }
  if (scheme !== undefined && url.protocol !== scheme) return false;
  const urlPort = effectivePort(url);
  if (port !== undefined) {
    if (String(Number(port)) !== urlPort) return false;
  } else if (urlPort !== (DEFAULT_PORTS[scheme ?? url.protocol] ?? "")) return false;
  return hostMatches(bareHost(pattern), host);
}

export interface EgressPolicy {
  /** The connection's own origin (`https://api.example.com:8443`): credentials go only there. */
  home: string | undefined;
  allowed: readonly string[];
  allowLinkLocal: boolean;
}

/** True when `url` is the connection's own origin: scheme, host and port. */
export function isHome(url: URL, policy: Pick<EgressPolicy, "home">): boolean {
  return policy.home !== undefined && url.origin === policy.home;
}

/**
 * Throws RW_ERR_CONNECTOR_REJECTED when `url` may not be called under `policy`: the whole origin
 * (scheme, host and port) must be the connection's own or match an `allowed_hosts` entry.
 */
export function checkEgress(url: URL, policy: EgressPolicy, what = "request"): void {
  const host = bareHost(url.hostname).toLowerCase();
  const allowed = isHome(url, policy) || policy.allowed.some((entry) => entryMatches(entry, url, host));
  if (!allowed) {
    throw rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      `egress policy refused the ${what} to ${url.origin}: only the connection's own origin (scheme, host and port) and its allowed_hosts may be called`,
      {
        details: { reason: "egress", host, origin: url.origin },
      },
    );
  }
  if (!policy.allowLinkLocal && isMetadataHost(host)) {
    throw rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      `egress policy refused the ${what} to ${host}: link-local and metadata addresses need allow_link_local`,
      {
        details: { reason: "egress", host, linkLocal: true },
      },
    );
  }
}

/** Marks a DNS answer refused by the policy, so the error can be mapped to REJECTED. */
export const EGRESS_ERROR_CODE = "ERR_RUNWARDEN_EGRESS";

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A `dns.lookup` that refuses link-local and metadata addresses (for undici's connector). */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options }, (error, address, family) => {
    if (error) return callback(error, "", 0);
    const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
    const bad = addresses.find(isBlockedAddress);
    if (bad) {
      const refused = Object.assign(new Error(`${hostname} resolves to a link-local or metadata address`), {
        code: EGRESS_ERROR_CODE,
        address: bad,
      });
      return callback(refused, "", 0);
    }
    callback(null, address as string | LookupAddress[], family);
  });
}
