import { createTestContext, sampleNotification, testNotifier } from "@runwarden/connector-testkit";
import type { NotifierConnector } from "@runwarden/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { teamsMessage, teamsNotifier } from "../src/index.js";
import { fakeTeams } from "./fake-teams.js";

// biome-ignore lint/suspicious/noExplicitAny: the tests read card JSON field by field
type Json = any;

let teams: Awaited<ReturnType<typeof fakeTeams>>;
beforeAll(async () => {
  teams = await fakeTeams();
});
afterAll(() => teams.close());

testNotifier(teamsNotifier, {
  config: () => ({ webhookUrl: teams.url }),
  failingConfig: () => ({ webhookUrl: teams.wrongUrl }),
  received: () => teams.cards.map((c) => JSON.stringify(c)),
});

const post = async (message: unknown) =>
  fetch(teams.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(message),
  });

describe("Teams notifier", () => {
  it("sends an Adaptive Card 1.4 with the approval's facts, the command and a link to the approval", async () => {
    const config = teamsNotifier.configSchema.parse({ webhookUrl: teams.url });
    const n = teamsNotifier.create(config, createTestContext().ctx) as NotifierConnector;
    await n.send(sampleNotification, { idempotencyKey: "k", signal: AbortSignal.timeout(5_000) });
    const card = teams.cards.at(-1) as Record<string, Json>;
    expect(card.version).toBe("1.4");
    expect(JSON.stringify(card.body)).toContain("systemctl restart nginx");
    expect(card.body.find((b: { type: string }) => b.type === "FactSet").facts).toContainEqual({
      title: "Target",
      value: "web-01",
    });
    expect(card.actions).toEqual([
      { type: "Action.OpenUrl", title: "Open the approval", url: sampleNotification.url },
    ]);
  });

  it("the fake enforces the schema version the card declares", async () => {
    const message = teamsMessage(sampleNotification) as { attachments: { content: Record<string, Json> }[] };
    const card = message.attachments[0]!.content;
    expect((await post(message)).status).toBe(202);
    card.version = "1.1"; // fontType (Monospace) arrived in 1.2
    expect((await post(message)).status).toBe(400);
    card.version = "1.4";
    card.body.push({ type: "Table", columns: [], rows: [] }); // Table arrived in 1.5
    expect((await post(message)).status).toBe(400);
    card.version = "1.6";
    expect((await post(message)).status).toBe(400);
    expect(teams.refusals.slice(-3)).toEqual([
      "TextBlock.fontType needs 1.2",
      "Table needs 1.5, card declares 1.4",
      "unsupported card version 1.6",
    ]);
  });

  it("keeps the workflow URL (a secret) out of errors", async () => {
    const config = teamsNotifier.configSchema.parse({ webhookUrl: teams.wrongUrl });
    const n = teamsNotifier.create(config, createTestContext().ctx) as NotifierConnector;
    const err = await n
      .send(sampleNotification, { idempotencyKey: "k", signal: AbortSignal.timeout(5_000) })
      .catch((e: Error) => e);
    expect(String((err as Error).message)).not.toContain("wrong-signature");
    expect(JSON.stringify((err as { details?: unknown }).details)).not.toContain("sig=");
  });
});
