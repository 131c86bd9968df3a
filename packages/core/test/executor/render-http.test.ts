/** HTTP step templates: each value stays inside its path segment or query value (issue 13, item 4). */
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
  renderCommand(template, "http", { ticket: { ...ticket, metaData: values }, vars: {} }).command;

const refused = (template: string, values: Record<string, string>) => {
  try {
    render(template, values);
  } catch (error) {
    return error as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error(`rendered ${JSON.stringify(template)} with ${JSON.stringify(values)}`);
};

describe("rendering an HTTP step", () => {
  it.each([".", ".."])("refuses %j as a whole path segment, naming the field and not the value", (v) => {
    const error = refused("POST /v1/services/{{ticket.meta_data.s}}/restart", { s: v });
    expect(error.code).toBe("RW_ERR_EXEC_TEMPLATE");
    expect(error.message).toContain("{{ticket.meta_data.s}}");
    expect(error.message).toMatch(/URL resolution removes/);
    expect(error.details).toMatchObject({ reference: "ticket.meta_data.s", reason: "context" });
  });

  it("refuses values that make a dot segment together with the template's text or each other", () => {
    expect(refused("GET /v1/.{{ticket.meta_data.a}}/x", { a: "." }).code).toBe("RW_ERR_EXEC_TEMPLATE");
    expect(refused("GET /v1/%2e{{ticket.meta_data.a}}/x", { a: "." }).code).toBe("RW_ERR_EXEC_TEMPLATE");
    expect(refused("GET /v1/{{ticket.meta_data.a}}{{ticket.meta_data.b}}/x", { a: ".", b: "." }).code).toBe(
      "RW_ERR_EXEC_TEMPLATE",
    );
    expect(refused("GET {{ticket.meta_data.a}}", { a: ".." }).code).toBe("RW_ERR_EXEC_TEMPLATE");
  });

  it("refuses an empty value that would make the path start with // and name a host", () => {
    const error = refused("GET /{{ticket.meta_data.a}}/evil.example.net/x", { a: "" });
    expect(error.message).toMatch(/start with "\/\/"/);
    expect(render("GET /v1/{{ticket.meta_data.a}}/x", { a: "" })).toBe("GET /v1//x");
    expect(render("GET https://api.example.com/{{ticket.meta_data.a}}/x", { a: "" })).toBe(
      "GET https://api.example.com//x",
    );
  });

  it("keeps /, ?, # and % encoded inside the segment, so URL resolution leaves the path alone", () => {
    const command = render("POST /v1/services/{{ticket.meta_data.s}}/restart", { s: "../a/b?c#d%2F" });
    expect(command).toBe("POST /v1/services/..%2Fa%2Fb%3Fc%23d%252F/restart");
    expect(new URL(command.split(" ")[1]!, "https://api.example.com").pathname).toBe(
      "/v1/services/..%2Fa%2Fb%3Fc%23d%252F/restart",
    );
  });

  it("accepts dots in a query value and in a segment that is more than dots", () => {
    expect(render("GET /v1/{{ticket.meta_data.a}}?q={{ticket.meta_data.b}}", { a: "...", b: ".." })).toBe(
      "GET /v1/...?q=..",
    );
    expect(render("GET /v1/{{ticket.meta_data.a}}.json", { a: "." })).toBe("GET /v1/..json");
  });

  it.each([
    "GET https://{{ticket.meta_data.h}}/v1",
    "GET https://api.example.com{{ticket.meta_data.h}}/v1",
    "GET http://user:{{ticket.meta_data.h}}@api.example.com/v1",
    "GET {{ticket.meta_data.h}}://api.example.com/v1",
    "GET //{{ticket.meta_data.h}}/v1",
  ])("refuses a value in the scheme or host: %s", (template) => {
    expect(refused(template, { h: "evil.example.net" }).message).toMatch(/scheme or host/);
  });

  it("refuses a value in the method", () => {
    expect(refused("{{ticket.meta_data.m}} /v1", { m: "DELETE" }).message).toMatch(/request method/);
  });

  it("reads the request line after comment lines that hold slashes", () => {
    expect(render("# see /docs/x\nGET {{ticket.meta_data.a}}/restart", { a: "svc" })).toBe(
      "# see /docs/x\nGET svc/restart",
    );
    expect(refused("# see /docs/\nGET {{ticket.meta_data.a}}/restart", { a: ".." }).code).toBe(
      "RW_ERR_EXEC_TEMPLATE",
    );
  });

  it("encodes values in header lines and the body as before", () => {
    expect(render("POST /v1\nX-Why: {{ticket.meta_data.a}}\n\n{{ticket.meta_data.a}}", { a: "../x y" })).toBe(
      "POST /v1\nX-Why: ..%2Fx%20y\n\n..%2Fx%20y",
    );
  });

  it("refuses a value that is not valid Unicode instead of throwing a URIError", () => {
    const error = refused("GET /v1/{{ticket.meta_data.a}}", { a: "x\ud800" });
    expect(error.code).toBe("RW_ERR_EXEC_TEMPLATE");
    expect(error.message).toMatch(/not valid Unicode/);
  });
});
