/**
 * The SQL renderer under generated templates and hostile values (issue 13, "Prove it"): a value
 * in a code position is always a bound parameter (the statement text is the template's own text,
 * whatever the value), and a placeholder inside a string, a quoted identifier or a comment is
 * refused. The same properties run against real PostgreSQL and MariaDB in test/e2e/sql-fuzz.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Ticket } from "../../src/domain.js";
import { renderCommand } from "../../src/executor/templates.js";

const runs = Number(process.env.RUNWARDEN_FUZZ_RUNS ?? 200);
const seed = Number(process.env.RUNWARDEN_FUZZ_SEED ?? 1313);

const ticket = (metaData: Record<string, string>) =>
  ({ id: 1, title: "t", description: "", metaData, analysis: null }) as unknown as Ticket;

// biome-ignore lint/suspicious/noControlCharactersInRegex: excluding control characters is the point
const control = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const hostile = fc
  .array(
    fc.oneof(
      fc.constantFrom("'", '"', "\\", "--", "#", ";", "/*", "*/", "$$", "$1", "?", "`", " or 1=1", "ü", "😀"),
      fc.string({ unit: "grapheme", maxLength: 4 }),
    ),
    { maxLength: 6 },
  )
  .map((p) => p.join(""))
  .filter((v) => !control.test(v));

/** SQL text without quotes, comments or dollar signs: every gap between pieces is a code position. */
const codeText = fc.constantFrom(
  "SELECT ",
  ", ",
  " AS v",
  " FROM t WHERE x = ",
  " + ",
  "(",
  ")",
  " AND y IN (",
  "",
);

describe("SQL templates under generated values", () => {
  it("binds every value in a code position and never puts it in the statement text", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(codeText, hostile), { minLength: 1, maxLength: 5 }),
        codeText,
        (pairs, tail) => {
          const template = pairs.map(([text], i) => `${text}{{ticket.meta_data.v${i}}}`).join("") + tail;
          const values = Object.fromEntries(pairs.map(([, value], i) => [`v${i}`, value]));
          const rendered = renderCommand(template, "sql", { ticket: ticket(values), vars: {} });
          expect(rendered.sql?.values).toEqual(pairs.map(([, value]) => value));
          expect(rendered.sql?.parts).toEqual([...pairs.map(([text]) => text), tail]);
        },
      ),
      { seed, numRuns: runs },
    );
  });

  it("refuses a placeholder inside a string, a quoted identifier or a comment, whatever the value", () => {
    const quoted = fc.constantFrom(
      (p: string) => `SELECT '${p}'`,
      (p: string) => `SELECT 'a''${p}'`,
      (p: string) => `SELECT "${p}"`,
      (p: string) => `SELECT 1 -- ${p}`,
      (p: string) => `SELECT /* ${p} */ 1`,
      (p: string) => `SELECT $$ ${p} $$`,
      (p: string) => `SELECT $tag$ ${p} $tag$`,
    );
    fc.assert(
      fc.property(quoted, hostile, (wrap, value) => {
        expect(() =>
          renderCommand(wrap("{{ticket.meta_data.v}}"), "sql", { ticket: ticket({ v: value }), vars: {} }),
        ).toThrow(expect.objectContaining({ code: "RW_ERR_EXEC_TEMPLATE" }));
      }),
      { seed, numRuns: runs },
    );
  });
});
