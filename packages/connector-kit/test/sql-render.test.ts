import { describe, expect, it } from "vitest";
import { jsonSafe, renderTable } from "../src/sql-render.js";

describe("renderTable", () => {
  it("aligns columns and counts rows like psql", () => {
    expect(
      renderTable(
        ["id", "name"],
        [
          { id: 1, name: "alpha" },
          { id: 22, name: null },
        ],
        2,
      ),
    ).toBe("id | name\n---+------\n1  | alpha\n22 |\n(2 rows)\n");
  });

  it("says how many rows are shown when there are more than maxRows", () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({ n: i }));
    expect(renderTable(["n"], rows, 500, { maxRows: 2 })).toMatch(/\n\(500 rows, 2 shown\)\n$/);
  });

  it("escapes control characters and cuts long cells", () => {
    const out = renderTable(["v"], [{ v: `\u001b[2J${"y".repeat(100)}` }], 1, { maxWidth: 10 });
    expect(out).toContain("\\x1b[2Jyy…");
    expect(out).not.toContain("\u001b");
  });
});

describe("jsonSafe", () => {
  it("turns dates, bytes and bigints into strings, recursively", () => {
    expect(
      jsonSafe({
        at: new Date("2024-01-02T03:04:05Z"),
        raw: Buffer.from([1, 255]),
        big: 2n ** 64n,
        list: [new Date(0)],
      }),
    ).toEqual({
      at: "2024-01-02T03:04:05.000Z",
      raw: "\\x01ff",
      big: "18446744073709551616",
      list: ["1970-01-01T00:00:00.000Z"],
    });
  });
});
