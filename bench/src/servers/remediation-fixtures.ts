/**
 * The inputs of the alert-to-remediation and alert-storm rows: their runbooks (one approved,
 * auto-executed `true` step on the local connector each) and the alerts that must match them.
 * No side effects, so bench/test can check that each alert still auto-executes its runbook.
 */

/** Row 7's runbook: generic "Disk usage above 90% on …" alerts. */
export const diskRunbook = `---
id: bench-free-disk
version: 1
status: approved
match:
  services: [nginx]
  keywords: [disk usage]
  title_pattern: "Disk usage above"
connection: local
auto_execute: true
---

# Free disk space

## Main Steps

- \`true\` (name: free-space, requires_approval: false, severity: safe, timeout: 30s)
`;

/** Row 10's runbook: Alertmanager "CPU usage is over 90% on …" alerts. */
export const cpuRunbook = `---
id: bench-cpu-hog
version: 1
status: approved
match:
  services: [node]
  keywords: [cpu usage]
  title_pattern: "CPU usage is over"
connection: local
auto_execute: true
---

# Throttle the CPU hog

## Main Steps

- \`true\` (name: throttle, requires_approval: false, severity: safe, timeout: 30s)
`;

/**
 * The API-latency row's gated runbook: generic "Memory usage above 95% on …" alerts start a
 * session that waits at an approval, so `GET /approvals` lists real pending approvals.
 */
export const memoryRunbook = `---
id: bench-memory-gated
version: 1
status: approved
match:
  services: [redis]
  keywords: [memory usage]
  title_pattern: "Memory usage above"
connection: local
auto_execute: true
---

# Restart the memory hog

## Main Steps

- \`true\` (name: restart, requires_approval: true, severity: safe, timeout: 30s)
`;

/** Alert `i` of the API-latency row's gated share: a generic webhook body, distinct for every `i`. */
export function memoryAlert(i: number): string {
  return JSON.stringify({
    title: `Memory usage above 95% on cache-${i % 997}.internal (alert ${i})`,
    description: `redis on cache-${i % 997}.internal uses 97% of its memory, evictions rising.`,
    severity: "high",
    environment: "prod",
    service: "redis",
    external_id: `MEM-${i}`,
    fingerprint: `bench-memory-${i}`,
  });
}

/** Alert `i` of the alert-to-remediation row: a generic webhook body, distinct for every `i`. */
export function diskAlert(i: number): string {
  return JSON.stringify({
    title: `Disk usage above 90% on web-${i % 997}.internal (alert ${i})`,
    description: `Filesystem /var on web-${i % 997}.internal is 93% full, growing 2GB/h.`,
    severity: "high",
    environment: "prod",
    service: "nginx",
    external_id: `ALERT-${i}`,
    fingerprint: `bench-alert-${i}`,
  });
}

/** One notification of one firing alert, shaped as Alertmanager sends it (webhook v4). */
export function stormNotification(fingerprint: number): string {
  const instance = `web-${String(fingerprint).padStart(3, "0")}:9100`;
  const labels = { alertname: "HighCPUUsage", instance, job: "node", severity: "critical" };
  const annotations = {
    summary: `CPU usage is over 90% on ${instance}`,
    runbook_url: "https://runbooks.example.com/cpu",
  };
  return JSON.stringify({
    receiver: "remediator",
    status: "firing",
    alerts: [
      {
        status: "firing",
        labels,
        annotations,
        startsAt: new Date(Date.UTC(2025, 4, 14, 9, 0, fingerprint)).toISOString(),
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL:
          "http://prometheus.example.com:9090/graph?g0.expr=instance%3Acpu%3Arate5m+%3E+0.9&g0.tab=1",
        fingerprint: `bench${fingerprint.toString(16).padStart(11, "0")}`,
      },
    ],
    groupLabels: { alertname: "HighCPUUsage", instance },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: "http://alertmanager.example.com:9093",
    version: "4",
    groupKey: `{}:{alertname="HighCPUUsage", instance="${instance}"}`,
    truncatedAlerts: 0,
  });
}
