/**
 * aws steps: typed YAML fields. A ticket value reaches a step only through core's renderer (one
 * quoted string as a whole field value), then must pass the field's type (an instance id), so it
 * can never become a command, a second field or a list item.
 */
import type { Ticket } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import { renderCommand } from "../../../core/src/executor/templates.js";
import { describeStep, parseAwsStep } from "../src/internal/step.js";

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

const rendered = (template: string, instance: string) =>
  renderCommand(template, "aws", { ticket: { ...ticket, metaData: { instance } }, vars: {} }).command;

const failure = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error("did not fail");
};

describe("parseAwsStep", () => {
  it("parses a ticket's instance id rendered into instance_id", () => {
    const text = rendered("action: reboot\ninstance_id: {{ticket.metaData.instance}}", "i-0abc1234def567890");
    expect(text).toBe('action: reboot\ninstance_id: "i-0abc1234def567890"');
    expect(parseAwsStep(text)).toMatchObject({ action: "reboot", instances: ["i-0abc1234def567890"] });
  });

  it.each([
    "i-0abc1234; reboot",
    "i-0ABC1234",
    'i-0abc1234"\naction: stop',
    "[i-0abc1234, i-0def5678]",
    "i-0abc1234\ncommands: [rm -rf /]",
  ])("refuses the hostile ticket value %j as instance_id", (value) => {
    const error = failure(() =>
      parseAwsStep(rendered("action: reboot\ninstance_id: {{ticket.metaData.instance}}", value)),
    );
    expect(["RW_ERR_CONNECTOR_REJECTED", "RW_ERR_EXEC_TEMPLATE"]).toContain(error.code);
    expect(error.message).not.toContain("rm -rf");
  });

  it("refuses a template inside the commands list (core's renderer)", () => {
    const error = failure(() =>
      rendered(
        "action: run-command\ninstance_id: i-0abc1234\ncommands:\n  - echo {{ticket.metaData.instance}}",
        "x",
      ),
    );
    expect(error.code).toBe("RW_ERR_EXEC_TEMPLATE");
  });

  it("refuses commands given as one string, which a template value would be", () => {
    const error = failure(() =>
      parseAwsStep('action: run-command\ninstance_id: i-0abc1234\ncommands: "reboot now"'),
    );
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_REJECTED", details: { field: "commands" } });
  });

  it("refuses unknown fields, unknown actions and both instance_id and instance_ids", () => {
    expect(failure(() => parseAwsStep("action: reboot\nforce: true"))).toMatchObject({
      details: { field: "force" },
    });
    expect(failure(() => parseAwsStep("action: terminate"))).toMatchObject({ details: { field: "action" } });
    expect(
      failure(() => parseAwsStep("action: reboot\ninstance_id: i-0abc1234\ninstance_ids: [i-0def5678]")),
    ).toMatchObject({ details: { field: "instance_ids" } });
  });

  it("parses an instance-refresh step whose group name came from a ticket", () => {
    const text = rendered(
      "action: instance-refresh\nauto_scaling_group: {{ticket.metaData.instance}}\nmin_healthy_percentage: 90",
      "web-asg",
    );
    expect(text).toBe('action: instance-refresh\nauto_scaling_group: "web-asg"\nmin_healthy_percentage: 90');
    expect(parseAwsStep(text)).toEqual({
      action: "instance-refresh",
      auto_scaling_group: "web-asg",
      min_healthy_percentage: 90,
      wait: true,
    });
  });

  it.each([
    "web-asg&Action=DeleteAutoScalingGroup",
    "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:x",
    "web asg",
    "web-asg\nmin_healthy_percentage: 0",
  ])("refuses the hostile ticket value %j as auto_scaling_group", (value) => {
    const error = failure(() =>
      parseAwsStep(
        rendered("action: instance-refresh\nauto_scaling_group: {{ticket.metaData.instance}}", value),
      ),
    );
    expect(["RW_ERR_CONNECTOR_REJECTED", "RW_ERR_EXEC_TEMPLATE"]).toContain(error.code);
  });

  it("refuses instance fields and out-of-range preferences in an instance-refresh step", () => {
    expect(
      failure(() => parseAwsStep("action: instance-refresh\nauto_scaling_group: a\ninstance_id: i-0abc1234")),
    ).toMatchObject({ details: { field: "instance_id" } });
    expect(
      failure(() =>
        parseAwsStep("action: instance-refresh\nauto_scaling_group: a\nmin_healthy_percentage: 101"),
      ),
    ).toMatchObject({ details: { field: "min_healthy_percentage" } });
  });

  it("reads durations and defaults", () => {
    expect(parseAwsStep("action: stop\ninstance_ids: [i-0abc1234, i-0abc1234]\ntimeout: 5m")).toMatchObject({
      action: "stop",
      force: false,
      wait: true,
      timeout: 300_000,
      instances: ["i-0abc1234"],
    });
  });
});

describe("describeStep", () => {
  it("says what runs where, for an approver", () => {
    expect(describeStep(parseAwsStep("action: start\ninstance_id: i-0abc1234\nwait: false"), "x")).toBe(
      "start EC2 instance(s) i-0abc1234",
    );
    expect(describeStep(parseAwsStep("action: describe-status"), "i-0def5678")).toBe(
      "check that EC2 instance(s) i-0def5678 are running",
    );
  });
});
