import { readerRule } from "./types.js";

/** `runbook/invalid-front-matter`: front matter that is not valid YAML, or not a mapping. Found by front-matter.ts. */
export const invalidFrontMatter = readerRule("runbook/invalid-front-matter", "error");
