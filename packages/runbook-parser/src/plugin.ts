import type { Root } from "mdast";
import remarkFrontmatter from "remark-frontmatter";
import type { Processor } from "unified";
import type { VFile } from "vfile";
import { analyzeTree, type ParseOptions, stripBom } from "./parse.js";
import type { Diagnostic, Runbook } from "./schema.js";

declare module "vfile" {
  interface DataMap {
    /** The runbook `remarkRunbook` read from the file; absent when it has errors. */
    runbook: Runbook | undefined;
    /** Every diagnostic `remarkRunbook` reported, also present as `file.messages`. */
    runbookDiagnostics: Diagnostic[];
  }
}

/** Options of {@link remarkRunbook}: the same as {@link parseRunbook}'s. */
export type RemarkRunbookOptions = ParseOptions;

/**
 * A unified plugin that reads the document as a runbook: the runbook goes on
 * `file.data.runbook`, and every diagnostic becomes a vfile message with `place`, `ruleId`
 * (`runbook/…`) and `source` `"runwarden"` (`fatal: true` for errors, `false` for warnings).
 * It enables YAML front matter itself, so `remark().use(remarkRunbook)` is enough.
 */
export default function remarkRunbook(this: Processor, options: RemarkRunbookOptions = {}) {
  if (options === null || typeof options !== "object") {
    throw new TypeError("remarkRunbook: options must be an object such as { warningsAsErrors: true }");
  }
  remarkFrontmatter.call(this as never, ["yaml"]);
  return (tree: Root, file: VFile): undefined => {
    const result = analyzeTree(tree, stripBom(String(file.value)), options);
    file.data.runbook = result.runbook;
    file.data.runbookDiagnostics = result.diagnostics;
    for (const d of result.diagnostics) {
      const message = file.message(d.message, {
        place:
          d.endLine !== undefined && d.endColumn !== undefined
            ? { start: { line: d.line, column: d.column }, end: { line: d.endLine, column: d.endColumn } }
            : { line: d.line, column: d.column },
        ruleId: d.ruleId,
        source: "runwarden",
      });
      message.fatal = d.severity === "error";
    }
    return undefined;
  };
}

export { remarkRunbook };
