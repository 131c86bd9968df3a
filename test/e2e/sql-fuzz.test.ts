/**
 * Issue 13, "Prove it": a differential fuzzer for SQL steps on real MariaDB and PostgreSQL,
 * through the engine and the real connectors. It generates SQL step templates (list items and
 * ```sql fences) with placeholders where values may stand, and templates with a placeholder inside
 * quotes or comments, and hostile values (quotes, backslashes, `--`, `#`, `;`, `/*`, unicode).
 * An accepted template must store exactly the value, as one row (a bound parameter: no statement
 * the template did not hold, no other row); a refused one must be refused before it runs.
 *
 * Fixed seed, bounded runs: RUNWARDEN_FUZZ_RUNS (default 200 per dialect) and
 * RUNWARDEN_FUZZ_SEED to reproduce or explore further locally.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSqlEngine, type Dialect, type SqlEngine } from "./fixtures/sql-engine.js";

const runs = Number(process.env.RUNWARDEN_FUZZ_RUNS ?? 200);
const seed = Number(process.env.RUNWARDEN_FUZZ_SEED ?? 1313);

let sql: SqlEngine;
beforeAll(async () => {
  sql = await createSqlEngine();
});
afterAll(async () => {
  await sql?.close();
});

/** C0/C1 controls and line separators are refused by the renderer before any connector: not generated. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: excluding control characters is the point
const control = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const hostilePiece = fc.constantFrom(
  "'",
  "''",
  '"',
  "\\",
  "\\'",
  "`",
  "--",
  "#",
  ";",
  "/*",
  "*/",
  "$$",
  "$1",
  "?",
  "%",
  "_",
  " or 1=1",
  "; DROP TABLE victims; ",
  "x\\' or 1=1 #",
  "') OR ('1'='1",
  "ü",
  "😀",
  "𝟘",
  "\u00a0",
  "ʼ",
  "＇",
  " ",
);
const hostileValue = fc
  .array(fc.oneof(hostilePiece, fc.string({ unit: "grapheme", maxLength: 4 })), { maxLength: 8 })
  .map((pieces) => pieces.join(""))
  .filter((value) => !control.test(value));

const a = "{{ticket.meta_data.a}}";
const run = "{{ticket.meta_data.run}}";
/** Templates whose placeholders stand where SQL takes a value. */
const accepted = fc.constantFrom(
  `INSERT INTO fuzz (run, v) VALUES (${run}, ${a})`,
  `INSERT INTO fuzz (run, v) VALUES (${run}, COALESCE(${a}, 'x'))`,
  `/* fuzz */ INSERT INTO fuzz (run, v) VALUES (${run}, ${a}) -- done`,
  `INSERT INTO fuzz (v, run) VALUES (${a}, ${run})`,
);
/** Templates with a placeholder inside a string, an identifier or a comment: refused. */
const refused = fc.constantFrom(
  `INSERT INTO fuzz (run, v) VALUES (${run}, '${a}')`,
  `INSERT INTO fuzz (run, v) VALUES (${run}, 'x') -- ${a}`,
  `INSERT INTO fuzz (run, v) VALUES (${run}, /* ${a} */ 'x')`,
  `INSERT INTO fuzz (run, v) VALUES (${run}, "${a}")`,
);
const form = fc.constantFrom("list", "fence");

function runbook(template: string, how: "list" | "fence", dialect: Dialect): string {
  const step =
    how === "list"
      ? `- \`${template}\` (connection: ${dialect})`
      : `\`\`\`sql {connection=${dialect}}\n${template}\n\`\`\``;
  return `# Fuzz\n\n## Main Steps\n\n${step}\n`;
}

let nextRun = 0;
async function rowsOf(dialect: Dialect, id: string) {
  return sql.query(dialect, `SELECT v FROM fuzz WHERE run = '${id}'`);
}

describe("SQL steps under a differential fuzzer", () => {
  for (const dialect of ["mariadb", "postgresql"] as const) {
    it(`binds every value as a parameter on ${dialect}: exactly the value, one row, nothing else`, async () => {
      await fc.assert(
        fc.asyncProperty(accepted, form, hostileValue, async (template, how, value) => {
          const id = String(++nextRun);
          const detail = await sql.run(runbook(template, how, dialect), { run: id, a: value });
          expect(detail.planError).toBeUndefined();
          expect(detail.steps[0]).toMatchObject({ language: "sql", status: "succeeded" });
          expect(await rowsOf(dialect, id)).toEqual([{ v: value }]);
        }),
        { seed, numRuns: runs },
      );
      const [{ n } = { n: -1 }] = await sql.query(dialect, "SELECT COUNT(*) AS n FROM victims");
      expect(Number(n)).toBe(3);
    });

    it(`refuses a placeholder inside quotes or comments on ${dialect} before anything runs`, async () => {
      await fc.assert(
        fc.asyncProperty(refused, form, hostileValue, async (template, how, value) => {
          const id = String(++nextRun);
          const detail = await sql.run(runbook(template, how, dialect), { run: id, a: value });
          expect(detail.planError).toMatch(/RW_ERR_EXEC_TEMPLATE/);
          expect(detail.session.status).toBe("failed");
          expect(await rowsOf(dialect, id)).toEqual([]);
        }),
        { seed, numRuns: Math.max(10, Math.round(runs / 3)) },
      );
    });
  }
});
