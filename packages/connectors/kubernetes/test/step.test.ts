import { describe, expect, it } from "vitest";
import { parseK8sStep } from "../src/internal/step.js";

describe("parseK8sStep", () => {
  // Core renders a template value as a JSON-quoted string (render-k8s.ts): whatever it holds, it
  // stays the one field's string, and a non-name is refused as that field.
  it.each([
    'a"b',
    "{evil: true}",
    "[a, b]",
    "- item",
    "# c",
    'v" key: x',
    "&a *b",
    "!!js/function x",
    "web; reboot",
    "../x",
  ])("keeps the rendered value %j inside its field and refuses it as a name", (value) => {
    expect(() => parseK8sStep(`action: delete-pod\npod: ${JSON.stringify(value)}\n`)).toThrow(
      expect.objectContaining({
        code: "RW_ERR_CONNECTOR_REJECTED",
        details: { reason: "step", field: "pod" },
      }),
    );
  });

  it("accepts a rendered RFC 1123 name", () => {
    expect(parseK8sStep(`action: delete-pod\npod: ${JSON.stringify("web-7d9f.x")}\n`)).toEqual({
      action: "delete-pod",
      pod: "web-7d9f.x",
    });
  });

  it("reads durations and defaults", () => {
    expect(parseK8sStep("action: drain\nnode: n1\ntimeout: 2m\n")).toMatchObject({
      timeout: 120_000,
      ignore_daemonsets: true,
      delete_emptydir_data: false,
    });
    expect(parseK8sStep("action: logs\npod: p\n")).toMatchObject({ tail: 100, previous: false });
  });

  it("refuses duplicate keys and YAML aliases", () => {
    expect(() => parseK8sStep("action: cordon\nnode: a\nnode: b\n")).toThrow(/not YAML/);
    expect(() => parseK8sStep("action: cordon\nnode: &n a\nx: *n\n")).toThrow();
  });

  it("turns scalar exec arguments into strings", () => {
    expect(parseK8sStep("action: exec\npod: p\ncommand: [sleep, 5, true]\n")).toMatchObject({
      command: ["sleep", "5", "true"],
    });
  });
});
