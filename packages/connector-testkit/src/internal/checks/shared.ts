/** What every check shares: connector and input codes, error labels, an operation's shape. */
import { isRunwardenError } from "@runwarden/core";
import { violation } from "../violation.js";

/** An operation of a monitoring or ticketing connector, run against a failing target. */
export type Operation = (instance: unknown, options: { signal: AbortSignal }) => Promise<unknown>;

export const connectorCodes: readonly string[] = [
  "RW_ERR_CONNECTOR_UNREACHABLE",
  "RW_ERR_CONNECTOR_AUTH",
  "RW_ERR_CONNECTOR_TIMEOUT",
  "RW_ERR_CONNECTOR_NOT_FOUND",
  "RW_ERR_CONNECTOR_CONFLICT",
  "RW_ERR_CONNECTOR_RATE_LIMITED",
  "RW_ERR_CONNECTOR_REJECTED",
];
export const inputCodes: readonly string[] = [
  "RW_ERR_INPUT_INVALID",
  "RW_ERR_INPUT_TOO_LARGE",
  "RW_ERR_INPUT_MALFORMED",
];

export function expectConnectorCode(rule: string, label: string, error: unknown): void {
  if (!isRunwardenError(error) || !connectorCodes.includes(error.code))
    violation(rule, `${label} failed with ${describeError(error)}, not one of ${connectorCodes.join(", ")}`);
}

export async function caught(body: () => Promise<unknown>): Promise<unknown> {
  try {
    await body();
  } catch (error) {
    return error ?? new Error("rejected with nothing");
  }
  return undefined;
}

/** A short label for an error: its code, or its name and the start of its message. */
export function describeError(error: unknown): string {
  if (isRunwardenError(error)) return error.code;
  if (error instanceof Error) return `${error.name}: ${error.message.slice(0, 160)}`;
  return `${typeof error} ${String(error).slice(0, 80)}`;
}

export function describeValue(value: unknown): string {
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value)?.slice(0, 80) ?? String(value);
  } catch {
    return String(value);
  }
}
