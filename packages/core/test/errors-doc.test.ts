import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { errorCatalog } from "../src/errors.js";

const doc = readFileSync(join(import.meta.dirname, "../../../docs/errors.md"), "utf8");
/** The table rows of docs/errors.md: `| \`CODE\` | status | retryable | when | fix | since |`. */
const rows = doc
  .split("\n")
  .filter((line) => line.startsWith("| `RW_ERR_"))
  .map((line) =>
    line
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim())
      .slice(1, -1),
  );

describe("docs/errors.md", () => {
  it("lists exactly the codes of the catalogue, each once, when compared", () => {
    const documented = rows.map((r) => r[0]?.replace(/`/g, ""));
    expect([...documented].sort()).toEqual(Object.keys(errorCatalog).sort());
    expect(new Set(documented).size).toBe(documented.length);
  });

  it("gives each code its status, retryability, when, fix and version as the catalogue does", () => {
    for (const [code, status, retryable, when, fix, since] of rows) {
      const info = errorCatalog[code!.replace(/`/g, "") as keyof typeof errorCatalog];
      expect(Number(status)).toBe(info.status);
      expect(retryable).toBe(info.retryable ? "yes" : "no");
      expect(when?.replace(/\\\|/g, "|")).toBe(info.when);
      expect(fix?.replace(/\\\|/g, "|")).toBe(info.fix);
      expect(since).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });
});
