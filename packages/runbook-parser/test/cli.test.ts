import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { type LintIo, nodeIo, runLint } from "../src/internal/lint.js";

function memoryIo(files: Record<string, string>): LintIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => {
      io.out += t;
    },
    stderr: (t: string) => {
      io.err += t;
    },
    readFile: async (path: string) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
      return text;
    },
    listMarkdown: async () => undefined,
  };
  return io;
}

describe("runLint", () => {
  it("prints file:line:column severity ruleId message and exits 1 when a file has errors", async () => {
    const io = memoryIo({
      "ok.md": "# T\n\n## Main Steps\n- `a`\n",
      "bad.md": "# T\n\n## Precheks\n\n## Main Steps\n- `a` (severity: extreme)\n",
    });
    expect(await runLint(["ok.md", "bad.md"], io)).toBe(1);
    expect(io.out).toBe(
      'bad.md:3:1 warning runbook/unknown-section "Precheks" is not a runbook section, so its content is kept as a note and runs nothing (did you mean "Prechecks"?)\n' +
        'bad.md:6:18 error runbook/invalid-value severity: "extreme" is not valid: expected safe, low_risk, medium_risk or high_risk\n' +
        "2 files checked: 1 error, 1 warning\n",
    );
  });

  it("exits 0 when there are only warnings, and 1 with --warnings-as-errors", async () => {
    const files = { "w.md": "# T\n\n## Main Steps\n- `a` (on_failure: rollback)\n" };
    expect(await runLint(["w.md"], memoryIo(files))).toBe(0);
    expect(await runLint(["--warnings-as-errors", "w.md"], memoryIo(files))).toBe(1);
  });

  it("reports an unreadable file and exits 2 on usage errors", async () => {
    const io = memoryIo({});
    expect(await runLint(["missing.md"], io)).toBe(1);
    expect(io.out).toContain("missing.md:1:1 error runbook/unreadable-file");
    expect(await runLint([], memoryIo({}))).toBe(2);
    expect(await runLint(["--nope", "a.md"], memoryIo({}))).toBe(2);
    const help = memoryIo({});
    expect(await runLint(["--help"], help)).toBe(0);
    expect(help.out).toContain("Usage: runwarden-lint");
  });

  it("checks every Markdown file but README.md when given a directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rw-lint-"));
    await writeFile(join(dir, "a.md"), "# A\n\n## Main Steps\n- `a`\n");
    await writeFile(join(dir, "README.md"), "# About these runbooks\n");
    await writeFile(join(dir, "notes.txt"), "x");
    expect(await nodeIo.listMarkdown(dir)).toEqual([join(dir, "a.md")]);
    expect(await nodeIo.listMarkdown(join(dir, "a.md"))).toBeUndefined();
  });
});

describe("runwarden-lint", () => {
  it("runs as a command and sets the exit code", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rw-lint-"));
    const file = join(dir, "bad.md");
    await writeFile(file, "## Main Steps\n- `a`\n");
    const run = promisify(execFile);
    const cli = join(import.meta.dirname, "../src/cli.ts");
    const failure = await run(process.execPath, ["--import", "tsx", cli, file]).catch(
      (err: { code: number; stdout: string }) => err,
    );
    expect("code" in failure && failure.code).toBe(1);
    expect(failure.stdout).toContain(`${file}:1:1 error runbook/missing-title`);
  });
});
