import type { WebhookRequest } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { clip, header, issueFields, parseInput, safeEqual, webhookBody } from "../src/webhook-input.js";
import { thrown } from "./support.js";

const request = (rawBody: string, body?: unknown): WebhookRequest => ({ headers: {}, rawBody, body });

describe("safeEqual", () => {
  it("is true only when the secrets are identical", () => {
    expect(safeEqual("s3cret-token", "s3cret-token")).toBe(true);
    expect(safeEqual("s3cret-token", "s3cret-tokeN")).toBe(false);
    expect(safeEqual("s3cret", "s3cret-token")).toBe(false);
    expect(safeEqual("", "s3cret-token")).toBe(false);
    expect(safeEqual("é", "é")).toBe(true);
  });
});

describe("header", () => {
  it("finds a header whatever its case, and skips undefined values", () => {
    const headers = { "X-Runwarden-Secret": "a", authorization: undefined, Authorization: "Bearer t" };
    expect(header(headers, "x-runwarden-secret")).toBe("a");
    expect(header(headers, "AUTHORIZATION")).toBe("Bearer t");
    expect(header(headers, "missing")).toBeUndefined();
  });
});

describe("webhookBody", () => {
  it("returns the host's parsed body when there is one", () => {
    expect(webhookBody(request('{"a":1}', { a: 1 }), 100, "Acme")).toEqual({ a: 1 });
  });

  it("parses rawBody when the host did not", () => {
    expect(webhookBody(request('{"a":[1,2]}'), 100, "Acme")).toEqual({ a: [1, 2] });
  });

  it("throws INPUT_INVALID when rawBody is not JSON", () => {
    const error = thrown(() => webhookBody(request("a=1&b=2"), 100, "Acme"));
    expect(error.code).toBe("RW_ERR_INPUT_INVALID");
    expect(error.message).toBe("Acme webhook body is not JSON");
    expect(error.details).toEqual({ fields: [{ path: "body", message: "not valid JSON" }] });
  });

  it("throws INPUT_TOO_LARGE when the body is over the limit in bytes", () => {
    const error = thrown(() => webhookBody(request(`"${"é".repeat(30)}"`, "parsed"), 50, "Acme"));
    expect(error.code).toBe("RW_ERR_INPUT_TOO_LARGE");
    expect(error.message).toBe("Acme webhook body is 62 bytes, over the 50 limit");
    expect(error.details).toMatchObject({ size: 62, limit: 50 });
  });
});

describe("issueFields", () => {
  it("lists dotted paths, the root as body, and stops at the limit", () => {
    const result = z
      .object({ a: z.object({ b: z.string() }), list: z.array(z.number()) })
      .safeParse({ a: { b: 1 }, list: ["x", "y", "z"] });
    if (result.success) throw new Error("expected a failure");
    expect(issueFields(result.error, 2).map((f) => f.path)).toEqual(["a.b", "list.0"]);
    const root = z.string().safeParse(3);
    if (root.success) throw new Error("expected a failure");
    expect(issueFields(root.error)[0]?.path).toBe("body");
  });
});

describe("parseInput", () => {
  const Alert = z.object({ id: z.string(), severity: z.enum(["low", "high"]).default("low") });

  it("returns the parsed output when the input is valid", () => {
    expect(parseInput(Alert, { id: "a1" }, "Acme alert")).toEqual({ id: "a1", severity: "low" });
  });

  it("throws INPUT_INVALID naming the first refused field when the input is invalid", () => {
    const error = thrown(() => parseInput(Alert, { severity: "urgent" }, "Acme alert"));
    expect(error.code).toBe("RW_ERR_INPUT_INVALID");
    expect(error.message).toMatch(/^Acme alert is invalid: id: /);
    expect(error.details).toMatchObject({ issueCount: 2 });
    expect(error.details?.fields).toHaveLength(2);
  });

  it("caps the listed fields at 20 when a hostile payload has more issues", () => {
    const error = thrown(() =>
      parseInput(
        z.array(z.string()),
        Array.from({ length: 50 }, () => 1),
        "list",
      ),
    );
    expect(error.details?.fields).toHaveLength(20);
    expect(error.details?.issueCount).toBe(50);
  });
});

describe("clip", () => {
  it("keeps short strings and ends cut ones with an ellipsis within max", () => {
    expect(clip("short", 10)).toBe("short");
    expect(clip("abcdefghij", 10)).toBe("abcdefghij");
    expect(clip("abcdefghijk", 10)).toBe("abcdefghi…");
  });
});
