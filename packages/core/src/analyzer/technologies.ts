/**
 * The technology vocabulary of safe matching: which technologies a ticket names and which a runbook
 * is about, each in a conflict group. Two technologies of one group are alternatives (MySQL or
 * PostgreSQL, Nginx or Apache): a runbook about one is the wrong runbook for a ticket about the
 * other. Matching is on the raw lower-cased text (not stems), with word boundaries, in one pass of
 * one regular expression.
 */

/** A conflict group: technologies of one group are alternatives to each other. */
export type TechnologyGroup =
  | "datastore"
  | "web server"
  | "message queue"
  | "storage"
  | "runtime"
  | "os"
  | "cloud";

/** One technology: how it is shown and the words (regular-expression sources) that name it. */
export interface Technology {
  id: string;
  /** Shown in reasons ("MySQL"). */
  name: string;
  group: TechnologyGroup;
  /** Regular-expression sources matched at word boundaries of lower-cased text. */
  aliases: readonly string[];
  /** A more specific technology of the same group that, when also named, replaces this one. */
  yieldsTo?: string;
}

/** The vocabulary. At most 32 entries: each one is a bit of a mask. */
export const technologies: readonly Technology[] = Object.freeze([
  // Datastores: databases, caches and search engines a runbook restarts, repairs or tunes.
  {
    id: "postgresql",
    name: "PostgreSQL",
    group: "datastore",
    aliases: ["postgres(?:ql)?", "psql", "pg_[a-z_]+", "pgbouncer", "patroni"],
  },
  {
    id: "mysql",
    name: "MySQL",
    group: "datastore",
    aliases: ["mysql[a-z]*", "mariadbd?", "innodb", "galera"],
  },
  {
    id: "oracle",
    name: "Oracle Database",
    group: "datastore",
    aliases: ["oracle", "ora-\\d{5}", "sqlplus", "tnslsnr", "lsnrctl", "tnsping", "rman"],
  },
  {
    id: "mssql",
    name: "SQL Server",
    group: "datastore",
    aliases: ["mssql", "sql\\s*server", "ms\\s+sql", "sqlcmd", "mssqlserver"],
  },
  { id: "mongodb", name: "MongoDB", group: "datastore", aliases: ["mongo(?:db|d|sh)?"] },
  { id: "redis", name: "Redis", group: "datastore", aliases: ["redis(?:-cli|-server|-sentinel)?"] },
  { id: "memcached", name: "Memcached", group: "datastore", aliases: ["memcached?"] },
  { id: "cassandra", name: "Cassandra", group: "datastore", aliases: ["cassandra", "cqlsh", "nodetool"] },
  {
    id: "elasticsearch",
    name: "Elasticsearch",
    group: "datastore",
    aliases: ["elasticsearch", "opensearch"],
  },
  // Web servers and proxies.
  { id: "nginx", name: "Nginx", group: "web server", aliases: ["nginx"] },
  {
    id: "apache",
    name: "Apache httpd",
    group: "web server",
    // "Apache Kafka", "Apache Tomcat" … are other projects of the foundation.
    aliases: [
      "apache(?:2|ctl)?(?!\\s+(?:kafka|cassandra|tomcat|spark|zookeeper|activemq|flink|solr|hadoop|airflow|superset|pulsar))",
      "httpd",
      "a2enmod",
    ],
  },
  { id: "haproxy", name: "HAProxy", group: "web server", aliases: ["haproxy"] },
  { id: "iis", name: "IIS", group: "web server", aliases: ["iis", "w3wp", "iisreset", "appcmd"] },
  { id: "envoy", name: "Envoy", group: "web server", aliases: ["envoy"] },
  { id: "traefik", name: "Traefik", group: "web server", aliases: ["traefik"] },
  // Message queues.
  { id: "kafka", name: "Kafka", group: "message queue", aliases: ["kafka"] },
  { id: "rabbitmq", name: "RabbitMQ", group: "message queue", aliases: ["rabbitmq(?:ctl)?", "rabbit"] },
  { id: "activemq", name: "ActiveMQ", group: "message queue", aliases: ["activemq", "artemis"] },
  // Where the full disk is: the node's own filesystem or a Kubernetes volume.
  {
    id: "node-disk",
    name: "node disk",
    group: "storage",
    aliases: ["disk", "filesystem", "file\\s+system", "enospc", "no\\s+space\\s+left", "inodes?"],
    yieldsTo: "kubernetes-volume",
  },
  {
    id: "kubernetes-volume",
    name: "Kubernetes volume",
    group: "storage",
    aliases: [
      "pvcs?",
      "persistent\\s*volume(?:\\s*claim)?s?",
      "volume\\s*claims?",
      "kubelet_volume_stats_[a-z_]+",
    ],
  },
  // Application runtimes.
  {
    id: "jvm",
    name: "JVM",
    group: "runtime",
    aliases: ["java", "jvm", "jstack", "jmap", "jcmd", "outofmemoryerror", "tomcat", "spring\\s*boot"],
  },
  { id: "nodejs", name: "Node.js", group: "runtime", aliases: ["node\\.?js", "npm", "pm2", "v8"] },
  { id: "python", name: "Python", group: "runtime", aliases: ["python3?", "gunicorn", "uwsgi", "celery"] },
  // Operating systems.
  {
    id: "windows",
    name: "Windows",
    group: "os",
    aliases: ["windows", "powershell", "win32", "event\\s+viewer"],
  },
  {
    id: "linux",
    name: "Linux",
    group: "os",
    aliases: ["linux", "systemctl", "systemd", "journalctl", "ubuntu", "debian", "rhel", "centos"],
  },
  // Cloud providers.
  { id: "aws", name: "AWS", group: "cloud", aliases: ["aws", "ec2", "rds", "amazon"] },
  { id: "azure", name: "Azure", group: "cloud", aliases: ["azure"] },
  { id: "gcp", name: "Google Cloud", group: "cloud", aliases: ["gcp", "gce", "google\\s+cloud"] },
] satisfies Technology[]);

