import { locateFrontMatterValue } from "../front-matter.js";
import { regexHazard } from "../internal/regex-safety.js";
import type { Rule } from "./types.js";

/**
 * `runbook/unsafe-regex`: a regular expression the runbook's author wrote (an `expect` output
 * pattern, run on command output; a front matter `match` pattern, run on ticket text) that can
 * backtrack catastrophically: text that almost matches would take exponential or high-polynomial
 * time. See internal/regex-safety.ts for what is flagged.
 */
export const unsafeRegex: Rule = {
  id: "runbook/unsafe-regex",
  severity: "error",
  check({ doc, report }) {
    const match = doc.metadata?.match;
    if (match !== undefined && doc.frontMatterEnd !== undefined) {
      const patterns = [
        ["title_pattern", match.titlePattern],
        ["description_pattern", match.descriptionPattern],
      ] as const;
      for (const [key, source] of patterns) {
        const hazard = source === undefined ? undefined : regexHazard(source);
        if (hazard === undefined) continue;
        const range = locateFrontMatterValue(doc.source, doc.frontMatterEnd, ["match", key]) ?? {
          start: 0,
          end: 0,
        };
        report(
          `front matter match.${key} /${source}/ can backtrack catastrophically on ticket text that almost matches: ${hazard.message}`,
          range.start,
          range.end,
        );
      }
    }
    for (const step of doc.steps) {
      const source = step.values.expect?.output;
      if (source === undefined) continue;
      const hazard = regexHazard(source);
      if (hazard === undefined) continue;
      const key = step.valueRanges.expect_output !== undefined ? "expect_output" : "expect";
      const range = step.valueRanges[key] ?? { start: step.offset, end: step.offset };
      report(
        `${key}: /${source}/ can backtrack catastrophically on output that almost matches: ${hazard.message}`,
        range.start,
        range.end,
      );
    }
  },
};
