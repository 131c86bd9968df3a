/**
 * The OpManager connector: what an "Invoke a Web Hook" notification becomes, and (with an
 * OpManager at hand) one read-only pull of its active alarms.
 *
 *   npx tsx --conditions=@runwarden/source examples/connectors/src/opmanager.ts
 *
 * Without environment variables the script feeds the body the notification profile sends
 * (`webhookTemplate`, filled in as OpManager fills it) through the engine's webhook intake and
 * prints the ticket, then the Clear that resolves it. With RW_OPM_URL (https://<opmanager>:8061)
 * and RW_OPM_API_KEY (and RW_OPM_CA, a PEM file, for a self-signed certificate) it also checks the
 * connection and pulls the active alarms once, printing the tickets they make. It acknowledges
 * and clears nothing.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import opmanager, { webhookTemplate } from "@runwarden/connector-opmanager";
import { createEngine, type Ticket } from "@runwarden/core";

const api = process.env.RW_OPM_URL
  ? {
      url: process.env.RW_OPM_URL,
      apiKey: process.env.RW_OPM_API_KEY ?? "",
      tls: process.env.RW_OPM_CA ? { ca: readFileSync(process.env.RW_OPM_CA, "utf8") } : {},
    }
  : {};

const engine = await createEngine({
  connectors: [{ connector: opmanager, config: { webhookAuth: { type: "none" }, ...api } }],
  // Pull only when asked below, and never acknowledge or clear from this script.
  monitoring: { opmanager: { manual: true, acknowledge: false } },
  vault: { key: process.env.RUNWARDEN_MASTER_KEY ?? randomBytes(32) },
});
await engine.start();

const show = (t: Ticket) =>
  console.log(`  #${t.id} [${t.severity}] ${t.title} — status ${t.status}, fingerprint ${t.fingerprint}`);

/** The template with OpManager's variables replaced by sample values, as the profile would post it. */
function filled(severity: string): Record<string, string> {
  const values: Record<string, string> = {
    alarm_id: "3",
    entity: "5_DiskUtilization",
    severity,
    device_name: "web-01",
    ip_address: "10.0.0.15",
    message: "Disk Utilization is 97%, threshold value for this monitor is 90%",
    category: "Server",
    event_type: "Disk Utilization",
  };
  return Object.fromEntries(Object.entries(webhookTemplate).map(([k, v]) => [k, values[k] ?? v]));
}

for (const severity of ["Critical", "Clear"]) {
  const body = filled(severity);
  const result = await engine.tickets.ingestWebhook("opmanager", {
    headers: { "content-type": "application/json" },
    body,
    rawBody: JSON.stringify(body),
  });
  console.log(`notification with severity ${severity}:`);
  for (const { ticket } of result.tickets) show(await engine.tickets.get(ticket.id));
  for (const ticket of result.resolved) show(await engine.tickets.get(ticket.id));
  for (const warning of result.warnings) console.log(`  warning: ${warning}`);
}

if (process.env.RW_OPM_URL) {
  const health = await engine.connectors
    .monitoring("opmanager")
    .healthCheck?.({ signal: AbortSignal.timeout(15_000) });
  console.log(`health: ${JSON.stringify(health)}`);
  const pulled = await engine.monitoring.poller("opmanager")!.poll({ force: true });
  console.log(`pull: ${JSON.stringify(pulled)}`);
  for (const t of (await engine.tickets.list({ source: "opmanager" })).items) show(t);
}
await engine.close();
