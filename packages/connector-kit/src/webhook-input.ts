/**
 * Guards for untrusted webhook input: constant-time secret comparison, header lookup, JSON body
 * recovery with a size limit, and zod issues turned into `RW_ERR_INPUT_INVALID`.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { rwError, type WebhookRequest } from "@runwarden/core";
import type { z } from "zod";

/**
 * Compares two secrets in constant time, whatever their lengths: both sides are hashed first, so
 * neither the content nor the length of the expected value leaks through timing.
 */
export function safeEqual(received: string, expected: string): boolean {
  const a = createHash("sha256").update(received, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b) && received.length === expected.length;
}

/** A request header, looked up case-insensitively; `undefined` when it is absent. */
export function header(headers: WebhookRequest["headers"], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/**
 * Refuses a body over `maxBytes` (`RW_ERR_INPUT_TOO_LARGE`), then returns the parsed JSON body:
 * `request.body` when the host parsed it, else `rawBody` parsed here (`RW_ERR_INPUT_INVALID` when
 * it is not JSON). `vendor` names the sender in messages: `"Alertmanager"`.
 */
export function webhookBody(request: WebhookRequest, maxBytes: number, vendor: string): unknown {
  const size = Buffer.byteLength(request.rawBody ?? "", "utf8");
  if (size > maxBytes) {
    throw rwError(
      "RW_ERR_INPUT_TOO_LARGE",
      `${vendor} webhook body is ${size} bytes, over the ${maxBytes} limit`,
      {
        details: {
          fields: [{ path: "body", message: `larger than ${maxBytes} bytes` }],
          size,
          limit: maxBytes,
        },
      },
    );
  }
  if (request.body !== undefined) return request.body;
  try {
    return JSON.parse(request.rawBody) as unknown;
  } catch {
    throw rwError("RW_ERR_INPUT_INVALID", `${vendor} webhook body is not JSON`, {
      details: { fields: [{ path: "body", message: "not valid JSON" }] },
    });
  }
}

/**
 * The first `limit` zod issues as `{ path, message }` (path dotted, `body` for the root), so a
 * hostile payload cannot blow up an error.
 */
export function issueFields(error: z.ZodError, limit = 20): { path: string; message: string }[] {
  return error.issues.slice(0, limit).map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join(".") : "body",
    message: issue.message,
  }));
}

/**
 * Validates `value` with `schema` and returns the parsed output, or throws `RW_ERR_INPUT_INVALID`
 * whose message names the first refused field and whose `details.fields` lists up to 20 of them.
 * `what` names the input in the message: `"Datadog webhook payload"`.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields = issueFields(result.error);
  const first = fields[0];
  throw rwError("RW_ERR_INPUT_INVALID", `${what} is invalid: ${first?.path}: ${first?.message}`, {
    details: { fields, issueCount: result.error.issues.length },
  });
}

/** Cuts a string to `max` characters (the `TicketInput` limits), the last one an ellipsis. */
export function clip(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}
