import { describe, expect, it } from "vitest";
import type { Ticket } from "../../src/domain.js";
import { renderCommand } from "../../src/executor/templates.js";

const ticket = {
  id: 7,
  title: "IIS down",
  description: "",
  severity: "high",
  environment: "prod",
  service: "W3SVC",
  source: "zabbix",
  externalId: null,
  fingerprint: "fp",
  status: "analyzed",
  occurrences: 1,
  metaData: {},
  analysis: null,
} as unknown as Ticket;
const scope = (service: string) => ({ ticket: { ...ticket, service }, vars: {} });

describe("renderCommand for PowerShell steps", () => {
  it("wraps a bare value in single quotes, doubling its quotes, so $(…) stays text", () => {
    expect(
      renderCommand("Restart-Service -Name {{ticket.service}}", "powershell", scope("a'b$(calc)\u2019"))
        .command,
    ).toBe("Restart-Service -Name 'a''b$(calc)\u2019\u2019'");
  });

  it("doubles the quotes of a value inside a single-quoted string of the runbook", () => {
    expect(
      renderCommand("Get-Content 'C:/logs/{{ticket.service}}.log'", "powershell", scope("x'; iex 'calc"))
        .command,
    ).toBe("Get-Content 'C:/logs/x''; iex ''calc.log'");
  });

  it.each([
    ['Write-Output "{{ticket.service}}"', "double-quoted"],
    ["& {{ticket.service}}", "command-name"],
    ["Invoke-Expression {{ticket.service}}", "evaluated"],
    ["$env:{{ticket.service}}", "member"],
  ])("refuses %j with RW_ERR_EXEC_TEMPLATE, naming the context and never the value", (command, context) => {
    let error: unknown;
    try {
      renderCommand(command, "powershell", scope("SECRET-ish-value"));
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: "RW_ERR_EXEC_TEMPLATE",
      details: { reference: "ticket.service", context },
    });
    expect(JSON.stringify(error) + String((error as Error).message)).not.toContain("SECRET-ish-value");
  });
});

describe("renderCommand for PowerShell arguments of native programs", () => {
  it("refuses a value with a double quote there, which Windows PowerShell would split", () => {
    expect(() => renderCommand("net user {{ticket.service}}", "powershell", scope('x" /add "y'))).toThrow(
      expect.objectContaining({
        code: "RW_ERR_EXEC_TEMPLATE",
        details: expect.objectContaining({ reason: "native-quote" }),
      }),
    );
    expect(renderCommand("Get-LocalUser {{ticket.service}}", "powershell", scope('x" y')).command).toBe(
      `Get-LocalUser 'x" y'`,
    );
    expect(renderCommand("net user {{ticket.service}}", "powershell", scope("svc-web")).command).toBe(
      "net user 'svc-web'",
    );
  });
});

describe("renderCommand for cmd steps", () => {
  it("refuses any value, and renders a step without placeholders as written", () => {
    expect(() => renderCommand("sc stop {{ticket.service}}", "cmd", scope("W3SVC"))).toThrow(
      expect.objectContaining({
        code: "RW_ERR_EXEC_TEMPLATE",
        message: expect.stringContaining("use a powershell step"),
      }),
    );
    expect(renderCommand("iisreset /restart", "cmd", scope("W3SVC")).command).toBe("iisreset /restart");
  });
});
