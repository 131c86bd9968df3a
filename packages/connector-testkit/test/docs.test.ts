// The connector guide and the testkit README document every suite, every contract rule and every
// capability, the capability table generated from core's one list.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as testkit from "../src/index.js";
import { capabilityTable } from "../src/internal/docs.js";

const root = join(import.meta.dirname, "../../..");
const docs = {
  guide: readFileSync(join(root, "docs/writing-a-connector.md"), "utf8"),
  readme: readFileSync(join(import.meta.dirname, "../README.md"), "utf8"),
};
const between = (text: string) => {
  const start = text.indexOf("\n", text.indexOf("<!-- capabilities:start"));
  const end = text.indexOf("<!-- capabilities:end -->");
  return start > 0 && end > start ? text.slice(start + 1, end).trim() : "(no capabilities block)";
};

describe("capabilityTable", () => {
  for (const [name, text] of Object.entries(docs)) {
    it(`matches the generated table in the ${name} when core's capability list changes`, () => {
      expect(between(text)).toBe(capabilityTable());
    });
  }
});

describe("the docs", () => {
  const suites = Object.keys(testkit).filter((name) => /^test[A-Z]/.test(name));

  it("name every suite the testkit exports, in both the guide and the README", () => {
    expect(suites.sort()).toEqual([
      "testConnector",
      "testMonitoringWebhooks",
      "testNotifier",
      "testTicketingIdempotency",
    ]);
    for (const suite of suites) {
      expect(docs.guide, suite).toContain(`\`${suite}(`);
      expect(docs.readme, suite).toContain(`\`${suite}(`);
    }
  });

  it("list every contract rule the checks can fail with in the README", () => {
    const internal = join(import.meta.dirname, "../src/internal");
    const sources = readdirSync(internal, { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts"))
      .map((file) => readFileSync(join(internal, file), "utf8"))
      .join("\n");
    const rules = new Set(sources.match(/contract\/[a-z-]+/g));
    expect(rules.size).toBeGreaterThan(15);
    for (const rule of rules) expect(docs.readme, rule).toContain(`\`${rule}\``);
  });
});
