import { createHmac } from "node:crypto";
import { sampleNotification, testNotifier } from "@runwarden/connector-testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approvalRunbook, type Harness, setup } from "../../../http-adapter/test/helpers.js";
import { slackBlocks, slackNotifier, verifySlackSignature } from "../src/index.js";
import { fakeSlack } from "./fake-slack.js";

// biome-ignore lint/suspicious/noExplicitAny: the tests read Slack JSON field by field
type Json = any;

const TOKEN = "xoxb-1234-5678-abcdefghijkl";
const SIGNING = "8f742231b10e8888abcd99yyyzzz85a5";
let slack: Awaited<ReturnType<typeof fakeSlack>>;
let h: Harness;
let runbookId: number;

beforeAll(async () => {
  slack = await fakeSlack(TOKEN);
});
afterAll(async () => {
  await h?.close();
  await slack.close();
});

testNotifier(slackNotifier, {
  config: () => ({ botToken: TOKEN, signingSecret: SIGNING, channel: "C0123ABCD", apiUrl: slack.apiUrl }),
  failingConfig: () => ({
    botToken: "xoxb-0000-wrong-token",
    signingSecret: SIGNING,
    channel: "C0123ABCD",
    apiUrl: slack.apiUrl,
  }),
  received: () => slack.messages.map((m) => JSON.stringify(m)),
});

/** A Slack interactivity request signed per Slack's spec (or not). */
function interaction(
  payload: Record<string, unknown>,
  sign: { secret?: string; at?: number; omit?: boolean } = {},
): { body: string; headers: Record<string, string> } {
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const at = String(sign.at ?? Math.floor(Date.now() / 1000));
  const mac = createHmac("sha256", sign.secret ?? SIGNING)
    .update(`v0:${at}:${body}`)
    .digest("hex");
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (!sign.omit)
    Object.assign(headers, { "x-slack-request-timestamp": at, "x-slack-signature": `v0=${mac}` });
  return { body, headers };
}

function click(
  user: string,
  message: { channel: string; ts: string; blocks?: Record<string, Json>[] },
  action = "runwarden_approve",
) {
  const actions = message.blocks!.find((b) => b.type === "actions")!;
  const button = actions.elements.find((e: Json) => e.action_id === action);
  return {
    type: "block_actions",
    user: { id: user, team_id: "T0001" },
    team: { id: "T0001" },
    container: { type: "message", channel_id: message.channel, message_ts: message.ts },
    response_url: slack.responseUrl(user),
    actions: [{ action_id: action, block_id: actions.block_id, value: button.value, type: "button" }],
  };
}

async function post(req: { body: string; headers: Record<string, string> }) {
  return h.call("POST", "/notifiers/slack/interactions", {
    token: null,
    body: req.body,
    headers: req.headers,
  });
}

async function pendingApproval(title: string) {
  const t = await h.json("POST", "/tickets/demo/ticket?auto_execute=false", {
    json: { title, service: "nginx" },
  });
  const s = await h.json("POST", "/executions", {
    token: h.tokens.operator,
    json: { ticket_id: t.body.ticket.id, runbook_id: runbookId },
  });
  await h.engine.executions.settled(s.body.session.id);
  const pending = await h.json("GET", `/approvals?status=pending&session_id=${s.body.session.id}`);
  await h.engine.notifications!.flush();
  return {
    approval: pending.body.items[0],
    message: structuredClone(slack.messages.at(-1)!),
    sessionId: s.body.session.id as number,
  };
}

