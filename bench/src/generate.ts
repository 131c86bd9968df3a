/**
 * Seeded generators of realistic inputs for the bench rows. Every generator takes the harness's
 * `seededRandom` function, so the same seed gives the same corpus on every machine.
 */
import { pick } from "./harness.js";

/**
 * A large runbook library is organised by problem × technology × service: a few hundred services
 * (product domains × roles), each with runbooks for the problems its technologies have.
 */
const domains = [
  "billing",
  "checkout",
  "payments",
  "orders",
  "inventory",
  "catalog",
  "search",
  "auth",
  "users",
  "notifications",
  "email",
  "sms",
  "reporting",
  "analytics",
  "ledger",
  "invoicing",
  "shipping",
  "pricing",
  "recommendations",
  "media",
  "uploads",
  "thumbnails",
  "chat",
  "feeds",
  "profiles",
  "sessions",
  "gateway",
  "cart",
  "coupons",
  "loyalty",
  "fraud",
  "risk",
  "kyc",
  "audit",
  "export",
  "import",
  "scheduler",
  "webhooks",
  "partners",
  "geo",
  "maps",
  "timeseries",
  "metrics",
  "logging",
];
const roles = ["api", "worker", "db", "cache", "consumer", "scheduler", "frontend"];
/** 308 services: billing-api, search-worker, ledger-db… */
export const benchServices: readonly string[] = domains.flatMap((d) => roles.map((r) => `${d}-${r}`));

interface Technology {
  name: string;
  /** Problems this technology has (keys of `problems`). */
  problems: readonly string[];
}

const technologies: readonly Technology[] = [
  { name: "postgresql", problems: ["conn", "repl", "slowq", "deadlock", "disk", "vacuum", "wal", "backup"] },
  { name: "mysql", problems: ["conn", "repl", "slowq", "deadlock", "disk", "backup", "binlog"] },
  { name: "mariadb", problems: ["conn", "repl", "slowq", "disk", "galera"] },
  { name: "redis", problems: ["mem", "evict", "repl", "conn", "latency", "persist"] },
  { name: "memcached", problems: ["mem", "evict", "conn"] },
  { name: "kafka", problems: ["lag", "disk", "isr", "leader", "conn"] },
  { name: "rabbitmq", problems: ["backlog", "mem", "conn", "partition"] },
  { name: "nginx", problems: ["5xx", "cert", "conn", "latency", "fd"] },
  { name: "haproxy", problems: ["5xx", "backend", "cert", "conn"] },
  { name: "envoy", problems: ["5xx", "latency", "cert", "backend"] },
  { name: "elasticsearch", problems: ["heap", "disk", "shards", "latency", "gc"] },
  { name: "opensearch", problems: ["heap", "disk", "shards"] },
  { name: "mongodb", problems: ["repl", "conn", "slowq", "disk", "mem"] },
  { name: "cassandra", problems: ["gc", "compaction", "disk", "latency"] },
  { name: "clickhouse", problems: ["mem", "disk", "merges", "slowq"] },
  { name: "zookeeper", problems: ["leader", "latency", "sessions"] },
  { name: "etcd", problems: ["leader", "disk", "latency"] },
  { name: "consul", problems: ["leader", "dns"] },
  { name: "kubernetes", problems: ["crashloop", "oom", "pending", "node", "dns", "evictpod"] },
  { name: "docker", problems: ["disk", "oom", "daemon"] },
  { name: "jvm", problems: ["heap", "gc", "threads", "oom"] },
  { name: "nodejs", problems: ["eventloop", "mem", "5xx", "crash"] },
  { name: "python", problems: ["mem", "workers", "5xx", "crash"] },
  { name: "celery", problems: ["backlog", "workers", "mem"] },
  { name: "sidekiq", problems: ["backlog", "workers", "retries"] },
  { name: "cron", problems: ["jobfail", "overlap"] },
  { name: "systemd", problems: ["unitfail", "restartloop"] },
  { name: "linux", problems: ["cpu", "load", "disk", "inode", "swap", "fd", "ntp", "oom"] },
  { name: "s3", problems: ["throttle", "errors", "latency"] },
  { name: "dns", problems: ["dns", "latency"] },
  { name: "vault", problems: ["sealed", "leader", "cert"] },
  { name: "keycloak", problems: ["auth", "latency", "heap"] },
  { name: "grpc", problems: ["deadline", "5xx", "conn"] },
  { name: "graphql", problems: ["latency", "errors"] },
];

interface Problem {
  titles: readonly string[];
  keywords: readonly string[];
  pattern: string;
}

