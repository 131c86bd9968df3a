import type { Diagnostic } from "./schema.js";

const BRAND = Symbol.for("runwarden.error");

/**
 * Thrown by `parseRunbookOrThrow` when a runbook has errors. Match on `code`, not `instanceof`:
 * two copies of the library can coexist. Core's `RunwardenError` carries the same brand and code.
 */
export class RunbookInvalidError extends Error {
  /** Always `RW_ERR_RUNBOOK_INVALID`. */
  readonly code = "RW_ERR_RUNBOOK_INVALID" as const;
  /** Always false: the same Markdown fails the same way. */
  readonly retryable = false;
  /** Every error diagnostic, in document order. */
  readonly diagnostics: readonly Diagnostic[];
  /** The same diagnostics, where core's errors keep their details. */
  readonly details: { readonly diagnostics: readonly Diagnostic[] };
  /**
   * The cross-copy brand (`Symbol.for("runwarden.error")`) that core's `isRunwardenError`
   * recognises.
   */
  readonly [BRAND] = true;

  constructor(diagnostics: readonly Diagnostic[]) {
    const count = diagnostics.length;
    const lines = diagnostics.map((d) => `  ${d.line}:${d.column} ${d.ruleId} ${d.message}`);
    super(`runbook is invalid (${count} error${count === 1 ? "" : "s"}):\n${lines.join("\n")}`);
    this.name = "RunbookInvalidError";
    this.diagnostics = diagnostics;
    this.details = { diagnostics };
  }
}

/** Whether `value` is a runbook-invalid error, from this or any other copy of the library. */
export function isRunbookInvalidError(value: unknown): value is RunbookInvalidError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true &&
    (value as { code?: unknown }).code === "RW_ERR_RUNBOOK_INVALID"
  );
}
