import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseTypedStep, stepDuration } from "../src/typed-step.js";
import { thrown } from "./support.js";

const schema = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("restart"), name: z.string().regex(/^[a-z0-9-]+$/, "a name") }),
  z.strictObject({ action: z.literal("wait"), timeout: stepDuration.optional() }),
]);
const options = { fence: "demo", schema, actions: ["restart", "wait"], example: "`action: restart`" };

describe("parseTypedStep", () => {
  it("returns the schema's output for valid fields", () => {
    expect(parseTypedStep("action: restart\nname: web-1\n", options)).toEqual({
      action: "restart",
      name: "web-1",
    });
  });

  it("keeps a rendered (quoted) ticket value inside its field, where the field's type refuses it", () => {
    const error = thrown(() =>
      parseTypedStep(`action: restart\nname: ${JSON.stringify("web\nname: x")}`, options),
    );
    expect(error).toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      message: "invalid demo step: name: a name",
      details: { reason: "step", field: "name" },
    });
  });

  it("refuses text that is not YAML fields, duplicate keys and aliases", () => {
    expect(thrown(() => parseTypedStep("- restart", options)).message).toBe(
      "invalid demo step: expected fields such as `action: restart`",
    );
    expect(thrown(() => parseTypedStep("action: restart\nname: a\nname: b", options)).message).toMatch(
      /^invalid demo step: not YAML \(/,
    );
    expect(thrown(() => parseTypedStep("action: restart\nname: &n a\nx: *n", options)).message).toMatch(
      /not YAML/,
    );
  });

  it("names the actions when the action is missing or unknown", () => {
    expect(thrown(() => parseTypedStep("name: web", options))).toMatchObject({
      message: "invalid demo step: action must be one of restart, wait",
      details: { field: "action" },
    });
  });

  it("names an unknown field by its name", () => {
    expect(thrown(() => parseTypedStep("action: wait\nforce: true", options))).toMatchObject({
      message: "invalid demo step: force: not a field of wait steps",
      details: { reason: "step", field: "force" },
    });
  });

  it("leaves an unknown action to the schema when no actions are listed", () => {
    const error = thrown(() => parseTypedStep("action: explode", { fence: "demo", schema }));
    expect(error.details).toEqual({ reason: "step", field: "action" });
  });
});

describe("stepDuration", () => {
  it("reads units and plain seconds as milliseconds", () => {
    expect(["1500ms", "30s", "5m", "1h", "2", 1.5].map((v) => stepDuration.parse(v))).toEqual([
      1500, 30_000, 300_000, 3_600_000, 2000, 1500,
    ]);
  });

  it("refuses other text and non-positive numbers", () => {
    expect(stepDuration.safeParse("5 minutes").success).toBe(false);
    expect(stepDuration.safeParse(0).success).toBe(false);
  });
});
