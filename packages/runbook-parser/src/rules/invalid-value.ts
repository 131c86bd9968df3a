import { readerRule } from "./types.js";

/** `runbook/invalid-value`: a bad annotation value (each annotation's file in annotations/ reads and checks its value) or a bad front matter value (FrontMatterSchema). */
export const invalidValue = readerRule("runbook/invalid-value", "error");
