/**
 * What to do on Alertmanager's side, as the Connectors tab shows it, and the documented sample
 * the tab's "Send a test alert" posts through `parseWebhook`.
 */
import type { VendorSetupContext, VendorSetupStep } from "@runwarden/core";

/**
 * Alertmanager's `receivers:` entry (`webhook_config` with `http_config.authorization`, whose
 * `credentials` is the bearer token Alertmanager sends; prometheus.io/docs/alerting/latest/
 * configuration/#webhook_config and #http_config) and a route to it.
 */
export function alertmanagerSetup({ webhookUrl, webhookSecret }: VendorSetupContext): VendorSetupStep[] {
  const token = webhookSecret ?? "<webhook token>";
  return [
    {
      title: "Add a Runwarden receiver to alertmanager.yml",
      text: "Alertmanager sends the token as `Authorization: Bearer <token>`. Keep send_resolved: true so that a resolved alert resolves its ticket. With basic auth instead, replace `authorization` by `basic_auth: { username, password }`; to keep the token out of the file, use `credentials_file`.",
      snippet: {
        language: "yaml",
        content: `receivers:
  - name: runwarden
    webhook_configs:
      - url: ${yamlString(webhookUrl)}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: ${yamlString(token)}
`,
      },
    },
    {
      title: "Route alerts to it",
      text: "Send every alert to Runwarden (the top-level route), or add a child route with matchers for the alerts Runwarden should handle. Reload Alertmanager afterwards (SIGHUP or POST /-/reload).",
      snippet: {
        language: "yaml",
        content: `route:
  receiver: runwarden
  group_by: ["alertname", "instance"]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
`,
      },
    },
    {
      title: "Check it",
      text: 'Use "Send a test alert" here, or post one to Alertmanager: amtool alert add RunwardenTest severity=warning instance=web-01 --alertmanager.url=http://127.0.0.1:9093',
    },
  ];
}

/** A YAML double-quoted scalar (URL and token are plain text, but quoting keeps `:`/`#` safe). */
function yamlString(value: string): string {
  return JSON.stringify(value);
}

/**
 * A webhook as Alertmanager 0.25 sends it (payload version 4), recorded from a real Alertmanager
 * (fixtures/alertmanager/alertmanager-real-webhook.json) with the alert renamed.
 */
export function sampleAlertmanagerWebhook(): { body: unknown } {
  const startsAt = new Date().toISOString();
  const labels = {
    alertname: "RunwardenTestAlert",
    instance: "web-01:9100",
    job: "node",
    service: "runwarden-test",
    severity: "warning",
  };
  const annotations = {
    summary: "Test alert sent from Runwarden's Connectors tab",
    description: "A sample Alertmanager webhook, parsed by the Prometheus connector. Safe to close.",
  };
  return {
    body: {
      receiver: "runwarden",
      status: "firing",
      alerts: [
        {
          status: "firing",
          labels,
          annotations,
          startsAt,
          endsAt: "0001-01-01T00:00:00Z",
          generatorURL: "http://127.0.0.1:9090/graph?g0.expr=up",
          fingerprint: "52756e7761726465",
        },
      ],
      groupLabels: { alertname: labels.alertname },
      commonLabels: labels,
      commonAnnotations: annotations,
      externalURL: "http://127.0.0.1:9093",
      version: "4",
      groupKey: '{}:{alertname="RunwardenTestAlert"}',
      truncatedAlerts: 0,
    },
  };
}
