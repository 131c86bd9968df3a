import { secret } from "@runwarden/core";
import { z } from "zod";

/** The webhook notifier's configuration. */
export const WebhookNotifierConfig = z
  .object({
    /** Where the event's JSON is POSTed (http or https). */
    url: z.url({ protocol: /^https?$/, message: "use an http(s) URL" }).max(2_000),
    /** The shared secret the `X-Runwarden-Signature` HMAC is keyed with. */
    secret: secret(z.string().min(16, "use a secret of at least 16 characters").max(512)),
    /** How long one POST may take. */
    timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  })
  .strict();
export type WebhookNotifierConfig = z.infer<typeof WebhookNotifierConfig>;
