import compensate from "./compensate.js";
import connection from "./connection.js";
import expect from "./expect.js";
import expectExitCode from "./expect-exit-code.js";
import expectOutput from "./expect-output.js";
import idempotent from "./idempotent.js";
import language from "./language.js";
import name from "./name.js";
import onFailure from "./on-failure.js";
import requiresApproval from "./requires-approval.js";
import retries from "./retries.js";
import severity from "./severity.js";
import timeout from "./timeout.js";
import type { AnnotationSpec } from "./types.js";

/** Every step annotation, in the order the formatter writes them. Add a new one here. */
export const annotationSpecs = [
  name,
  language,
  severity,
  requiresApproval,
  timeout,
  retries,
  connection,
  expect,
  expectExitCode,
  expectOutput,
  onFailure,
  idempotent,
  compensate,
] as const;

/** A canonical annotation key. */
export type AnnotationKey = (typeof annotationSpecs)[number]["key"];

/** Every annotation key, as the formatter writes it. */
export const annotationKeys: readonly AnnotationKey[] = annotationSpecs.map((s) => s.key);

const byKey = new Map<string, AnnotationSpec<AnnotationKey>>();
for (const spec of annotationSpecs as readonly AnnotationSpec<AnnotationKey>[]) {
  byKey.set(spec.key, spec);
  for (const alias of spec.aliases ?? []) byKey.set(alias, spec);
}

/** The annotation a normalized key (or alias) names, or undefined. */
export function annotationFor(normalizedKey: string): AnnotationSpec<AnnotationKey> | undefined {
  return byKey.get(normalizedKey);
}
