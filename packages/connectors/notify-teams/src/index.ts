/**
 * `@runwarden/connector-notify-teams`: the Microsoft Teams notifier. Each notification is an
 * Adaptive Card (schema version 1.4) POSTed to a Teams incoming webhook (a Workflows "post to a
 * channel when a webhook request is received" flow), with a button opening the approval on the
 * dashboard: people approve there, signed in.
 */
import { defineConnector, type Notification, type NotifierConnector, rwError, secret } from "@runwarden/core";
import { z } from "zod";

/** The Teams notifier's configuration. */
export const TeamsNotifierConfig = z
  .object({
    /** The workflow's HTTP POST URL: it holds the flow's signature, so it is a secret. */
    webhookUrl: secret(z.url({ protocol: /^https?$/, message: "the workflow's https URL" }).max(2_000)),
    timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  })
  .strict();
export type TeamsNotifierConfig = z.infer<typeof TeamsNotifierConfig>;

/** The Adaptive Card schema version the cards declare (Teams renders up to 1.5). */
export const cardVersion = "1.4";
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** The Teams message (an Adaptive Card attachment) of a notification. */
export function teamsMessage(n: Notification): Record<string, unknown> {
  const body: unknown[] = [
    { type: "TextBlock", text: clip(n.title, 300), weight: "Bolder", size: "Medium", wrap: true },
    { type: "TextBlock", text: clip(n.text, 2_000), wrap: true },
  ];
  if (n.approval) {
    body.push({
      type: "FactSet",
      facts: [
        { title: "Target", value: clip(n.approval.target, 200) },
        { title: "Risk", value: n.approval.risk },
        { title: "Expires", value: n.approval.expiresAt },
        { title: "Started by", value: clip(n.approval.startedBy, 100) },
      ],
    });
    body.push({
      type: "TextBlock",
      text: clip(n.approval.renderedCommand, 2_000),
      fontType: "Monospace",
      wrap: true,
    });
  }
  const card: Record<string, unknown> = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: cardVersion,
    body,
  };
  if (n.url)
    card.actions = [
      { type: "Action.OpenUrl", title: n.approval ? "Open the approval" : "Open in Runwarden", url: n.url },
    ];
  return {
    type: "message",
    attachments: [
      { contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: card },
    ],
  };
}

/** The Teams notifier (kind `notifier`, name `teams`). */
export const teamsNotifier = defineConnector({
  kind: "notifier",
  name: "teams",
  version: "0.1.0",
  sdk: "^0.1.0",
  description:
    "Microsoft Teams: an Adaptive Card to a Workflows incoming webhook, with a link to the approval",
  configSchema: TeamsNotifierConfig,
  capabilities: ["notify", "describe"],
  vendorSetup: () => [
    {
      title: "Create the channel's workflow",
      text: 'In the Teams channel: ⋯ → Workflows → "Post to a channel when a webhook request is received". Copy the HTTP POST URL it shows and store it as webhookUrl (it is a secret: anyone holding it can post).',
    },
  ],
  create(config, ctx): NotifierConnector {
    const host = new URL(config.webhookUrl).host;
    return {
      async send(n, { signal }) {
        signal.throwIfAborted();
        let res: Response;
        try {
          res = await fetch(config.webhookUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(teamsMessage(n)),
            redirect: "manual",
            signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]),
          });
        } catch {
          if (signal.aborted)
            throw rwError("RW_ERR_CONNECTOR_TIMEOUT", "the Teams webhook call was aborted", {
              retryable: true,
            });
          throw rwError("RW_ERR_CONNECTOR_UNREACHABLE", `the Teams webhook at ${host} could not be reached`, {
            retryable: true,
            details: { host },
          });
        }
        await res.body?.cancel().catch(() => undefined);
        const details = { status: res.status, host };
        if (res.status >= 200 && res.status < 300) {
          ctx.logger.info({ event: n.event, host }, "teams notification posted");
          return undefined;
        }
        if (res.status === 401 || res.status === 403)
          throw rwError("RW_ERR_CONNECTOR_AUTH", `the Teams workflow refused the URL (HTTP ${res.status})`, {
            details,
          });
        if (res.status === 429 || res.status >= 500)
          throw rwError(
            res.status === 429 ? "RW_ERR_CONNECTOR_RATE_LIMITED" : "RW_ERR_CONNECTOR_UNREACHABLE",
            `the Teams workflow failed (HTTP ${res.status})`,
            {
              retryable: true,
              details: { ...details, retryAfterMs: (Number(res.headers.get("retry-after")) || 1) * 1_000 },
            },
          );
        throw rwError(
          "RW_ERR_CONNECTOR_REJECTED",
          `the Teams workflow rejected the card (HTTP ${res.status})`,
          { details },
        );
      },
      describe: (n) => `Adaptive Card ${n.event} to the Teams workflow at ${host}`,
    };
  },
});

export default teamsNotifier;