/** Problems: title templates (`{t}` is the technology), match keywords, a title pattern. */
const problems: Readonly<Record<string, Problem>> = {
  conn: {
    titles: ["{t} connection timeout", "Too many connections on {t}", "{t} refusing connections"],
    keywords: [
      "connection timeout",
      "too many connections",
      "connection refused",
      "econnrefused",
      "max_connections",
    ],
    pattern: "[Cc]onnect",
  },
  repl: {
    titles: ["{t} replication lag", "{t} replica out of sync", "Replication broken on {t}"],
    keywords: ["replication lag", "replica", "replay_lag", "out of sync"],
    pattern: "[Rr]eplica",
  },
  slowq: {
    titles: ["Slow queries on {t}", "{t} query latency high"],
    keywords: ["slow query", "query latency", "long running query"],
    pattern: "[Qq]uer",
  },
  deadlock: {
    titles: ["Deadlocks on {t}", "{t} lock waits piling up"],
    keywords: ["deadlock", "lock wait", "blocked queries"],
    pattern: "[Ll]ock",
  },
  disk: {
    titles: ["Disk full on {t} host", "{t} disk usage high", "{t} volume almost full"],
    keywords: ["disk full", "disk usage", "no space left", "enospc", "volume full"],
    pattern: "[Dd]isk|[Vv]olume",
  },
  vacuum: {
    titles: ["{t} autovacuum falling behind", "{t} table bloat"],
    keywords: ["autovacuum", "bloat", "dead tuples", "wraparound"],
    pattern: "[Vv]acuum|[Bb]loat",
  },
  wal: {
    titles: ["{t} WAL archiving failing", "{t} WAL directory growing"],
    keywords: ["wal archive", "archive_command", "pg_wal"],
    pattern: "WAL",
  },
  backup: {
    titles: ["{t} backup failed", "{t} nightly dump missing"],
    keywords: ["backup failed", "pg_dump", "mysqldump", "snapshot failed"],
    pattern: "[Bb]ackup|[Dd]ump",
  },
  binlog: {
    titles: ["{t} binlog disk growth", "{t} binlog purge stuck"],
    keywords: ["binlog", "purge binary logs"],
    pattern: "binlog",
  },
  galera: {
    titles: ["{t} galera node desynced", "{t} cluster size dropped"],
    keywords: ["galera", "wsrep", "desync"],
    pattern: "[Gg]alera|wsrep",
  },
  mem: {
    titles: ["{t} memory usage high", "{t} running out of memory"],
    keywords: ["memory usage", "out of memory", "maxmemory", "rss"],
    pattern: "[Mm]emory",
  },
  evict: {
    titles: ["{t} evicting keys", "{t} eviction rate high"],
    keywords: ["evictions", "evicted keys", "maxmemory"],
    pattern: "[Ee]vict",
  },
  latency: {
    titles: ["{t} latency spike", "High latency on {t}", "{t} p99 latency above SLO"],
    keywords: ["latency", "p99", "slow response"],
    pattern: "[Ll]atency|p99",
  },
  persist: {
    titles: ["{t} RDB save failing", "{t} AOF rewrite stuck"],
    keywords: ["bgsave", "aof rewrite", "rdb"],
    pattern: "RDB|AOF",
  },
  lag: {
    titles: ["{t} consumer lag growing", "{t} consumer group behind"],
    keywords: ["consumer lag", "consumer group", "offset lag"],
    pattern: "[Ll]ag",
  },
  isr: {
    titles: ["{t} under-replicated partitions", "{t} ISR shrinking"],
    keywords: ["under replicated", "isr shrink", "offline partitions"],
    pattern: "ISR|[Uu]nder-replicated",
  },
  leader: {
    titles: ["{t} leader election storm", "{t} lost quorum"],
    keywords: ["leader election", "quorum", "no leader"],
    pattern: "[Ll]eader|[Qq]uorum",
  },
  backlog: {
    titles: ["{t} queue backlog growing", "{t} messages piling up"],
    keywords: ["queue backlog", "queue depth", "unacked messages"],
    pattern: "[Bb]acklog|[Qq]ueue",
  },
  partition: {
    titles: ["{t} network partition detected", "{t} cluster partitioned"],
    keywords: ["network partition", "split brain"],
    pattern: "[Pp]artition",
  },
  "5xx": {
    titles: ["{t} returning 5xx", "HTTP 502 from {t}", "{t} 503 errors rising"],
    keywords: ["5xx", "http 502", "http 503", "bad gateway", "error rate"],
    pattern: "5\\d\\d|5xx",
  },
  cert: {
    titles: ["{t} TLS certificate expiring", "{t} certificate expired"],
    keywords: ["certificate", "tls", "x509", "expiring"],
    pattern: "[Cc]ert",
  },
  fd: {
    titles: ["Too many open files on {t}", "{t} file descriptors exhausted"],
    keywords: ["too many open files", "emfile", "ulimit", "file descriptors"],
    pattern: "[Oo]pen files|[Dd]escriptor",
  },
  backend: {
    titles: ["{t} backend down", "{t} no healthy upstream"],
    keywords: ["backend down", "no healthy upstream", "upstream"],
    pattern: "[Bb]ackend|[Uu]pstream",
  },
  heap: {
    titles: ["{t} heap usage high", "{t} heap space errors"],
    keywords: ["heap", "outofmemoryerror", "java heap space"],
    pattern: "[Hh]eap",
  },
  shards: {
    titles: ["{t} unassigned shards", "{t} cluster status red"],
    keywords: ["unassigned shards", "cluster red", "shard allocation"],
    pattern: "[Ss]hard|red",
  },
  gc: {
    titles: ["{t} long GC pauses", "{t} garbage collection overhead"],
    keywords: ["gc pause", "garbage collection", "gc overhead"],
    pattern: "GC|[Gg]arbage",
  },
  compaction: {
    titles: ["{t} compactions pending", "{t} compaction backlog"],
    keywords: ["compaction", "pending compactions", "sstables"],
    pattern: "[Cc]ompaction",
  },
  merges: {
    titles: ["{t} too many parts", "{t} merges falling behind"],
    keywords: ["too many parts", "merges", "parts"],
    pattern: "[Mm]erge|parts",
  },
  sessions: {
    titles: ["{t} session expirations", "{t} clients disconnecting"],
    keywords: ["session expired", "disconnects"],
    pattern: "[Ss]ession",
  },
  dns: {
    titles: ["DNS resolution failing on {t}", "{t} NXDOMAIN spikes"],
    keywords: ["dns", "nxdomain", "resolution failed", "eai_again"],
    pattern: "DNS|NXDOMAIN",
  },
  crashloop: {
    titles: ["{t} pod in CrashLoopBackOff", "{t} pods restarting"],
    keywords: ["crashloopbackoff", "pod restarts", "back-off restarting"],
    pattern: "[Cc]rash|[Rr]estart",
  },
  oom: {
    titles: ["OOM kill on {t}", "{t} container OOMKilled"],
    keywords: ["oom", "oomkilled", "oom killer", "exit 137"],
    pattern: "OOM",
  },
  pending: {
    titles: ["{t} pods pending", "{t} pods unschedulable"],
    keywords: ["pending", "unschedulable", "insufficient cpu"],
    pattern: "[Pp]ending|[Uu]nschedulable",
  },
  node: {
    titles: ["{t} node NotReady", "{t} node pressure"],
    keywords: ["notready", "node pressure", "kubelet"],
    pattern: "[Nn]ode",
  },
  evictpod: {
    titles: ["{t} pods evicted", "{t} disk pressure evictions"],
    keywords: ["evicted", "disk pressure", "ephemeral storage"],
    pattern: "[Ee]vict",
  },
  daemon: {
    titles: ["{t} daemon unresponsive", "{t} daemon restarting"],
    keywords: ["dockerd", "daemon", "containerd"],
    pattern: "[Dd]aemon",
  },
  threads: {
    titles: ["{t} thread pool exhausted", "{t} threads blocked"],
    keywords: ["thread pool", "blocked threads", "thread dump"],
    pattern: "[Tt]hread",
  },
  eventloop: {
    titles: ["{t} event loop lag", "{t} event loop blocked"],
    keywords: ["event loop", "loop lag", "blocked"],
    pattern: "[Ee]vent loop",
  },
  crash: {
    titles: ["{t} process crashed", "{t} segfault"],
    keywords: ["crash", "segfault", "core dump", "unhandled exception"],
    pattern: "[Cc]rash|[Ss]egfault",
  },
  workers: {
    titles: ["{t} workers stuck", "{t} worker pool saturated"],
    keywords: ["workers", "worker pool", "stuck"],
    pattern: "[Ww]orker",
  },
  retries: {
    titles: ["{t} retry queue growing", "{t} jobs retrying"],
    keywords: ["retry queue", "retries", "dead jobs"],
    pattern: "[Rr]etr",
  },
  jobfail: {
    titles: ["{t} job failed", "Scheduled {t} job did not run"],
    keywords: ["job failed", "exit status", "missed run"],
    pattern: "[Jj]ob",
  },
  overlap: {
    titles: ["{t} jobs overlapping", "{t} job ran twice"],
    keywords: ["overlapping", "lock file", "duplicate run"],
    pattern: "[Oo]verlap|twice",
  },
  unitfail: {
    titles: ["{t} unit failed", "{t} service failed to start"],
    keywords: ["failed to start", "unit failed", "main process exited"],
    pattern: "[Ff]ailed",
  },
  restartloop: {
    titles: ["{t} restart loop", "{t} start request repeated too quickly"],
    keywords: ["restart loop", "start-limit-hit", "too quickly"],
    pattern: "[Rr]estart",
  },
  cpu: {
    titles: ["High CPU on {t} host", "{t} CPU saturated"],
    keywords: ["high cpu", "cpu usage", "cpu saturated"],
    pattern: "CPU",
  },
  load: {
    titles: ["{t} load average high", "{t} run queue long"],
    keywords: ["load average", "run queue", "high load"],
    pattern: "[Ll]oad",
  },
  inode: {
    titles: ["{t} inode usage high", "{t} out of inodes"],
    keywords: ["inode", "inodes", "df -i"],
    pattern: "[Ii]node",
  },
  swap: {
    titles: ["{t} swapping heavily", "{t} swap usage high"],
    keywords: ["swap", "swapping", "page faults"],
    pattern: "[Ss]wap",
  },
  ntp: {
    titles: ["{t} clock drift", "{t} NTP unsynchronised"],
    keywords: ["clock drift", "ntp", "chrony", "time skew"],
    pattern: "NTP|[Cc]lock",
  },
  throttle: {
    titles: ["{t} requests throttled", "{t} SlowDown errors"],
    keywords: ["throttled", "slowdown", "rate limit"],
    pattern: "[Tt]hrottl|SlowDown",
  },
  errors: {
    titles: ["{t} error rate high", "{t} errors increasing"],
    keywords: ["error rate", "errors"],
    pattern: "[Ee]rror",
  },
  sealed: {
    titles: ["{t} sealed", "{t} unseal required"],
    keywords: ["sealed", "unseal"],
    pattern: "[Ss]eal",
  },
  auth: {
    titles: ["{t} login failures", "{t} token validation failing"],
    keywords: ["login failures", "invalid token", "unauthorized"],
    pattern: "[Ll]ogin|[Tt]oken",
  },
  deadline: {
    titles: ["{t} deadline exceeded", "{t} calls timing out"],
    keywords: ["deadline exceeded", "timeout", "unavailable"],
    pattern: "[Dd]eadline|[Tt]im",
  },
};

