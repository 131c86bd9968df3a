import { readerRule } from "./types.js";

/** `runbook/duplicate-annotation`: the same annotation twice on one step (expect with expect_exit_code or expect_output counts). Found by interpretAnnotations (annotations.ts). */
export const duplicateAnnotation = readerRule("runbook/duplicate-annotation", "error");
