/**
 * The Slack notifier: `chat.postMessage` with Block Kit (the ticket, the exact rendered command,
 * target, risk, expiry, who started it) and Approve/Reject buttons; the interactivity request
 * verified per Slack's signing spec (`X-Slack-Signature: v0=HMAC-SHA256(signing secret,
 * "v0:<timestamp>:<body>")`, timestamp within 5 minutes); `chat.update` shows who decided and an
 * ephemeral reply (the interaction's `response_url`) tells a refused person why.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { defineConnector, type Notification, type NotifierConnector, rwError, secret } from "@runwarden/core";
import { z } from "zod";

/** The Slack notifier's configuration. */
export const SlackNotifierConfig = z
  .object({
    /** A bot token (`xoxb-…`) with the `chat:write` scope. */
    botToken: secret(z.string().regex(/^xoxb-[A-Za-z0-9-]+$/, "a Slack bot token (xoxb-…)")),
    /** The app's signing secret (Basic Information → App Credentials). */
    signingSecret: secret(z.string().min(16).max(128)),
    /** The channel ID messages go to (`C0123ABCD`). */
    channel: z.string().regex(/^[CGD][A-Z0-9]{6,20}$/, "a Slack channel ID (C…)"),
    /** The Web API root; tests point it at a fake. */
    apiUrl: z.url({ protocol: /^https?$/ }).default("https://slack.com/api"),
    timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  })
  .strict();
export type SlackNotifierConfig = z.infer<typeof SlackNotifierConfig>;

const maxAgeSec = 300;
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
/** Slack mrkdwn escaping: &, <, > (Slack's "Formatting text" page). */
const esc = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The Block Kit blocks of a notification. */
export function slackBlocks(n: Notification): unknown[] {
  const blocks: unknown[] = [{ type: "header", text: { type: "plain_text", text: clip(n.title, 150) } }];
  const a = n.approval;
  if (a) {
    blocks.push({
      type: "section",
      fields: [
        { type: "mrkdwn", text: `*Target*\n${esc(clip(a.target, 200))}` },
        { type: "mrkdwn", text: `*Risk*\n${esc(a.risk)}` },
        { type: "mrkdwn", text: `*Expires*\n${esc(a.expiresAt)}` },
        { type: "mrkdwn", text: `*Started by*\n${esc(clip(a.startedBy, 100))}` },
      ],
    });
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: `*Command*\n\`\`\`${esc(clip(a.renderedCommand, 2_800))}\`\`\`` },
    });
  }
  blocks.push({ type: "section", text: { type: "mrkdwn", text: esc(clip(n.text, 2_900)) } });
  if (
    a &&
    (n.event === "approval.requested" ||
      n.event === "approval.reminder" ||
      n.event === "approval.escalated" ||
      n.event === "approval.expiring")
  ) {
    const value = JSON.stringify({ id: a.id, h: a.bindingHash ?? "" });
    blocks.push({
      type: "actions",
      block_id: `runwarden_approval_${a.id}`,
      elements: [
        {
          type: "button",
          action_id: "runwarden_approve",
          style: "primary",
          text: { type: "plain_text", text: "Approve" },
          value,
        },
        {
          type: "button",
          action_id: "runwarden_reject",
          style: "danger",
          text: { type: "plain_text", text: "Reject" },
          value,
        },
        ...(n.url
          ? [
              {
                type: "button",
                action_id: "runwarden_open",
                text: { type: "plain_text", text: "Open" },
                url: n.url,
              },
            ]
          : []),
      ],
    });
  } else if (n.url) {
    blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: `<${n.url}|Open in Runwarden>` }] });
  }
  return blocks;
}

