// The webhook notifier configured through the API like every connector (secret sealed, masked),
// and the Connectors tab's "Send a test notification" endpoint.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Harness, setup } from "../../../http-adapter/test/helpers.js";
import { webhookNotifier } from "../src/index.js";
import { startReceiver } from "./receiver.js";

const SECRET = "whsec-config-api-0123456789";
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let h: Harness;
beforeAll(async () => {
  receiver = await startReceiver(SECRET);
});
afterAll(() => receiver.close());
afterEach(() => h?.close());

describe("the webhook notifier through the connector config API", () => {
  it("is listed as not configured, then configured by PUT with its secret masked, then sends a test notification", async () => {
    h = await setup({
      engine: {
        connectors: [
          { connector: webhookNotifier, notConfigured: { needs: ["url", "secret"], hint: "configure it" } },
        ],
      },
    });
    const listed = await h.json("GET", "/connectors/notifier", { token: h.tokens.viewer });
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([
      expect.objectContaining({ name: "webhook", status: "not_configured" }),
    ]);

    const before = await h.json("POST", "/connectors/notifier/webhook/test-notification", {
      token: h.tokens.operator,
    });
    expect(before.status).toBe(503);

    const put = await h.json("PUT", "/connectors/notifier/webhook/config", {
      json: { url: receiver.url, secret: SECRET },
    });
    expect(put.status).toBe(200);
    expect(JSON.stringify(put.body)).not.toContain(SECRET);
    const got = await h.json("GET", "/connectors/notifier/webhook/config", { token: h.tokens.operator });
    expect(got.body).toMatchObject({
      config: { url: receiver.url, secret: "********" },
      secret_paths: ["secret"],
    });

    const viewer = await h.json("POST", "/connectors/notifier/webhook/test-notification", {
      token: h.tokens.viewer,
    });
    expect(viewer.status).toBe(403);
    const count = receiver.accepted.length;
    const sent = await h.json("POST", "/connectors/notifier/webhook/test-notification", {
      token: h.tokens.operator,
    });
    expect(sent.status).toBe(200);
    expect(sent.body.delivered).toBe(true);
    expect(receiver.accepted.length).toBe(count + 1);
    expect(receiver.accepted.at(-1)!.headers["x-runwarden-event"]).toBe("test");
  });

  it("answers a refusing receiver with the connector's error, without the secret", async () => {
    h = await setup({
      engine: {
        connectors: [
          { connector: webhookNotifier, config: { url: receiver.url, secret: "not-the-receivers-secret" } },
        ],
      },
    });
    const res = await h.json("POST", "/connectors/notifier/webhook/test-notification", {
      token: h.tokens.operator,
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body.error.code).toBe("RW_ERR_CONNECTOR_AUTH");
    expect(JSON.stringify(res.body)).not.toContain("not-the-receivers-secret");
  });
});
