import { readTemplateBody } from "@runwarden/connector-kit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WebhookPayload, webhookTemplate } from "../src/payload.js";

const keys = Object.keys(WebhookPayload.shape);
const keyPattern = new RegExp(`"(${keys.join("|")})"\\s*:`);

/** What OpManager posts (as far as we know): the template with each variable replaced by its value, not escaped. */
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
  it("gives back every value OpManager substituted without escaping: quotes, commas, braces, newlines", () => {
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
          entity: fc.integer({ min: 1, max: 1e9 }).map((n) => `${n}_DiskUtilization`),
          severity: fc.constantFrom("Critical", "Clear"),
          message: value,
          device_name: value,
        }),
        (values) => {
          const read = readTemplateBody(substituted(values), keys);
          expect(read).toBeDefined();
          for (const [key, v] of Object.entries(values)) expect(read![key]).toBe(v);
          expect(read!.event_type).toBe("$eventType");
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps a Windows path as written, and unescapes valid JSON content", () => {
    expect(readTemplateBody('{"message": "C:\\ full", "device_name": "a\\u0041"}', keys)).toEqual({
      message: "C:\\ full",
      device_name: "aA",
    });
  });

  it("refuses what does not have the template's shape", () => {
    for (const raw of [
      "",
      "[]",
      '{"x": "y"}',
      '{"message": nope}',
      '{"message": "a" "device_name": "b"}',
      "message",
    ]) {
      expect(readTemplateBody(raw, keys), raw).toBeUndefined();
    }
  });
});
