// biome-ignore-all lint/suspicious/noTemplateCurlyInString: SolarWinds alert variables are written ${N=…;M=…}
/**
 * What SolarWinds sends and answers. The webhook body is the template you paste into the alert's
 * "Send a GET or POST Request to a Web Server" trigger and reset actions (`webhookTemplate`): Orion
 * substitutes each `${N=…;M=…}` variable as text. The SWIS shapes follow OrionSDK's `docs/rest.md`
 * and the `Orion.*` schema pages.
 */
import { z } from "zod";

/**
 * The body to paste into the alert's trigger action (`Event` = `Trigger`); the reset action sends
 * the same body with `Event` = `Reset`. Keys are what `parseWebhook` reads: `AlertObjectID` and
 * `AlertName` are required, the rest enrich the ticket.
 */
export const webhookTemplate = {
  Event: "Trigger",
  AlertObjectID: "${N=Alerting;M=AlertObjectID}",
  AlertActiveID: "${N=Alerting;M=AlertActiveID}",
  AlertID: "${N=Alerting;M=AlertID}",
  AlertName: "${N=Alerting;M=AlertName}",
  AlertMessage: "${N=Alerting;M=AlertMessage}",
  AlertDescription: "${N=Alerting;M=AlertDescription}",
  AlertDetailsUrl: "${N=Alerting;M=AlertDetailsURL}",
  Severity: "${N=Alerting;M=Severity}",
  Acknowledged: "${N=Alerting;M=Acknowledged}",
  ObjectType: "${N=Alerting;M=ObjectType}",
  NodeName: "${N=SwisEntity;M=Caption}",
  IP_Address: "${N=SwisEntity;M=IP_Address}",
  TimeOfAlert: "${N=Alerting;M=AlertTriggerTime}",
} as const;

/** The same body for the reset action. */
export const webhookResetTemplate = { ...webhookTemplate, Event: "Reset" } as const;

const text = (max: number) => z.string().max(max);

/** The webhook body `webhookTemplate` produces (extra fields you add are ignored). */
export const WebhookPayload = z.object({
  AlertObjectID: z
    .union([z.string(), z.number()])
    .transform(String)
    .pipe(
      z.string().regex(/^\s*\d{1,10}\s*$/, "expected an alert object id (${N=Alerting;M=AlertObjectID})"),
    ),
  AlertName: text(1_024),
  Event: text(32).optional(),
  AlertActiveID: z.union([text(32), z.number()]).optional(),
  AlertID: z.union([text(32), z.number()]).optional(),
  AlertMessage: text(16 * 1024).optional(),
  AlertDescription: text(16 * 1024).optional(),
  AlertDetailsUrl: text(4 * 1024).optional(),
  Severity: z.union([text(64), z.number()]).optional(),
  Acknowledged: text(256).optional(),
  ObjectType: text(256).optional(),
  NodeName: text(1_024).optional(),
  IP_Address: text(256).optional(),
  TimeOfAlert: text(64).optional(),
  Environment: text(64).optional(),
  Service: text(128).optional(),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

/** `POST Query` answers `{ totalRows?, results }` (OrionSDK docs/rest.md). */
export const QueryResponse = z.object({
  totalRows: z.number().int().nonnegative().optional(),
  results: z.array(z.record(z.string(), z.unknown())),
});
export type QueryResponse = z.infer<typeof QueryResponse>;

const int = z.number().int();
const str = z.string().nullish();

/** One row of the active-alerts query (column names as `queries.activeAlerts` selects them). */
export const ActiveAlertRow = z.object({
  AlertActiveID: int,
  AlertObjectID: int,
  TriggeredDateTime: str,
  TriggeredMessage: str,
  Acknowledged: z.boolean().nullish(),
  AcknowledgedBy: str,
  AcknowledgedDateTime: str,
  AlertID: int.nullish(),
  EntityUri: str,
  EntityType: str,
  EntityCaption: str,
  EntityDetailsUrl: str,
  RelatedNodeId: int.nullish(),
  RelatedNodeCaption: str,
  AlertName: str,
  Severity: int.nullish(),
  NodeCaption: str,
  NodeDNS: str,
  NodeIPAddress: str,
});
export type ActiveAlertRow = z.infer<typeof ActiveAlertRow>;

/** One row of the alert-resets query on `Orion.AlertHistory`. */
export const ResetRow = z.object({
  AlertHistoryID: int,
  AlertObjectID: int,
  EventType: int,
  Timestamp: str,
  EntityCaption: str,
  EntityType: str,
  EntityUri: str,
  RelatedNodeCaption: str,
  AlertName: str,
  Severity: int.nullish(),
});
export type ResetRow = z.infer<typeof ResetRow>;

/** One row of the state query `acknowledge` and `resolve` read first. */
export const AlertStateRow = z.object({
  AlertActiveID: int,
  Acknowledged: z.boolean().nullish(),
  AlertNote: str,
});
export type AlertStateRow = z.infer<typeof AlertStateRow>;