const hosts = ["db-prod-01", "db-prod-02", "web-prod-01", "api-prod-02", "cache-01", "worker-07"];
const environments = ["prod", "staging", "dev"];
const severities = ["safe", "low_risk", "medium_risk", "high_risk"];
const words = [
  "connection",
  "timeout",
  "refused",
  "latency",
  "disk",
  "memory",
  "replication",
  "queue",
  "backlog",
  "certificate",
  "restart",
  "pool",
  "saturated",
  "errors",
  "verify",
  "drain",
  "failover",
  "rotate",
  "throttle",
  "escalate",
  "inspect",
  "compare",
  "baseline",
  "dashboard",
  "owner",
  "capacity",
];

function sentence(rand: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pick(rand, words));
  const text = out.join(" ");
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

function inlineStep(rand: () => number, i: number, service: string): string {
  const command = pick(rand, [
    `systemctl status ${service}`,
    `systemctl restart {{ ticket.service }}`,
    `check_${service.replace(/-/g, "_")}_${i}.sh --host {{ vars.host }}`,
    `journalctl -u ${service} --since -15m`,
    `df -h /var/lib/${service}`,
  ]);
  const annotations: string[] = [];
  const severity = pick(rand, severities);
  if (severity !== "low_risk") annotations.push(`severity: ${severity}`);
  if (severity === "high_risk" || rand() < 0.3) annotations.push("requires_approval: true");
  if (rand() < 0.4) annotations.push(`timeout: ${1 + Math.floor(rand() * 10)}m`);
  if (rand() < 0.2) annotations.push(`retries: ${1 + Math.floor(rand() * 3)}`);
  if (rand() < 0.3) annotations.push(`connection: ${pick(rand, hosts)}`);
  const list = annotations.length > 0 ? ` (${annotations.join(", ")})` : "";
  const description = rand() < 0.5 ? `\n\n  ${sentence(rand, 6 + Math.floor(rand() * 8))}` : "";
  return `- \`${command}\`${list}${description}`;
}

