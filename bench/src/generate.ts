/**
 * Seeded generators of realistic inputs for the bench rows. Every generator takes the harness's
 * `seededRandom` function, so the same seed gives the same corpus on every machine.
 */
import { pick } from "./harness.js";

const services = [
  "postgresql",
  "mysql",
  "nginx",
  "redis",
  "kafka",
  "api-gateway",
  "billing-worker",
  "search",
];
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
];

function sentence(rand: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pick(rand, words));
  const text = out.join(" ");
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

function inlineStep(rand: () => number, i: number): string {
  const service = pick(rand, services);
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
for unit in {{ vars.units }}; do
  systemctl reload "$unit"
done
\`\`\``;
}

/**
 * One realistic Markdown runbook of about 40 lines: front matter with a match block, a title and
 * description, prechecks, main steps (list items with annotations and fenced SQL or shell),
 * postchecks, a rollback and a notes section. `i` makes names and commands differ between runbooks.
 */
export function generateRunbook(rand: () => number, i: number): string {
  const service = pick(rand, services);
  const lines: string[] = [
    "---",
    `id: fix-${service}-${i}`,
    `version: ${1 + Math.floor(rand() * 5)}`,
    `status: ${pick(rand, ["draft", "approved"])}`,
    "match:",
    `  services: [${service}]`,
    `  environments: [${pick(rand, environments)}]`,
    "  severities: [critical, high]",
    `  keywords: [${pick(rand, words)}, ${pick(rand, words)}]`,
    `  title_pattern: "(?:${pick(rand, words)}|${pick(rand, words)})"`,
    `connection: ${pick(rand, hosts)}`,
    "timeout: 10m",
    "variables:",
    `  host: ${pick(rand, hosts)}`,
    `  units: ${service}`,
    `auto_execute: ${rand() < 0.5}`,
    "---",
    `# Fix ${service} ${pick(rand, words)} (${i})`,
    "",
    sentence(rand, 12),
    "",
    "## Prechecks",
    "",
    inlineStep(rand, i),
    inlineStep(rand, i + 1),
    "",
    "## Main Steps",
    "",
    inlineStep(rand, i + 2),
    "",
    fenceStep(rand),
    "",
    "## Postchecks",
    "",
    inlineStep(rand, i + 3),
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
