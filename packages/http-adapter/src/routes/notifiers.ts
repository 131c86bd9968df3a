/**
 * Decisions from chat notifications: `POST /notifiers/{name}/interactions` takes the channel's
 * interactivity request (Slack's button clicks), verified by the notifier itself (Slack's request
 * signature), and decides through the same `engine.approvals` rules as the API (roles, four-eyes,
 * the binding hash, one decision wins). The person is the one linked to the channel user:
 * `POST /notifiers/{name}/links` makes that link once, from the dashboard, with the one-time
 * link token an unlinked click is answered with. `POST /notifiers/{name}/approval-links` redeems
 * a one-time signed link an e-mail carried (verified by the notifier, bound to the approval and its
 * binding hash): the dashboard page it opens then shows the approval with the usual buttons.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "@hono/zod-openapi";
import {
  isRunwardenError,
  type NotifierConnector,
  type NotifierInteraction,
  type Role,
  rwError,
} from "@runwarden/core";
import { fromNodeHttp, readText } from "../internal/body.js";
import type { Ctx } from "../internal/endpoint.js";
import type { RouteContext } from "./context.js";

const NameParams = z.object({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/, "a notifier name (kebab-case)")
    .openapi({ param: { name: "name", in: "path" }, example: "slack" }),
});
const LinkBody = z.object({ link_token: z.string().min(10).max(1_000) }).openapi("NotifierLinkInput");
const LinkResult = z
  .object({ channel: z.string(), external_user: z.string(), actor: z.string() })
  .openapi("NotifierLink");

const ApprovalLinkBody = z.object({ token: z.string().min(10).max(2_000) }).openapi("ApprovalLinkInput");
const ApprovalLinkResult = z
  .object({
    channel: z.string(),
    approval_id: z.number().int(),
    recipient: z.string(),
    expires_at: z.string(),
  })
  .openapi("ApprovalLink");

const linkTtlMs = 15 * 60_000;
const personKey = (channel: string, user: string) => `notify:${channel}:person:${user}`;

function headerRecord(c: Ctx): Record<string, string> {
  const headers: Record<string, string> = {};
  c.req.raw.headers.forEach((value, key) => {
    headers[key] = value;
  });
  return headers;
}

export function notifierRoutes(route: RouteContext): void {
  const { engine } = route;
  const storage = engine.storage;

  async function linkKey(): Promise<Buffer> {
    const stored = await storage.getValue("notify:link-key");
    if (stored) return Buffer.from(stored, "base64");
    const key = randomBytes(32);
    await storage.setValue("notify:link-key", key.toString("base64"));
    return Buffer.from((await storage.getValue("notify:link-key")) ?? key.toString("base64"), "base64");
  }
  async function linkToken(channel: string, user: string): Promise<string> {
    const body = Buffer.from(JSON.stringify({ c: channel, u: user, e: Date.now() + linkTtlMs })).toString(
      "base64url",
    );
    const mac = createHmac("sha256", await linkKey())
      .update(body)
      .digest("base64url");
    return `${body}.${mac}`;
  }

  function notifier(name: string): NotifierConnector {
    const instance = engine.connectors.notifier(name);
    if (typeof instance.parseInteraction !== "function")
      throw rwError("RW_ERR_PLUGIN_NOT_FOUND", `the notifier "${name}" takes no interactions`, {
        details: { kind: "notifier", name },
      });
    return instance;
  }

  route.add({
    method: "post",
    path: "/notifiers/{name}/interactions",
    tag: "connectors",
    summary: "Receive a decision made on a chat notification (Slack interactivity)",
    description:
      "Verified by the notifier (Slack: `X-Slack-Signature`, v0 HMAC-SHA256 over `v0:timestamp:body`, timestamp within 5 minutes); an unsigned, forged or replayed request answers 401 and changes nothing. The decision goes through the approval rules with the linked person's roles; a refusal is answered to that person alone (an ephemeral message), the request itself answers 200 as Slack expects.",
    access: "custom",
    params: NameParams,
    requestBody: {
      description: "The channel's request (Slack: a form with `payload`)",
      content: { "application/x-www-form-urlencoded": { schema: z.unknown() } },
    },
    responses: {
      200: { description: "Handled (decided, or refused to the person)" },
      401: { description: "Not signed by the channel" },
    },
    async handler(c, { params }) {
      const instance = notifier(params.name);
      const rawBody = await readText(c.req.raw, route.limits.webhookBytes, fromNodeHttp(c.env));
      const interaction = instance.parseInteraction!({ headers: headerRecord(c), rawBody });
      const signal = AbortSignal.timeout(10_000);
      const refuse = (text: string) => instance.refuse?.(interaction, text, signal).catch(() => undefined);
      const linked = await storage.getValue(personKey(params.name, interaction.externalUser));
      if (!linked) {
        const token = await linkToken(params.name, interaction.externalUser);
        const base = route.apiUrl(c).replace(/\/api\/v1$/, "");
        await refuse(
          `Your ${params.name} user is not linked to a Runwarden person yet. Open ${base}/#/link-notifier?channel=${params.name}&token=${token} while signed in to link it (once), then click again.`,
        );
        return c.body(null, 200);
      }
      const person = JSON.parse(linked) as { id: string; roles: Role[] };
      await decide(instance, interaction, person, refuse, signal);
      return c.body(null, 200);
    },
  });

  async function decide(
    instance: NotifierConnector,
    interaction: NotifierInteraction,
    person: { id: string; roles: Role[] },
    refuse: (text: string) => Promise<void> | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      const approval = await engine.approvals.get(interaction.approvalId);
      if (approval.bindingHash !== interaction.bindingHash) {
        await refuse(
          "This message is out of date: what the step would run changed. Open the approval in Runwarden.",
        );
        return;
      }
      const options = { actor: { id: person.id, roles: person.roles }, origin: "slack", comment: "" };
      const decided =
        interaction.decision === "approve"
          ? await engine.approvals.approve(approval.id, options)
          : await engine.approvals.reject(approval.id, options);
      const verb = interaction.decision === "approve" ? "approved" : "rejected";
      await instance
        .showDecision?.(
          interaction,
          `${person.id} ${verb} "${approval.stepTitle ?? approval.stepName}" on ${approval.target} (approval ${decided.id}, now ${decided.status}).`,
          signal,
        )
        .catch(() => undefined);
    } catch (err) {
      if (!isRunwardenError(err)) throw err;
      await refuse(`Not ${interaction.decision === "approve" ? "approved" : "rejected"}: ${err.message}`);
    }
  }

  route.add({
    method: "post",
    path: "/notifiers/{name}/links",
    tag: "connectors",
    summary: "Link your chat user to yourself (once), with the link token a click was answered with",
    description:
      "The token names the channel user and is signed by this server, valid for 15 minutes and once. The link carries the caller's current roles; link again after a role change.",
    access: { roles: ["viewer", "operator", "approver", "admin"] },
    params: NameParams,
    body: { wire: LinkBody },
    responses: { 201: { description: "Linked", wire: LinkResult } },
    async handler(c, { params, body, actor }) {
      const [payload, mac] = (body as z.infer<typeof LinkBody>).link_token.split(".", 2);
      const expected = createHmac("sha256", await linkKey())
        .update(payload ?? "")
        .digest();
      const given = Buffer.from(mac ?? "", "base64url");
      const invalid = () => rwError("RW_ERR_INPUT_INVALID", "the link token is invalid, used or expired");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
      const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as {
        c: string;
        u: string;
        e: number;
      };
      if (claims.c !== params.name || claims.e < Date.now()) throw invalid();
      const used = `notify:link-used:${mac}`;
      if (await storage.getValue(used)) throw invalid();
      await storage.setValue(used, "1");
      await storage.setValue(
        personKey(params.name, claims.u),
        JSON.stringify({ id: actor.id, roles: actor.roles }),
      );
      await engine.audit.record({
        actor: actor.id,
        action: "notifier.linked",
        objectType: "connector",
        objectId: `notifier/${params.name}`,
        details: { externalUser: claims.u },
      });
      return c.json({ channel: params.name, external_user: claims.u, actor: actor.id }, 201);
    },
  });

  route.add({
    method: "post",
    path: "/notifiers/{name}/approval-links",
    tag: "connectors",
    summary: "Redeem a one-time approval link from a notification (an e-mail), signed in",
    description:
      "The token is the one the link carried: signed by the notifier (HMAC-SHA256), expiring (with the approval, at most the notifier's link lifetime), bound to one approval and its binding hash. It is consumed here, once: a forged, expired, used or out-of-date link answers 422 RW_ERR_INPUT_INVALID with a message for the person (`details.reason`: forged, expired, used, stale) and changes nothing. Redeeming decides nothing: the page then shows the approval, and the decision is `POST /approvals/{id}/approve|reject` with the caller's roles (four-eyes, one decision wins).",
    access: { roles: ["viewer", "operator", "approver", "admin"] },
    params: NameParams,
    body: { wire: ApprovalLinkBody },
    responses: { 200: { description: "The approval the link points at", wire: ApprovalLinkResult } },
    async handler(c, { params, body, actor }) {
      const instance = engine.connectors.notifier(params.name);
      if (typeof instance.verifyLink !== "function")
        throw rwError("RW_ERR_PLUGIN_NOT_FOUND", `the notifier "${params.name}" sends no approval links`, {
          details: { kind: "notifier", name: params.name },
        });
      const link = instance.verifyLink((body as z.infer<typeof ApprovalLinkBody>).token);
      const approval = await engine.approvals.get(link.approvalId);
      if ((approval.bindingHash ?? "") !== link.bindingHash)
        throw rwError(
          "RW_ERR_INPUT_INVALID",
          "This link is out of date: what the step would run changed since the e-mail was sent. Open the approval from the dashboard.",
          { details: { reason: "stale" } },
        );
      // Single use: a second redeem of the same link is refused. (Two redeems racing could both
      // pass; the link only opens the page, and the decision itself is one-wins.)
      const used = `notify:${params.name}:approval-link-used:${link.nonce}`;
      if (await storage.getValue(used))
        throw rwError(
          "RW_ERR_INPUT_INVALID",
          "This link was already used (each link works once). Open the approval from the dashboard's Approvals tab.",
          { details: { reason: "used" } },
        );
      await storage.setValue(used, JSON.stringify({ by: actor.id, at: new Date().toISOString() }));
      await engine.audit.record({
        actor: actor.id,
        action: "notifier.approval_link_redeemed",
        objectType: "approval",
        objectId: String(approval.id),
        details: { channel: params.name, recipient: link.recipient },
      });
      return c.json(
        {
          channel: params.name,
          approval_id: approval.id,
          recipient: link.recipient,
          expires_at: link.expiresAt,
        },
        200,
      );
    },
  });
}
