import { readerRule } from "./types.js";

/** `runbook/unknown-annotation`: a step annotation key that no entry in annotations/ declares. Found by interpretAnnotations (annotations.ts). */
export const unknownAnnotation = readerRule("runbook/unknown-annotation", "error");
