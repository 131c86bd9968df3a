import { readerRule } from "./types.js";

/** `runbook/unknown-metadata`: an unknown front matter key (it is ignored). Found by front-matter.ts. */
export const unknownMetadata = readerRule("runbook/unknown-metadata", "warning");
