import { readTemplateBody } from "@runwarden/connector-kit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WebhookPayload, webhookTemplate } from "../src/payload.js";

const keys = Object.keys(WebhookPayload.shape);
const keyPattern = new RegExp(`"(${keys.join("|")})"\\s*:`);

/** What Orion posts: the template with each variable replaced by its value, not escaped. */
function substituted(values: Record<string, string>): string {
  let body = JSON.stringify(webhookTemplate, null, 2);
  for (const [key, value] of Object.entries(values)) {
    body = body.replace(
      `"${key}": "${(webhookTemplate as Record<string, string>)[key]}"`,
      () => `"${key}": "${value}"`,
    );
  }
  return body;
}

describe("readTemplateBody", () => {
  it("gives back every value Orion substituted without escaping: quotes, commas, braces, newlines", () => {
    // Mostly the characters that break JSON or our reading of it, plus any text.
    const tricky = fc
      .array(fc.constantFrom('"', ",", "{", "}", ":", "\n", " ", "a", "Z", "0", '", "', '": "'), {
        maxLength: 30,
      })
      .map((parts) => parts.join(""));
    const value = fc
      .oneof(tricky, fc.string({ maxLength: 60, unit: "grapheme" }))
      .filter((v) => !v.includes("\\") && !keyPattern.test(v));
    fc.assert(
      fc.property(
        fc.record({
          AlertObjectID: fc.integer({ min: 1, max: 1e9 }).map(String),
          AlertName: value,
          AlertMessage: value,
          NodeName: value,
        }),
        (values) => {
          const read = readTemplateBody(substituted(values), keys);
          expect(read).toBeDefined();
          for (const [key, v] of Object.entries(values)) expect(read![key]).toBe(v);
          expect(read!.Event).toBe("Trigger");
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps a Windows path as written, and unescapes valid JSON content", () => {
    expect(readTemplateBody('{"AlertName": "C:\\ full", "NodeName": "a\\u0041"}', keys)).toEqual({
      AlertName: "C:\\ full",
      NodeName: "aA",
    });
  });

  it("refuses what does not have the template's shape", () => {
    for (const raw of [
      "",
      "[]",
      '{"x": "y"}',
      '{"AlertName": nope}',
      '{"AlertName": "a" "NodeName": "b"}',
      "AlertName",
    ]) {
      expect(readTemplateBody(raw, keys), raw).toBeUndefined();
    }
  });
});
