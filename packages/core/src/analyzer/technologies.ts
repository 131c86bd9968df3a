/**
 * The technology vocabulary of safe matching: which technologies a ticket names and which a runbook
 * is about, each in a conflict group. Two technologies of one group are alternatives (MySQL or
 * PostgreSQL, Nginx or Apache): a runbook about one is the wrong runbook for a ticket about the
 * other. Matching is on the raw lower-cased text (not stems), with word boundaries, one anchored
 * regular expression per word start.
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

/** Characters of a word for the technology boundaries: `[a-z0-9_]` of lower-cased text. */
const isWordCode = (code: number) => (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 95;

/**
 * One alternation with one capturing group per technology, anchored (sticky) where a word starts:
 * the group that matched says which. Matching `(?<![a-z0-9_])` + this at every position of a text,
 * as one global expression would, finds the same technologies; but a word start is found by a
 * character test, and only the aliases that begin with the word's first letter are tried there
 * (the others cannot match: every alias begins with a literal letter, checked below).
 */
interface StickyAliases {
  pattern: RegExp;
  /** Technology index by capturing group (group 1 is entry 0). */
  technology: number[];
}

const stickyByFirst: readonly (StickyAliases | null)[] = (() => {
  const firstCode = (alias: string): number => {
    const first = alias.charCodeAt(0);
    if (first < 97 || first > 122 || "?*+{".includes(alias[1] ?? "")) {
      throw new Error(`technology alias ${alias} must begin with a literal lower-case letter`);
    }
    return first;
  };
  const out: (StickyAliases | null)[] = [];
  for (let code = 0; code < 128; code++) {
    if (!isWordCode(code)) {
      out.push(null);
      continue;
    }
    const groups: string[] = [];
    const technology: number[] = [];
    technologies.forEach((t, i) => {
      const aliases = t.aliases.filter((alias) => firstCode(alias) === code);
      if (aliases.length === 0) return;
      groups.push(`(${aliases.join("|")})`);
      technology.push(i);
    });
    out.push(
      groups.length === 0
        ? null
        : { pattern: new RegExp(`(?:${groups.join("|")})(?![a-z0-9_])`, "y"), technology },
    );
  }
  return out;
})();

/** The technologies named in one lower-cased text, added to `mask` (before any yields). */
function namedIn(lower: string, mask: number): number {
  const n = lower.length;
  let i = 0;
  while (i < n) {
    const code = lower.charCodeAt(i);
    if (!isWordCode(code)) {
      i++;
      continue;
    }
    // A word starts at i (the character before it is not a word character).
    const sticky = stickyByFirst[code];
    if (sticky) {
      sticky.pattern.lastIndex = i;
      const m = sticky.pattern.exec(lower);
      if (m !== null) {
        for (let g = 1; g < m.length; g++) {
          if (m[g] !== undefined) {
            mask |= 1 << (sticky.technology[g - 1] as number);
            break;
          }
        }
        // Matched through its end, which no word character follows.
        i = sticky.pattern.lastIndex;
        continue;
      }
    }
    for (i++; i < n && isWordCode(lower.charCodeAt(i)); i++);
  }
  return mask;
}

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
    if (text) mask = namedIn(text.toLowerCase(), mask);
  }
  return withYields(mask);
}

/**
 * The technologies a ticket names, as `technologyMask([title, description, service, ...labels])`
 * with the title and description given already lower-cased.
 */
export function ticketTechnologies(
  lowerTitle: string,
  lowerDescription: string,
  service: string,
  labels: readonly string[] | undefined,
): number {
  let mask = namedIn(lowerDescription, namedIn(lowerTitle, 0));
  if (service) mask = namedIn(service.toLowerCase(), mask);
  if (labels) for (const label of labels) if (label) mask = namedIn(label.toLowerCase(), mask);
  return withYields(mask);
}

/** Drops a generic technology that yields to a more specific one also named. */
function withYields(mask: number): number {
  for (const { bit, to } of yields) if (mask & to) mask &= ~bit;
  return mask;
}

/** Names by mask, as a veto shows them again and again (a few masks recur); bounded. */
const namesByMask = new Map<number, readonly string[]>();

/** The display names of the technologies of a mask, in table order. */
export function technologyNames(mask: number): string[] {
  let names = namesByMask.get(mask);
  if (names === undefined) {
    const list: string[] = [];
    for (let i = 0; i < technologies.length; i++) {
      if (mask & (1 << i)) list.push((technologies[i] as Technology).name);
    }
    if (namesByMask.size >= 1_024) namesByMask.clear();
    namesByMask.set(mask, list);
    names = list;
  }
  return names.slice();
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
