import { describe, expect, it } from "vitest";
import { templateVariables, tokenizeTemplate } from "../src/templates.js";

describe("tokenizeTemplate", () => {
  it("splits text and references when given {{ }} templates", () => {
    expect(tokenizeTemplate("restart {{ ticket.service }} on {{vars.hosts[0]}}").tokens).toEqual([
      { type: "text", value: "restart " },
      { type: "reference", name: "ticket.service", start: 8, end: 28 },
      { type: "text", value: " on " },
      { type: "reference", name: "vars.hosts[0]", start: 32, end: 49 },
    ]);
  });

  it("keeps an escaped \\{{ as a literal {{", () => {
    expect(tokenizeTemplate("docker ps --format '\\{{.Names}}'")).toEqual({
      tokens: [{ type: "text", value: "docker ps --format '{{.Names}}'" }],
      problems: [],
    });
  });

  it("reports unclosed, empty and malformed references", () => {
    const { problems } = tokenizeTemplate("a {{ b\n{{}} {{ 1x }}");
    expect(problems.map((p) => p.start)).toEqual([2, 7, 12]);
  });
});

describe("templateVariables", () => {
  it("lists each reference once in order of first use", () => {
    expect(templateVariables("{{b}} {{ a }} {{b}}")).toEqual(["b", "a"]);
    expect(templateVariables("no templates")).toEqual([]);
  });
});
