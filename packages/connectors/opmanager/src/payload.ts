/**
 * What OpManager sends and answers. The webhook body is the template you paste into an "Invoke a
 * Web Hook" notification profile (`webhookTemplate`): OpManager substitutes each `$variable` as
 * text. The REST shapes follow ManageEngine's OpManager REST API pages (alarms); the README marks
 * which response fields are documented and which are guesses.
 */
import { z } from "zod";

/**
 * The JSON body to paste into the notification profile. Keys are what `parseWebhook` reads:
 * `entity` (the alarm's key for every REST action) and `severity` are required.
 */
export const webhookTemplate = {
  alarm_id: "$alarmid",
  entity: "$entity",
  severity: "$stringseverity",
  device_name: "$displayName",
  ip_address: "$DeviceField(ipAddress)",
  message: "$message",
  category: "$category",
  event_type: "$eventType",
  last_polled_value: "$lastPolledValue",
  timestamp: "$strModTime",
} as const;

const text = (max: number) => z.string().max(max);
/** An alarm entity (`5_DiskUtilization`): no control characters. */
const entity = z
  .string()
  .trim()
  .min(1, "expected the alarm entity ($entity)")
  .max(256)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  .regex(/^[^\u0000-\u001f\u007f]+$/, "the alarm entity has control characters")
  .refine((v) => !/^\$\w+$/.test(v), "expected the alarm entity ($entity), got an unsubstituted variable");

/** The webhook body `webhookTemplate` produces (extra fields you add are ignored). */
export const WebhookPayload = z.object({
  entity,
  severity: text(64),
  alarm_id: z.union([text(64), z.number()]).optional(),
  device_name: text(1_024).optional(),
  ip_address: text(256).optional(),
  message: text(16 * 1024).optional(),
  category: text(256).optional(),
  event_type: text(256).optional(),
  last_polled_value: text(256).optional(),
  timestamp: text(64).optional(),
  device_type: text(256).optional(),
  environment: text(64).optional(),
  service: text(128).optional(),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

/** One alarm of `GET /api/json/alarm/listAlarms` (the fields read; others pass through). */
export const Alarm = z
  .object({
    entity,
    alarmId: z.union([z.string(), z.number()]).nullish(),
    message: z.string().nullish(),
    displayName: z.string().nullish(),
    deviceName: z.string().nullish(),
    numericSeverity: z.union([z.number().int(), z.string().regex(/^\d+$/)]).nullish(),
    severityString: z.string().nullish(),
    statusStr: z.string().nullish(),
    category: z.string().nullish(),
    modTime: z.string().nullish(),
    modTimeLong: z.union([z.number(), z.string().regex(/^\d+$/)]).nullish(),
    who: z.string().nullish(),
    eventType: z.string().nullish(),
  })
  .loose();
export type Alarm = z.infer<typeof Alarm>;

/** What the alarm actions answer: `{ result: { message } }`, or an `error` (guess: see the README). */
export const ActionResponse = z.union([
  z.object({ result: z.object({ message: z.string() }).loose() }).loose(),
  z
    .object({ error: z.object({ message: z.string().optional(), code: z.unknown().optional() }).loose() })
    .loose(),
]);
