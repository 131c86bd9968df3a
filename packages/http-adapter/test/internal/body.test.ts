import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseJson } from "../../src/internal/body.js";
import { type Harness, setup } from "../helpers.js";

let h: Harness;
beforeAll(async () => {
  h = await setup({ adapter: { webhooks: { generic: { secret: "generic-secret-0123456789" } } } });
});
afterAll(async () => {
  await h.close();
});

/** `{"a":{"a":…1…}}` nested `depth` objects deep, as text (never built as an object). */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

describe("parseJson", () => {
  it("refuses text nested past 64 levels with RW_ERR_INPUT_MALFORMED without recursing", () => {
    expect(() => parseJson(`[${"[".repeat(1_000_000)}`)).toThrow(
      expect.objectContaining({ code: "RW_ERR_INPUT_MALFORMED", details: { maxDepth: 64 } }),
    );
    expect(parseJson(nested(64))).toBeTypeOf("object");
    expect(() => parseJson(nested(65))).toThrow(/nested deeper than 64 levels/);
  });

  it("does not count brackets inside strings, escaped quotes included", () => {
    const text = JSON.stringify({ s: `\\"${"{[".repeat(500)}` });
    expect(parseJson(text)).toEqual({ s: `\\"${"{[".repeat(500)}` });
  });
});

describe("deeply nested JSON bodies", () => {
  // Within every route's size limit (1 MiB by default), far past any stack.
  const deep = nested(20_000);
  const routes: [string, string, string, Record<string, string>][] = [
    [
      "a generic webhook",
      "POST",
      "/tickets/webhook/generic",
      { "x-runwarden-webhook-secret": "generic-secret-0123456789" },
    ],
    ["a ticket's meta_data", "POST", "/tickets/demo/ticket", {}],
    ["connection options", "POST", "/connectors/infrastructure-connections", {}],
    ["a credential body", "POST", "/connectors/credentials", {}],
    ["a runbook as JSON", "POST", "/runbooks", {}],
  ];
  for (const [kind, method, path, headers] of routes) {
    it(`answers 400 RW_ERR_INPUT_MALFORMED with the reason for ${kind}`, async () => {
      const body = `{"title":"deep","name":"deep","markdown":"# x","meta_data":${deep}}`;
      const r = await h.json(method, path, {
        body,
        headers: { "content-type": "application/json", ...headers },
      });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({
        code: "RW_ERR_INPUT_MALFORMED",
        message: "request body is nested deeper than 64 levels",
      });
    });
  }
});
