import { readerRule } from "./types.js";

/** `runbook/malformed-annotation`: an annotation list or fence attributes that do not parse. Found by annotations.ts (the list and JSON readers). */
export const malformedAnnotation = readerRule("runbook/malformed-annotation", "error");
