/**
 * Grafana Alerting's webhook contact point → Runwarden tickets. Payload and signature as
 * documented at https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/
 * It uses only @runwarden/core's public API, as any third-party connector must.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import {
  defineConnector,
  type MonitoringConnector,
  type ParsedWebhook,
  rwError,
  secret,
  type TicketInput,
  type TicketSeverity,
  type WebhookRequest,
} from "@runwarden/core";
import { z } from "zod";

const name = "grafana";

export const GrafanaConfig = z.object({
  /** How Grafana proves a request is its own: the HMAC signature (preferred) or the Authorization header. */
  auth: z.discriminatedUnion("type", [
    z.object({
      type: z.literal("hmac"),
      secret: secret(z.string().min(16)),
      /** Grafana's default signature header. */
      header: z.string().toLowerCase().default("x-grafana-alerting-signature"),
      /** Set it when the contact point sends a timestamp header: the signature then covers `timestamp:body`. */
      timestampHeader: z.string().toLowerCase().optional(),
      /** Requests with a timestamp further than this from now are refused (replays). Default 5 minutes. */
      maxSkewMs: z.number().int().positive().default(300_000),
    }),
    z.object({ type: z.literal("bearer"), token: secret(z.string().min(16)) }),
  ]),
  /** The label holding the severity. */
  severityLabel: z.string().default("severity"),
  /** Largest body accepted, in bytes. Default 1 MiB. */
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
});
export type GrafanaConfigInput = z.input<typeof GrafanaConfig>;

const Labels = z.record(z.string(), z.string());
const Alert = z.object({
  status: z.enum(["firing", "resolved"]),
  labels: Labels,
  annotations: Labels.default({}),
  startsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1).max(256),
  dashboardURL: z.string().optional(),
  panelURL: z.string().optional(),
  silenceURL: z.string().optional(),
});
const Payload = z.object({
  receiver: z.string().optional(),
  status: z.enum(["firing", "resolved"]),
  orgId: z.number().optional(),
  alerts: z.array(Alert).min(1).max(1_000),
  externalURL: z.string().optional(),
  version: z.string().optional(),
  truncatedAlerts: z.number().optional(),
});

const severities: Readonly<Record<string, TicketSeverity>> = {
  critical: "critical",
  page: "critical",
  high: "high",
  error: "high",
  warning: "medium",
  medium: "medium",
  low: "low",
  info: "info",
  none: "info",
};

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Grafana's timestamps carry an offset and up to 9 fraction digits; keep what TicketInput takes. */
function isoOrUndefined(value: string | undefined): string | undefined {
  if (!value || value.startsWith("0001-")) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

const grafana = defineConnector({
  kind: "monitoring",
  name,
  version: "0.1.0",
  sdk: "^0.1.0",
  description: "Grafana Alerting: webhook contact point, HMAC-SHA256 or bearer verified.",
  configSchema: GrafanaConfig,
  capabilities: ["webhook", "verify-webhook"],
  create(config, ctx): MonitoringConnector {
    const log = ctx.logger;
    return {
      verifyWebhook(request: WebhookRequest): boolean {
        const { auth } = config;
        if (auth.type === "bearer")
          return sameText(request.headers.authorization ?? "", `Bearer ${auth.token}`);
        const signature = request.headers[auth.header] ?? "";
        let signed = request.rawBody;
        if (auth.timestampHeader) {
          const timestamp = request.headers[auth.timestampHeader] ?? "";
          const at = Number(timestamp) * 1000;
          if (!/^\d{1,12}$/.test(timestamp) || Math.abs(ctx.now().getTime() - at) > auth.maxSkewMs)
            return false;
          signed = `${timestamp}:${request.rawBody}`;
        }
        const expected = createHmac("sha256", auth.secret).update(signed, "utf8").digest("hex");
        return sameText(signature.toLowerCase(), expected);
      },

      parseWebhook(request: WebhookRequest): ParsedWebhook {
        if (Buffer.byteLength(request.rawBody) > config.maxBodyBytes) {
          throw rwError(
            "RW_ERR_INPUT_TOO_LARGE",
            `a Grafana webhook may be at most ${config.maxBodyBytes} bytes`,
            {
              details: { limit: config.maxBodyBytes },
            },
          );
        }
        let body = request.body;
        if (body === undefined) {
          try {
            body = JSON.parse(request.rawBody);
          } catch (cause) {
            throw rwError("RW_ERR_INPUT_MALFORMED", "the Grafana webhook body is not JSON", { cause });
          }
        }
        const parsed = Payload.safeParse(body);
        if (!parsed.success) {
          throw rwError("RW_ERR_INPUT_INVALID", "not a Grafana Alerting webhook payload", {
            details: {
              fields: parsed.error.issues
                .slice(0, 10)
                .map((i) => ({ field: i.path.join(".") || "(body)", message: i.message })),
            },
          });
        }
        const warnings: string[] = [];
        if (parsed.data.truncatedAlerts)
          warnings.push(`Grafana left out ${parsed.data.truncatedAlerts} alert(s) (Max Alerts)`);
        const tickets = parsed.data.alerts.map((alert): TicketInput => {
          const { labels, annotations } = alert;
          const raw = labels[config.severityLabel]?.toLowerCase();
          const severity = raw === undefined ? undefined : severities[raw];
          if (raw !== undefined && !severity)
            warnings.push(`unknown severity "${raw.slice(0, 40)}" mapped to medium`);
          return {
            title: (labels.alertname ?? annotations.summary ?? "Grafana alert").slice(0, 500),
            description: (annotations.description ?? annotations.summary ?? "").slice(0, 20_000),
            severity: severity ?? "medium",
            environment: labels.environment ?? labels.env ?? "",
            service: labels.service ?? labels.job ?? "",
            source: name,
            externalId: alert.fingerprint,
            fingerprint: `grafana:${alert.fingerprint}`,
            resolved: alert.status === "resolved",
            metaData: {
              labels,
              annotations,
              generatorURL: alert.generatorURL ?? null,
              dashboardURL: alert.dashboardURL || null,
              orgId: parsed.data.orgId ?? null,
            },
            ...(isoOrUndefined(alert.startsAt) ? { receivedAt: isoOrUndefined(alert.startsAt) } : {}),
          };
        });
        log.debug({ alerts: tickets.length, status: parsed.data.status }, "grafana webhook parsed");
        return { tickets, warnings };
      },
    };
  },
});

export default grafana;
