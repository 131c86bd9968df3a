/**
 * What to do in Datadog's Webhooks integration tile, as the Connectors tab shows it, and the
 * documented sample the tab's "Send a test alert" posts through `parseWebhook`.
 */
import type { VendorSetupContext, VendorSetupStep } from "@runwarden/core";
import { webhookTemplate } from "../payload.js";

/** Datadog's Webhooks tile: a hidden custom variable, the webhook, and `@webhook-runwarden`. */
export function datadogSetup({ webhookUrl, webhookSecret }: VendorSetupContext): VendorSetupStep[] {
  return [
    {
      title: "Add the shared secret as a hidden custom variable",
      text: "Integrations → Webhooks → Variables: a variable named RUNWARDEN_SECRET, marked hidden, holding the webhook secret. Datadog signs nothing: the secret travels in a custom header.",
      snippet: { language: "text", content: `RUNWARDEN_SECRET = ${webhookSecret ?? "<webhook secret>"}\n` },
    },
    {
      title: "Create the webhook",
      text: `Integrations → Webhooks → New: name "runwarden", URL ${webhookUrl}, "Custom Headers" as below (the header is the connector's webhookAuth.header, X-Runwarden-Webhook-Secret by default), and the payload in the next step.`,
      snippet: {
        language: "json",
        content: `${JSON.stringify({ "X-Runwarden-Webhook-Secret": "$RUNWARDEN_SECRET" }, null, 2)}\n`,
      },
    },
    {
      title: "Paste the payload",
      text: "Datadog substitutes each $VARIABLE as a string. The connector also accepts Datadog's default payload; this one carries the alert id, transition and priority it maps.",
      snippet: { language: "json", content: `${JSON.stringify(webhookTemplate, null, 2)}\n` },
    },
    {
      title: "Notify it from your monitors",
      text: "Add @webhook-runwarden to the message of each monitor whose alerts Runwarden should handle (it is notified on trigger and on recovery).",
    },
  ];
}

/**
 * A call as the payload above produces it (values as Datadog substitutes them, all strings), from
 * fixtures/datadog/datadog-webhook.json with the monitor renamed.
 */
export function sampleDatadogWebhook(): { body: unknown } {
  const now = String(Date.now());
  return {
    body: {
      id: "7716548234011234567",
      alert_id: "148275309",
      alert_cycle_key: "7716548234011230000",
      aggreg_key: "runwarden-test",
      alert_transition: "Triggered",
      alert_type: "warning",
      alert_priority: "P3",
      alert_title: "[Runwarden test] High CPU on web-01",
      alert_query: "avg(last_5m):avg:system.cpu.user{host:web-01} > 90",
      alert_scope: "host:web-01",
      alert_status: "system.cpu.user over host:web-01 was > 90.0 on average during the last 5m.",
      alert_metric: "system.cpu.user",
      title: "[Triggered on {host:web-01}] [Runwarden test] High CPU on web-01",
      body: "%%%\nTest alert sent from Runwarden's Connectors tab. Safe to close.\n%%%",
      event_type: "query_alert_monitor",
      date: now,
      last_updated: now,
      hostname: "web-01",
      tags: "env:test,host:web-01,service:runwarden-test",
      link: "https://app.datadoghq.com/event/event?id=7716548234011234567",
      priority: "normal",
      org: { id: "11023", name: "Example Corp" },
    },
  };
}