function fenceStep(rand: () => number): string {
  if (rand() < 0.5) {
    return `\`\`\`sql {requires_approval=true timeout=30s connection=${pick(rand, hosts)}}
SELECT pg_terminate_backend(pid)
FROM pg_stat_activity
WHERE state = 'idle in transaction' AND now() - state_change > interval '5 minutes';
\`\`\`

${sentence(rand, 10)}`;
  }
  return `\`\`\`sh {timeout=2m retries=1}
set -euo pipefail
set -- {{ vars.units }}
for unit in "$@"; do
  systemctl reload "$unit"
done
\`\`\``;
}

/** One runbook's subject: a problem of a technology, for a service (or any service). */
export interface RunbookSubject {
  tech: string;
  problem: string;
  service: string | undefined;
}

/** The subject of runbook `i`: deterministic from `i`, spread over technologies, problems and services. */
export function runbookSubject(rand: () => number, _i: number): RunbookSubject {
  const tech = pick(rand, technologies);
  return {
    tech: tech.name,
    problem: pick(rand, tech.problems),
    // Most runbooks of a large library are written for one service; a tenth are generic.
    service: rand() < 0.9 ? pick(rand, benchServices) : undefined,
  };
}

/** A ticket title a monitoring tool would write for this subject. */
export function subjectTitle(rand: () => number, subject: RunbookSubject): string {
  const problem = problems[subject.problem] as Problem;
  return pick(rand, problem.titles).replaceAll("{t}", subject.tech);
}