describe("Slack", () => {
  beforeAll(async () => {
    h = await setup({
      engine: {
        connectors: [
          {
            connector: slackNotifier,
            config: { botToken: TOKEN, signingSecret: SIGNING, channel: "C0123ABCD", apiUrl: slack.apiUrl },
          },
        ],
        notifications: { rules: [{ name: "all", channels: ["slack"] }], manual: true },
      },
    });
    runbookId = (await h.json("POST", "/runbooks", { json: { markdown: approvalRunbook } })).body.runbook.id;
    await h.json("POST", `/runbooks/${runbookId}/approve`);
  });

  it("posts Block Kit with the command, target, risk, expiry, starter and Approve/Reject buttons", async () => {
    const { approval, message } = await pendingApproval("Disk full on web-1");
    const text = JSON.stringify(message.blocks);
    expect(text).toContain(approval.rendered_command);
    expect(text).toContain(approval.target);
    expect(text).toContain("medium_risk");
    expect(text).toContain(approval.expires_at);
    expect(text).toContain("otto");
    expect(text).toContain("runwarden_approve");
    expect(text).toContain("runwarden_reject");
  });

  it("refuses forged, replayed and unsigned interactions with 401 and changes nothing", async () => {
    const { approval, message } = await pendingApproval("Disk full on web-2");
    const payload = click("U0FORGE", message);
    const updates = slack.calls.filter((c) => c.method === "chat.update").length;
    expect((await post(interaction(payload, { secret: "not-the-signing-secret-at-all" }))).status).toBe(401);
    expect((await post(interaction(payload, { at: Math.floor(Date.now() / 1000) - 301 }))).status).toBe(401);
    expect((await post(interaction(payload, { omit: true }))).status).toBe(401);
    const tampered = interaction(payload);
    tampered.body = tampered.body.replace("runwarden_approve", "runwarden_reject");
    expect((await post(tampered)).status).toBe(401);
    expect((await h.json("GET", `/approvals/${approval.id}`)).body.status).toBe("pending");
    expect(slack.calls.filter((c) => c.method === "chat.update").length).toBe(updates);
    expect(slack.ephemeral.filter((e) => String(e.text).includes("U0FORGE"))).toEqual([]);
  });

  it("an unlinked user gets an ephemeral link; once linked, the click approves and chat.update shows who", async () => {
    const { approval, message } = await pendingApproval("Disk full on web-3");
    const first = await post(interaction(click("U0ALICE", message)));
    expect(first.status).toBe(200);
    expect((await h.json("GET", `/approvals/${approval.id}`)).body.status).toBe("pending");
    const reply = slack.ephemeral.at(-1)!;
    expect(reply.response_type).toBe("ephemeral");
    const token = /token=([A-Za-z0-9_.-]+)/.exec(String(reply.text))![1]!;

    const link = await h.json("POST", "/notifiers/slack/links", {
      token: h.tokens.approver,
      json: { link_token: token },
    });
    expect(link.status).toBe(201);
    expect(link.body).toMatchObject({ external_user: "T0001:U0ALICE", actor: "alice" });
    const again = await h.json("POST", "/notifiers/slack/links", {
      token: h.tokens.approver2,
      json: { link_token: token },
    });
    expect(again.status).toBe(422);

    expect((await post(interaction(click("U0ALICE", message)))).status).toBe(200);
    const decided = (await h.json("GET", `/approvals/${approval.id}`)).body;
    expect(decided.status).toBe("approved");
    expect(decided.decisions[0].actor).toBe("alice");
    const updated = slack.messages.find((m) => m.ts === message.ts)!;
    expect(updated.updates).toBe(1);
    expect(updated.text).toContain("alice approved");

    // One decision wins: a second approver's click is refused to them alone.
    await post(interaction(click("U0BOB", message)));
    const bobToken = /token=([A-Za-z0-9_.-]+)/.exec(String(slack.ephemeral.at(-1)!.text))![1]!;
    await h.json("POST", "/notifiers/slack/links", {
      token: h.tokens.approver2,
      json: { link_token: bobToken },
    });
    expect((await post(interaction(click("U0BOB", message, "runwarden_reject")))).status).toBe(200);
    expect((await h.json("GET", `/approvals/${approval.id}`)).body.status).toBe("approved");
    expect(String(slack.ephemeral.at(-1)!.text)).toMatch(/^Not rejected:/);
    expect(updated.updates).toBe(1);
  });

  it("refuses a linked person without the approver role, ephemerally, and the approval stays pending", async () => {
    const { approval, message } = await pendingApproval("Disk full on web-4");
    await post(interaction(click("U0VERA", message)));
    const token = /token=([A-Za-z0-9_.-]+)/.exec(String(slack.ephemeral.at(-1)!.text))![1]!;
    expect(
      (
        await h.json("POST", "/notifiers/slack/links", {
          token: h.tokens.viewer,
          json: { link_token: token },
        })
      ).status,
    ).toBe(201);
    await post(interaction(click("U0VERA", message)));
    expect(String(slack.ephemeral.at(-1)!.text)).toMatch(/^Not approved:/);
    expect((await h.json("GET", `/approvals/${approval.id}`)).body.status).toBe("pending");
  });

  it("refuses a click whose binding hash no longer matches the approval", async () => {
    const { approval, message } = await pendingApproval("Disk full on web-5");
    const payload = click("U0ALICE", message);
    payload.actions[0]!.value = JSON.stringify({ id: approval.id, h: "0".repeat(64) });
    expect((await post(interaction(payload))).status).toBe(200);
    expect(String(slack.ephemeral.at(-1)!.text)).toContain("out of date");
    expect((await h.json("GET", `/approvals/${approval.id}`)).body.status).toBe("pending");
  });
});

describe("verifySlackSignature", () => {
  it("accepts Slack's documented example signature only within 5 minutes of its timestamp", () => {
    // The example on https://api.slack.com/authentication/verifying-requests-from-slack
    const body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const sig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    expect(verifySlackSignature(SIGNING, "1531420618", sig, body, 1531420618 + 10)).toBe(true);
    expect(verifySlackSignature(SIGNING, "1531420618", sig, body, 1531420618 + 301)).toBe(false);
    expect(verifySlackSignature(SIGNING, "1531420618", sig, `${body}x`, 1531420618)).toBe(false);
  });

  it("keeps a long command within Block Kit's limits", () => {
    const long = {
      ...sampleNotification,
      approval: { ...sampleNotification.approval!, renderedCommand: "x".repeat(10_000) },
    };
    const section = slackBlocks(long).find((b: Json) => String(b.text?.text ?? "").includes("xxx")) as Json;
    expect(section.text.text.length).toBeLessThanOrEqual(3000);
  });
});
