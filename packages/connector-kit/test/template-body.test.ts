import { describe, expect, it } from "vitest";
import { readTemplateBody } from "../src/template-body.js";

const keys = ["name", "path", "count"] as const;

describe("readTemplateBody", () => {
  it("reads each value between its key and the next, when a substituted value broke the JSON", () => {
    const raw = '{ "name": "say "hi", then {go}", "path": "C:\\", "count": 3 }';
    expect(() => JSON.parse(raw)).toThrow();
    expect(readTemplateBody(raw, keys)).toEqual({ name: 'say "hi", then {go}', path: "C:\\", count: "3" });
  });

  it("JSON-unescapes a value that is valid string content", () => {
    expect(readTemplateBody('{"name": "a\\nb", "count": 1}', keys)).toEqual({ name: "a\nb", count: "1" });
  });

  it("answers undefined for a body without the template's shape", () => {
    expect(readTemplateBody("[1, 2]", keys)).toBeUndefined();
    expect(readTemplateBody('{"other": "x"}', keys)).toBeUndefined();
    expect(readTemplateBody('{"count": not-a-number}', keys)).toBeUndefined();
  });
});
