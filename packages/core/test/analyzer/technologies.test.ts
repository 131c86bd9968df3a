import { describe, expect, it } from "vitest";
import { technologies, technologyMask, ticketTechnologies } from "../../src/analyzer/technologies.js";

/** The single global expression technologyMask used before it scanned word starts: the reference. */
const reference = new RegExp(
  `(?<![a-z0-9_])(?:${technologies.map((t) => `(${t.aliases.join("|")})`).join("|")})(?![a-z0-9_])`,
  "g",
);

function referenceMask(texts: readonly string[]): number {
  let mask = 0;
  for (const text of texts) {
    if (!text) continue;
    for (const m of text.toLowerCase().matchAll(reference)) {
      const group = m.findIndex((g, i) => i > 0 && g !== undefined);
      mask |= 1 << (group - 1);
    }
  }
  for (const [i, t] of technologies.entries()) {
    const to = t.yieldsTo ? technologies.findIndex((o) => o.id === t.yieldsTo) : -1;
    if (to >= 0 && mask & (1 << to)) mask &= ~(1 << i);
  }
  return mask;
}

/** Seeded texts built from alias-like words, their neighbours and separators (incl. non-ASCII). */
function texts(count: number): string[] {
  let seed = 0x7ec4;
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const words = [
    ...[
      "postgres",
      "PostgreSQL",
      "pg_stat_activity",
      "mysqld",
      "MariaDB",
      "ORA-12541",
      "ora-1254",
      "sql server",
    ],
    ...[
      "SQLServer",
      "ms  sql",
      "mongosh",
      "redis-cli",
      "redis-",
      "memcache",
      "nginx",
      "apache kafka",
      "apache2",
    ],
    ...[
      "Apache  Tomcat",
      "apachectl",
      "httpd",
      "iis",
      "kafka",
      "rabbit",
      "disk",
      "file system",
      "no space left",
    ],
    ...[
      "inodes",
      "pvcs",
      "persistent volume claims",
      "kubelet_volume_stats_used_bytes",
      "java",
      "spring boot",
    ],
    ...[
      "node.js",
      "nodejs",
      "v8",
      "python3",
      "windows",
      "event viewer",
      "linux",
      "aws",
      "ec2",
      "google cloud",
    ],
    ...["x", "db", "_", "9", "über", "naïve", "数据库", "a2enmod", "win32", "gcp", "postgresql_", "rds"],
  ];
  const separators = [" ", "-", ".", "_", "", "/", "\t", "é", ":", "(", "5"];
  return Array.from({ length: count }, () => {
    let text = "";
    for (let n = Math.floor(rand() * 12); n > 0; n--) {
      text += words[Math.floor(rand() * words.length)];
      text += separators[Math.floor(rand() * separators.length)];
    }
    return text;
  });
}

describe("technologyMask", () => {
  it("finds the same technologies as one global expression of every alias at word boundaries", () => {
    let named = 0;
    for (const text of texts(20_000)) {
      const mask = technologyMask([text]);
      expect([text, mask]).toEqual([text, referenceMask([text])]);
      if (mask !== 0) named++;
    }
    // Most texts name something, and not all: both paths are exercised.
    expect(named).toBeGreaterThan(10_000);
    expect(named).toBeLessThan(20_000);
  });

  it("reads a ticket's lower-cased title and description, service and labels as technologyMask does", () => {
    const all = texts(4_000);
    for (let i = 0; i + 3 < all.length; i += 4) {
      const [title, description, service, label] = all.slice(i, i + 4) as [string, string, string, string];
      expect(ticketTechnologies(title.toLowerCase(), description.toLowerCase(), service, [label, ""])).toBe(
        referenceMask([title, description, service, label]),
      );
    }
  });
});
