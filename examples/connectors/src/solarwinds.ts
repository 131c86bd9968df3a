/**
 * The SolarWinds connector: what an Orion alert action's call becomes, and (with an Orion at
 * hand) one read-only pull of its active alerts.
 *
 *   npx tsx --conditions=@runwarden/source examples/connectors/src/solarwinds.ts
 *
 * Without environment variables the script feeds the body Orion's trigger and reset actions send
 * (`webhookTemplate`, filled in as Orion fills it) through the engine's webhook intake and prints
 * the ticket, then its resolution. With RW_SWIS_URL (https://<orion>:17774), RW_SWIS_USER and
 * RW_SWIS_PASSWORD (and RW_SWIS_CA, a PEM file, for a self-signed certificate) it also checks the
 * connection and pulls the active alerts once, printing the tickets they make. It acknowledges
 * and clears nothing.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import solarwinds, { webhookResetTemplate, webhookTemplate } from "@runwarden/connector-solarwinds";
import { createEngine, type Ticket } from "@runwarden/core";

const swis = process.env.RW_SWIS_URL
  ? {
      url: process.env.RW_SWIS_URL,
      username: process.env.RW_SWIS_USER ?? "",
      password: process.env.RW_SWIS_PASSWORD ?? "",
      tls: process.env.RW_SWIS_CA ? { ca: readFileSync(process.env.RW_SWIS_CA, "utf8") } : {},
    }
  : {};

const engine = await createEngine({
  connectors: [{ connector: solarwinds, config: { webhookAuth: { type: "none" }, ...swis } }],
  // Pull only when asked below, and never acknowledge or clear from this script.
  monitoring: { solarwinds: { manual: true, acknowledge: false } },
  vault: { key: process.env.RUNWARDEN_MASTER_KEY ?? randomBytes(32) },
});
await engine.start();

const show = (t: Ticket) =>
  console.log(`  #${t.id} [${t.severity}] ${t.title} — status ${t.status}, fingerprint ${t.fingerprint}`);

/** The template with Orion's variables replaced by sample values, as the action would post it. */
function filled(template: Record<string, string>): Record<string, string> {
  const values: Record<string, string> = {
    AlertObjectID: "871",
    AlertActiveID: "5123",
    AlertID: "17",
    AlertName: "Node is down",
    AlertMessage: "Node web-01 is Down.",
    Severity: "Critical",
    ObjectType: "Node",
    NodeName: "web-01",
    IP_Address: "10.0.0.15",
  };
  return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, values[k] ?? v]));
}

for (const [what, template] of [
  ["trigger action", webhookTemplate],
  ["reset action", webhookResetTemplate],
] as const) {
  const body = filled(template);
  const result = await engine.tickets.ingestWebhook("solarwinds", {
    headers: { "content-type": "application/json" },
    body,
    rawBody: JSON.stringify(body),
  });
  console.log(`${what}:`);
  for (const { ticket } of result.tickets) show(await engine.tickets.get(ticket.id));
  for (const ticket of result.resolved) show(await engine.tickets.get(ticket.id));
  for (const warning of result.warnings) console.log(`  warning: ${warning}`);
}

if (process.env.RW_SWIS_URL) {
  const poller = engine.monitoring.poller("solarwinds")!;
  const health = await engine.connectors
    .monitoring("solarwinds")
    .healthCheck?.({ signal: AbortSignal.timeout(15_000) });
  console.log(`health: ${JSON.stringify(health)}`);
  const pulled = await poller.poll({ force: true });
  console.log(`pull: ${JSON.stringify(pulled)}`);
  for (const t of (await engine.tickets.list({ source: "solarwinds" })).items) show(t);
}
await engine.close();
