// Runs the suite itself in a child vitest on a generated test file and reads its JSON report: a
// connector breaking a rule makes `testConnector` FAIL, and a capability it does not declare is
// reported as skipped with the capability's name, never as passed.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../../..");
const support = join(import.meta.dirname, "support/connectors.ts");

interface Assertion {
  title: string;
  status: "passed" | "failed" | "skipped" | "pending";
  failureMessages: string[];
}

async function runSuite(source: string): Promise<Assertion[]> {
  // Inside the repository (test-artifacts/ is ignored by git and by the test globs) so the
  // workspace aliases resolve packages from their sources.
  const dir = await mkdtemp(join(root, "test-artifacts", "suite-"));
  try {
    await writeFile(join(dir, "suite.test.ts"), source);
    await writeFile(
      join(dir, "vitest.config.ts"),
      `import base from ${JSON.stringify(join(root, "vitest.config.ts"))};\n` +
        `export default { resolve: base.resolve, test: { include: ["suite.test.ts"], testTimeout: 20000 } };\n`,
    );
    const out = join(dir, "report.json");
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [join(root, "node_modules/vitest/vitest.mjs"), "run", "--reporter=json", `--outputFile=${out}`],
        { cwd: dir, stdio: "ignore" },
      );
      child.on("error", reject);
      child.on("exit", () => resolve());
    });
    const report = JSON.parse(await readFile(out, "utf8")) as {
      testResults: { assertionResults: Assertion[] }[];
    };
    return report.testResults.flatMap((file) => file.assertionResults);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("testConnector, run by vitest", () => {
  let results: Assertion[];
  beforeAll(async () => {
    await import("node:fs/promises").then((fs) =>
      fs.mkdir(join(root, "test-artifacts"), { recursive: true }),
    );
    results = await runSuite(`
import { rwError } from "@runwarden/core";
import { testConnector } from "@runwarden/connector-testkit";
import { memoryMonitor, SECRET } from ${JSON.stringify(support)};

// Declares webhook, verify-webhook and pull only; its pull fails with a plain Error.
const broken = memoryMonitor(
  (good) => ({
    acknowledge: undefined,
    resolve: undefined,
    healthCheck: undefined,
    async *pull({ signal }) {
      if (signal.aborted) throw rwError("RW_ERR_CONNECTOR_TIMEOUT", "aborted");
      throw new TypeError("fetch failed");
    },
  }),
  ["webhook", "verify-webhook", "pull"],
);
testConnector(broken, { config: { token: SECRET } });
`);
  }, 60_000);

  const find = (prefix: string) => {
    const found = results.find((r) => r.title.startsWith(prefix));
    if (!found) throw new Error(`no test titled ${prefix}…: ${results.map((r) => r.title).join(" | ")}`);
    return found;
  };

  it("fails the test of a rule the connector breaks, naming the rule", () => {
    const pull = find("pull:");
    expect(pull.status).toBe("failed");
    expect(pull.failureMessages.join("\n")).toContain("[contract/error-code]");
  });

  it("reports each capability the connector does not declare as skipped, not passed", () => {
    for (const capability of ["acknowledge", "resolve", "health-check"]) {
      expect(find(`${capability}:`).status, capability).toBe("skipped");
    }
  });

  it("passes the rules the connector keeps", () => {
    expect(find("registers through core's connector registry").status).toBe("passed");
    expect(find("keeps every secret out").status).toBe("passed");
  });
});