/** One alternation with one capturing group per technology: the group that matched says which. */
const pattern = new RegExp(
  `(?<![a-z0-9_])(?:${technologies.map((t) => `(${t.aliases.join("|")})`).join("|")})(?![a-z0-9_])`,
  "g",
);

/**
 * Groups of products a runbook acts on (a database, a web server, a queue, a runtime), as opposed
 * to where or on what they run (storage, OS, cloud): a runbook about one of these products runs
 * only for a ticket that names it.
 */
const productGroups: ReadonlySet<TechnologyGroup> = new Set([
  "datastore",
  "web server",
  "message queue",
  "runtime",
]);
const productMask = technologies.reduce(
  (mask, t, i) => (productGroups.has(t.group) ? mask | (1 << i) : mask),
  0,
);

/** The bits of every technology of a group, per group. */
const groupMasks: ReadonlyMap<TechnologyGroup, number> = (() => {
  const masks = new Map<TechnologyGroup, number>();
  technologies.forEach((t, i) => {
    masks.set(t.group, (masks.get(t.group) ?? 0) | (1 << i));
  });
  return masks;
})();
const groupMaskList: readonly number[] = [...groupMasks.values()];

/** Bits of technologies that yield to another, and the other's bit. */
const yields: readonly { bit: number; to: number }[] = technologies.flatMap((t, i) => {
  const to = t.yieldsTo ? technologies.findIndex((o) => o.id === t.yieldsTo) : -1;
  return to >= 0 ? [{ bit: 1 << i, to: 1 << to }] : [];
});

/**
 * The technologies named by some texts, as a bit mask over `technologies` (bit i = entry i). A
 * generic technology that yields to a more specific one also named (disk → Kubernetes volume) is
 * dropped.
 */
export function technologyMask(texts: readonly string[]): number {
  let mask = 0;
  for (const text of texts) {
    if (!text) continue;
    pattern.lastIndex = 0;
    const lower = text.toLowerCase();
    for (let m = pattern.exec(lower); m !== null; m = pattern.exec(lower)) {
      for (let i = 1; i < m.length; i++) {
        if (m[i] !== undefined) {
          mask |= 1 << (i - 1);
          break;
        }
      }
    }
  }
  for (const { bit, to } of yields) if (mask & to) mask &= ~bit;
  return mask;
}

/** The display names of the technologies of a mask, in table order. */
export function technologyNames(mask: number): string[] {
  const names: string[] = [];
  technologies.forEach((t, i) => {
    if (mask & (1 << i)) names.push(t.name);
  });
  return names;
}

/** The technology ids of a mask, in table order. */
export function technologyIds(mask: number): string[] {
  const ids: string[] = [];
  technologies.forEach((t, i) => {
    if (mask & (1 << i)) ids.push(t.id);
  });
  return ids;
}

/**
 * Where a ticket's technologies conflict with a runbook's: for each group in which both name a
 * technology but none in common, the ticket's and the runbook's technologies of that group. Empty
 * when there is no conflict.
 */
export function technologyConflicts(ticket: number, runbook: number): { ticket: number; runbook: number }[] {
  const out: { ticket: number; runbook: number }[] = [];
  for (const group of groupMaskList) {
    const t = ticket & group;
    const r = runbook & group;
    if (t !== 0 && r !== 0 && (t & r) === 0) out.push({ ticket: t, runbook: r });
  }
  return out;
}

/**
 * The products (databases, web servers, queues, runtimes) a runbook's subject (its title and
 * keywords) names when the ticket names none of them, or 0: such a runbook is not shown to be
 * about this ticket.
 */
export function unnamedProducts(ticket: number, subject: number): number {
  const products = subject & productMask;
  return products !== 0 && (ticket & products) === 0 ? products : 0;
}

/**
 * True when the runbook is about another technology than the ticket's: a group in conflict, or
 * products its subject names that the ticket does not (the hot-path form of the two above).
 */
export function technologyMismatch(ticket: number, runbook: number, subject: number): boolean {
  if (unnamedProducts(ticket, subject) !== 0) return true;
  for (const group of groupMaskList) {
    const t = ticket & group;
    const r = runbook & group;
    if (t !== 0 && r !== 0 && (t & r) === 0) return true;
  }
  return false;
}
