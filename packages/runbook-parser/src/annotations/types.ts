import type { Expect, FailureAction, StepSeverity } from "../schema.js";

/** The step fields annotations can set. */
export interface StepAnnotations {
  name?: string;
  language?: string;
  requiresApproval?: boolean;
  severity?: StepSeverity;
  timeoutMs?: number;
  retries?: number;
  connection?: string;
  expect?: Expect;
  onFailure?: FailureAction;
  idempotent?: boolean;
  /** The command that undoes the step when the session rolls back (trimmed, not yet checked for templates). */
  compensate?: string;
}

/**
 * One step annotation: its key as the formatter writes it, other spellings, and how its value is
 * read. Register a new one in annotations/index.ts.
 */
export interface AnnotationSpec<Key extends string = string> {
  /** The canonical key, snake_case (`requires_approval`). */
  key: Key;
  /** Other accepted keys, already normalized (`approval_required`). */
  aliases?: readonly string[];
  /** Keys that set the same field: a step with both has a duplicate annotation. */
  conflicts?: readonly string[];
  /**
   * Reads the value as written (a string, `true` for a bare flag, or a JSON value) into `into`.
   * Returns undefined when it is valid, else what was expected, which becomes
   * `runbook/invalid-value` "<key>: <value> is not valid: <expected>".
   */
  read(value: unknown, into: StepAnnotations): string | undefined;
}

/** Declares an annotation (keeps its key's literal type for `AnnotationKey`). */
export function defineAnnotation<const Key extends string>(spec: AnnotationSpec<Key>): AnnotationSpec<Key> {
  return spec;
}
