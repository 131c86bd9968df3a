/** k8s step templates: a value is only ever one quoted string field (issue 18). */
import { describe, expect, it } from "vitest";
import type { Ticket } from "../../src/domain.js";
import { renderCommand } from "../../src/executor/templates.js";

const ticket = {
  id: 1,
  title: "t",
  description: "",
  severity: "high",
  environment: "prod",
  service: "svc",
  source: "test",
  externalId: null,
  fingerprint: "fp",
  occurrences: 1,
  receivedAt: "2030-01-01T00:00:00.000Z",
  analysis: null,
} as unknown as Ticket;

const render = (template: string, values: Record<string, string>) =>
  renderCommand(template, "k8s", { ticket: { ...ticket, metaData: values }, vars: {} }).command;

const refused = (template: string, values: Record<string, string>) => {
  try {
    render(template, values);
  } catch (error) {
    return error as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error(`rendered ${JSON.stringify(template)}`);
};

describe("rendering a k8s step", () => {
  it.each([
    "web-1",
    'a"b',
    "x\\ny",
    "{evil: true}",
    "[a, b]",
    "- item",
    "# comment",
    'value" key: x',
    "&anchor *alias",
    "!!python/object x",
    "yes",
    "123",
  ])("keeps %j one string field, whatever it holds", (value) => {
    // A YAML double-quoted scalar (JSON string escaping): the k8s connector's tests parse it back.
    const text = render("action: delete-pod\npod: {{ticket.meta_data.pod}}\n", { pod: value });
    expect(text).toBe(`action: delete-pod\npod: ${JSON.stringify(value)}\n`);
  });

  it("refuses a value holding a newline", () => {
    expect(refused("pod: {{ticket.meta_data.pod}}", { pod: "a\nkind: node" }).details).toMatchObject({
      reason: "control-character",
    });
  });

  it.each([
    ["inside a list", "command: [sh, -c, {{ticket.meta_data.x}}]"],
    ["as a block list item", "command:\n  - {{ticket.meta_data.x}}"],
    ["after other text in the value", "pod: web-{{ticket.meta_data.x}}"],
    ["before other text", "pod: {{ticket.meta_data.x}}-web"],
    ["as a key", "{{ticket.meta_data.x}}: web"],
    ["nested under a key", "metadata:\n  name: {{ticket.meta_data.x}}"],
    ["in a comment", "pod: web # {{ticket.meta_data.x}}"],
  ])("refuses a reference %s, naming it", (_label, template) => {
    const error = refused(template, { x: "web" });
    expect(error.code).toBe("RW_ERR_EXEC_TEMPLATE");
    expect(error.message).toContain("{{ticket.meta_data.x}}");
    expect(error.details).toMatchObject({ reference: "ticket.meta_data.x", reason: "context" });
  });
});

describe("gcp and azure steps render like k8s steps", () => {
  for (const language of ["gcp", "azure"]) {
    it(`writes a ticket value in a ${language} step as one quoted string field`, () => {
      const command = renderCommand("action: restart\ninstance: {{ticket.metaData.vm}}\n", language, {
        ticket: { ...ticket, metaData: { vm: 'web-1" action: delete' } },
        vars: {},
      }).command;
      expect(command).toBe('action: restart\ninstance: "web-1\\" action: delete"\n');
    });

    it(`refuses a reference inside a ${language} field value`, () => {
      expect(() =>
        renderCommand("action: status\ninstance: web-{{ticket.metaData.n}}\n", language, {
          ticket: { ...ticket, metaData: { n: "1" } },
          vars: {},
        }),
      ).toThrow(`in a ${language} step`);
    });
  }
});
