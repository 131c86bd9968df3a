/**
 * Every failure leaves the adapter as `{ error: { code, message, fields?, details? } }` with the
 * status the error catalogue gives its code. Bad input is always a 4xx; only a fault of ours
 * (or of a dependency) is a 5xx, and then the message says nothing about internals.
 */

import { z } from "@hono/zod-openapi";
import { type ErrorCode, errorCatalog, isRunwardenError, rwError } from "@runwarden/core";
import { HTTPException } from "hono/http-exception";
import { toSnake, wirePath } from "./wire.js";

/** One refused field: a dotted snake_case path and why. */
export const FieldError = z.object({ field: z.string(), message: z.string() }).openapi("FieldError");

/** The body of every error response. */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "RW_ERR_INPUT_INVALID" }),
      message: z.string(),
      fields: z.array(FieldError).optional(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi("Error");
export type ErrorBody = z.infer<typeof ErrorBody>;

export interface MappedError {
  status: number;
  body: ErrorBody;
  /** True when it is our fault (5xx): log it with its cause. */
  internal: boolean;
}

/** zod issues → wire field errors (never the input value, which may hold a secret). */
export function fieldsOf(error: z.ZodError): { field: string; message: string }[] {
  return error.issues.map((issue) => ({ field: wirePath(issue.path) || "(body)", message: issue.message }));
}

/** A 422 RW_ERR_INPUT_INVALID for a zod failure at the boundary. */
export function invalidInput(error: z.ZodError, what = "request body"): Error {
  const fields = fieldsOf(error);
  const first = fields[0];
  return rwError(
    "RW_ERR_INPUT_INVALID",
    `invalid ${what}${first ? `: ${first.field}: ${first.message}` : ""}`,
    {
      details: { fields },
    },
  );
}

/** Converts details' keys to snake_case, deeply (details never hold user JSON). */
function snakeDetails(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => snakeDetails(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[toSnake(k)] = snakeDetails(v, depth + 1);
  return out;
}

function fieldsFromDetails(
  details: Record<string, unknown>,
): { field: string; message: string }[] | undefined {
  const raw = details["fields"] ?? details["issues"];
  if (!Array.isArray(raw)) return undefined;
  // A connector's own configuration keeps its keys as its schema spells them.
  const verbatim = details["fieldsVerbatim"] === true;
  const fields: { field: string; message: string }[] = [];
  for (const entry of raw) {
    if (typeof entry !== "object" || entry === null) continue;
    const e = entry as Record<string, unknown>;
    const rawPath = e["path"] ?? e["field"];
    const path = Array.isArray(rawPath)
      ? wirePath(rawPath as PropertyKey[])
      : typeof rawPath === "string"
        ? verbatim
          ? rawPath
          : rawPath.split(".").map(toSnake).join(".")
        : "(body)";
    fields.push({ field: path || "(body)", message: String(e["message"] ?? "is invalid") });
  }
  return fields;
}

/** Maps anything thrown by a handler to a status and an error body. */
export function mapError(err: unknown): MappedError {
  if (isRunwardenError(err)) {
    const details = err.details ? { ...err.details } : undefined;
    const fields = details ? fieldsFromDetails(details) : undefined;
    if (details) {
      delete details["fields"];
      delete details["fieldsVerbatim"];
      if (fields && details["issues"]) delete details["issues"];
    }
    const status = err.status;
    const internal =
      status >= 500 && !err.code.startsWith("RW_ERR_CONNECTOR_") && status !== 503 && status !== 504;
    const body: ErrorBody = {
      error: {
        code: err.code,
        message: internal ? "internal error" : err.message,
        ...(fields && fields.length > 0 ? { fields } : {}),
        ...(details && Object.keys(details).length > 0 && !internal
          ? { details: snakeDetails(details) as Record<string, unknown> }
          : {}),
      },
    };
    // Keep the code of a configuration problem visible: it tells an operator where to look.
    if (internal) body.error.message = `internal error (${err.code})`;
    return { status, body, internal };
  }
  if (err instanceof z.ZodError) return mapError(invalidInput(err));
  if (err instanceof HTTPException) {
    const status = err.status;
    const code: ErrorCode =
      status === 415
        ? "RW_ERR_INPUT_MEDIA_TYPE"
        : status === 413
          ? "RW_ERR_INPUT_TOO_LARGE"
          : status === 401
            ? "RW_ERR_AUTH_UNAUTHENTICATED"
            : status === 404
              ? "RW_ERR_INPUT_NO_ROUTE"
              : "RW_ERR_INPUT_MALFORMED";
    const message =
      code === "RW_ERR_INPUT_MALFORMED" ? "request body is not valid JSON" : err.message || code;
    return { status: errorCatalog[code].status, body: { error: { code, message } }, internal: false };
  }
  return {
    status: 500,
    body: { error: { code: "RW_ERR_INTERNAL", message: "internal error" } },
    internal: true,
  };
}