function pickSome<T>(rand: () => number, list: readonly T[], n: number): T[] {
  const out: T[] = [];
  for (let tries = 0; out.length < Math.min(n, list.length) && tries < 20; tries++) {
    const item = pick(rand, list);
    if (!out.includes(item)) out.push(item);
  }
  return out;
}

/**
 * One realistic Markdown runbook of about 40 lines: front matter with a match block, a title and
 * description, prechecks, main steps (list items with annotations and fenced SQL or shell),
 * postchecks, a rollback and a notes section. `i` makes names and commands differ between
 * runbooks. The corpus looks like a large runbook library: ~300 services, problems ×
 * technologies, each runbook with its own keywords, title and scope.
 */
export function generateRunbook(rand: () => number, i: number): string {
  const subject = runbookSubject(rand, i);
  const problem = problems[subject.problem] as Problem;
  const service = subject.service ?? subject.tech;
  const title = `${subjectTitle(rand, subject).replace(/^./, (c) => c.toUpperCase())}${subject.service ? ` (${subject.service})` : ""}`;
  const keywords = [...pickSome(rand, problem.keywords, 1 + Math.floor(rand() * 3)), subject.tech];
  const match = ["match:"];
  if (subject.service) match.push(`  services: [${subject.service}]`);
  if (rand() < 0.4) match.push(`  environments: [${pick(rand, environments)}]`);
  if (rand() < 0.3) match.push("  severities: [critical, high]");
  match.push(`  keywords: [${keywords.map((k) => JSON.stringify(k)).join(", ")}]`);
  if (rand() < 0.5) match.push(`  title_pattern: ${JSON.stringify(problem.pattern)}`);
  const lines: string[] = [
    "---",
    `id: ${subject.problem.toLowerCase()}-${subject.tech}-${subject.service ?? "any"}-${i}`,
    `version: ${1 + Math.floor(rand() * 5)}`,
    `status: ${pick(rand, ["draft", "approved"])}`,
    ...match,
    `connection: ${pick(rand, hosts)}`,
    "timeout: 10m",
    "variables:",
    `  host: ${pick(rand, hosts)}`,
    `  units: ${service}`,
    `auto_execute: ${rand() < 0.5}`,
    "---",
    `# ${title}`,
    "",
    `${sentence(rand, 10)} Applies to ${subject.tech}${subject.service ? ` behind ${subject.service}` : ""}.`,
    "",
    "## Prechecks",
    "",
    inlineStep(rand, i, service),
    inlineStep(rand, i + 1, service),
    "",
    "## Main Steps",
    "",
    inlineStep(rand, i + 2, service),
    "",
    fenceStep(rand),
    "",
    "## Postchecks",
    "",
    inlineStep(rand, i + 3, service),
    "",
    "## Rollback",
    "",
    `- \`systemctl start ${service}\` (idempotent: true)`,
    "",
    "## Escalation",
    "",
    `${sentence(rand, 8)} Page the ${service} on-call.`,
  ];
  return `${lines.join("\n")}\n`;
}