/** Whether `signature` is Slack's signature of `rawBody` at `timestamp`, made within 5 minutes of `nowSec`. */
export function verifySlackSignature(
  signingSecret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  rawBody: string,
  nowSec: number,
): boolean {
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp) || !/^v0=[0-9a-f]{64}$/.test(signature))
    return false;
  if (Math.abs(nowSec - Number(timestamp)) > maxAgeSec) return false;
  const mac = createHmac("sha256", signingSecret).update(`v0:${timestamp}:${rawBody}`).digest();
  return timingSafeEqual(mac, Buffer.from(signature.slice(3), "hex"));
}

const Interaction = z.object({
  type: z.literal("block_actions"),
  user: z.object({ id: z.string().max(40), team_id: z.string().max(40).optional() }),
  team: z
    .object({ id: z.string().max(40) })
    .nullable()
    .optional(),
  channel: z.object({ id: z.string().max(40) }).optional(),
  container: z
    .object({ message_ts: z.string().max(40).optional(), channel_id: z.string().max(40).optional() })
    .optional(),
  response_url: z.url().max(500).optional(),
  actions: z
    .array(z.object({ action_id: z.string().max(100), value: z.string().max(500).optional() }))
    .min(1),
});

/** The Slack notifier (kind `notifier`, name `slack`). */
export const slackNotifier = defineConnector({
  kind: "notifier",
  name: "slack",
  version: "0.1.0",
  sdk: "^0.1.0",
  description:
    "Slack: Block Kit messages with Approve/Reject buttons, decisions through signed interactivity",
  configSchema: SlackNotifierConfig,
  capabilities: ["notify", "describe"],
  vendorSetup: ({ baseUrl }) => [
    {
      title: "Create a Slack app with a bot token",
      text: "At api.slack.com/apps create an app, add the bot scope chat:write under OAuth & Permissions, install it to the workspace and copy the Bot User OAuth Token (xoxb-…) and, under Basic Information, the Signing Secret. Invite the bot to the channel (/invite @your-app) and copy the channel ID.",
    },
    {
      title: "Point Interactivity at Runwarden",
      text: "Under Interactivity & Shortcuts, turn Interactivity on and set the Request URL:",
      snippet: { language: "text", content: `${baseUrl}/api/v1/notifiers/slack/interactions` },
    },
    {
      title: "Link each approver once",
      text: "The first click of an unlinked Slack user is answered, to them alone, with a one-time link; opening it signed in to Runwarden (POST /api/v1/notifiers/slack/links) links that Slack user to the person.",
    },
  ],
  create(config, ctx): NotifierConnector {
    const api = config.apiUrl.replace(/\/+$/, "");
    async function call(
      method: string,
      body: Record<string, unknown>,
      signal: AbortSignal,
    ): Promise<Record<string, unknown>> {
      signal.throwIfAborted();
      let res: Response;
      try {
        res = await fetch(`${api}/${method}`, {
          method: "POST",
          headers: {
            "content-type": "application/json; charset=utf-8",
            authorization: `Bearer ${config.botToken}`,
          },
          body: JSON.stringify(body),
          redirect: "manual",
          signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]),
        });
      } catch {
        if (signal.aborted)
          throw rwError("RW_ERR_CONNECTOR_TIMEOUT", `Slack ${method} was aborted`, { retryable: true });
        throw rwError("RW_ERR_CONNECTOR_UNREACHABLE", `Slack ${method} could not be reached`, {
          retryable: true,
        });
      }
      if (res.status === 429) {
        const wait = Number(res.headers.get("retry-after")) || 1;
        throw rwError("RW_ERR_CONNECTOR_RATE_LIMITED", `Slack ${method} is rate limited`, {
          retryable: true,
          details: { retryAfterMs: wait * 1_000 },
        });
      }
      if (res.status >= 500)
        throw rwError("RW_ERR_CONNECTOR_UNREACHABLE", `Slack ${method} failed (HTTP ${res.status})`, {
          retryable: true,
        });
      const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (json.ok === true) return json;
      const error = typeof json.error === "string" ? json.error.slice(0, 80) : `HTTP ${res.status}`;
      if (
        [
          "not_authed",
          "invalid_auth",
          "account_inactive",
          "token_revoked",
          "token_expired",
          "missing_scope",
        ].includes(error)
      )
        throw rwError("RW_ERR_CONNECTOR_AUTH", `Slack refused the bot token (${error})`, {
          details: { error },
        });
      throw rwError("RW_ERR_CONNECTOR_REJECTED", `Slack ${method} refused the message (${error})`, {
        details: { error },
      });
    }
    const instance: NotifierConnector = {
      async send(n, { signal }) {
        const answer = await call(
          "chat.postMessage",
          { channel: config.channel, text: clip(n.title, 300), blocks: slackBlocks(n) },
          signal,
        );
        const ts = String(answer.ts ?? "");
        const channel = String(answer.channel ?? config.channel);
        ctx.logger.info({ event: n.event, channel }, "slack notification posted");
        return ts ? { messageRef: `${channel}:${ts}` } : undefined;
      },
      describe: (n) => `chat.postMessage ${n.event} to ${config.channel}`,
      parseInteraction({ headers, rawBody }) {
        const ok = verifySlackSignature(
          config.signingSecret,
          headers["x-slack-request-timestamp"],
          headers["x-slack-signature"],
          rawBody,
          Math.floor(ctx.now().getTime() / 1_000),
        );
        if (!ok)
          throw rwError(
            "RW_ERR_AUTH_UNAUTHENTICATED",
            "the request is not signed by Slack (or is older than 5 minutes)",
          );
        const payloadText = new URLSearchParams(rawBody).get("payload");
        let parsed: z.infer<typeof Interaction>;
        try {
          parsed = Interaction.parse(JSON.parse(payloadText ?? ""));
        } catch {
          throw rwError("RW_ERR_INPUT_INVALID", "not a Slack block_actions interaction");
        }
        const action = parsed.actions[0]!;
        const decision =
          action.action_id === "runwarden_approve"
            ? "approve"
            : action.action_id === "runwarden_reject"
              ? "reject"
              : undefined;
        let value: { id?: unknown; h?: unknown } = {};
        try {
          value = JSON.parse(action.value ?? "{}") as typeof value;
        } catch {
          // handled below
        }
        if (!decision || !Number.isInteger(value.id) || typeof value.h !== "string")
          throw rwError("RW_ERR_INPUT_INVALID", "the interaction is not a Runwarden decision");
        const team = parsed.team?.id ?? parsed.user.team_id ?? "";
        const channel = parsed.container?.channel_id ?? parsed.channel?.id;
        const ts = parsed.container?.message_ts;
        return {
          approvalId: value.id as number,
          decision,
          bindingHash: value.h,
          externalUser: `${team}:${parsed.user.id}`,
          ...(channel && ts ? { messageRef: `${channel}:${ts}` } : {}),
          ...(parsed.response_url ? { replyTo: parsed.response_url } : {}),
        };
      },
      async showDecision(interaction, text, signal) {
        if (!interaction.messageRef) return;
        const at = interaction.messageRef.indexOf(":");
        await call(
          "chat.update",
          {
            channel: interaction.messageRef.slice(0, at),
            ts: interaction.messageRef.slice(at + 1),
            text: clip(text, 300),
            blocks: [{ type: "section", text: { type: "mrkdwn", text: esc(clip(text, 2_900)) } }],
          },
          signal,
        );
      },
      async refuse(interaction, text, signal) {
        // Only to Slack's own response_url host: never follow a URL elsewhere with our answer.
        if (!interaction.replyTo) return;
        const url = new URL(interaction.replyTo);
        const allowed = url.protocol === "https:" && url.hostname === "hooks.slack.com";
        if (!allowed && url.origin !== new URL(api).origin) return;
        await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            response_type: "ephemeral",
            replace_original: false,
            text: clip(text, 1_000),
          }),
          signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]),
        }).catch(() => undefined);
      },
    };
    return instance;
  },
});

export default slackNotifier;
