import { describe, expect, it } from "vitest";
import { parseRunbook } from "../src/parse.js";
import {
  analyzeCmdTemplate,
  analyzePowerShellTemplate,
  powerShellSingleQuoted,
  type WindowsContext,
} from "../src/windows-context.js";

/** The one placeholder `{{x}}` of a PowerShell command: its context, and whether it is accepted. */
function ps(command: string): [WindowsContext, boolean] {
  const found = analyzePowerShellTemplate(command).placeholders.filter((p) => p.name === "x");
  expect(found, command).toHaveLength(1);
  return [found[0]!.context, found[0]!.allowed];
}

describe("analyzePowerShellTemplate: accepted contexts", () => {
  it("accepts a bare argument (rendered as one single-quoted string)", () => {
    expect(ps("Restart-Service -Name {{x}} -PassThru")).toEqual(["bare", true]);
    expect(ps("Get-Service {{x}} | Select-Object Status")).toEqual(["bare", true]);
    expect(ps("$name = {{x}}")).toEqual(["bare", true]);
  });

  it("accepts a placeholder inside a single-quoted string, also part of a longer literal", () => {
    // `\{{` is a literal `{{` in every template: write Windows paths with / before a placeholder.
    expect(ps("Get-Content -Path 'C:/logs/{{x}}.log' -Tail 50")).toEqual(["single-quoted", true]);
    expect(ps("Write-Output 'it''s {{x}}'")).toEqual(["single-quoted", true]);
    expect(ps("Write-Output \u2018typographic {{x}}\u2019")).toEqual(["single-quoted", true]);
  });

  it("accepts values on later lines and statements of a script", () => {
    const all = analyzePowerShellTemplate(
      "Stop-Service {{a}}; Start-Service {{b}}\nWrite-Output 'done {{c}}'",
    ).placeholders;
    expect(all.map((p) => [p.context, p.allowed])).toEqual([
      ["bare", true],
      ["bare", true],
      ["single-quoted", true],
    ]);
  });
});

describe("analyzePowerShellTemplate: refused contexts", () => {
  it.each([
    ['Write-Output "restarting {{x}}"', "double-quoted"],
    ['$s = @"\nrestart {{x}}\n"@', "here-string"],
    ["$s = @'\nrestart {{x}}\n'@", "here-string"],
    ["Get-Date # for {{x}}", "comment"],
    ["<# {{x}} #> Get-Date", "comment"],
    ["& {{x}}", "command-name"],
    ["& 'C:/tools/{{x}}.exe'", "command-name"],
    [". {{x}}", "command-name"],
    ["./{{x}}.ps1 -Force", "command-name"],
    ["Get-Process | ./{{x}}", "command-name"],
    ["$r = C:/scripts/{{x}}", "command-name"],
    ["$env:{{x}}", "member"],
    ["$service.{{x}}", "member"],
    ["{{x}}.Invoke()", "member"],
    ["Invoke-Expression {{x}}", "evaluated"],
    ["iex 'Get-Service {{x}}'", "evaluated"],
    ["'Restart-Service {{x}}' | IEX", "evaluated"],
    ["[scriptblock]::Create('Stop-Service {{x}}').Invoke()", "evaluated"],
    ["Start-Process -FilePath notepad.exe -ArgumentList {{x}}", "evaluated"],
    ["cmd /c echo {{x}}", "evaluated"],
    ["powershell -Command {{x}}", "evaluated"],
    ["Invoke-Command -ComputerName db1 -ScriptBlock { Restart-Service {{x}} }", "evaluated"],
    ["$c = Get-Command Stop-Service; & $c {{x}}", "evaluated"],
    ["function f($a) { Invoke-Expression $a }\nf {{x}}", "evaluated"],
    ['Write-Output "$(iex hostname)" {{x}}', "evaluated"],
  ] as const)("refuses %j (%s)", (command, context) => {
    expect(ps(command)).toEqual([context, false]);
  });

  it("refuses every placeholder when a string is left open", () => {
    expect(ps("Write-Output {{x}} 'unclosed")).toEqual(["bare", false]);
    const [p] = analyzePowerShellTemplate("Write-Output {{x}} 'unclosed").placeholders;
    expect(p?.message).toMatch(/not closed/);
  });

  it("says what to write instead, naming the placeholder", () => {
    const [p] = analyzePowerShellTemplate('Write-Output "x {{ticket.service}}"').placeholders;
    expect(p?.message).toMatch(/^\{\{ticket\.service\}\}: PowerShell expands \$\(…\).*single quotes/);
  });
});

describe("analyzeCmdTemplate", () => {
  it("refuses every placeholder, quoted or not", () => {
    const all = analyzeCmdTemplate('sc stop {{a}} & echo "{{b}}"').placeholders;
    expect(all.map((p) => [p.name, p.context, p.allowed])).toEqual([
      ["a", "cmd", false],
      ["b", "cmd", false],
    ]);
    expect(all[0]?.message).toMatch(/use a powershell step/);
  });
});

describe("powerShellSingleQuoted", () => {
  it("doubles ASCII and typographic single quotes", () => {
    expect(powerShellSingleQuoted("a'b\u2019c")).toBe("a''b\u2019\u2019c");
  });
});

describe("runbook/unsafe-template-context for PowerShell and cmd steps", () => {
  it("reports a refused PowerShell placeholder with its line and column", () => {
    const markdown = [
      "# Restart IIS",
      "",
      "## Main Steps",
      "",
      "```powershell {requires_approval=true}",
      "Restart-Service -Name {{ticket.service}}",
      'Write-EventLog -Message "restarted {{ticket.title}}"',
      "```",
      "",
    ].join("\n");
    const { diagnostics } = parseRunbook(markdown);
    const found = diagnostics.filter((d) => d.ruleId === "runbook/unsafe-template-context");
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ severity: "error", line: 7, column: 36 });
    expect(found[0]!.message).toMatch(/\{\{ticket\.title\}\}: PowerShell expands/);
  });

  it("reports every placeholder of a cmd step", () => {
    const markdown = [
      "# Flush DNS",
      "",
      "## Main Steps",
      "",
      "```cmd",
      "ipconfig /flushdns & echo {{ticket.title}}",
      "```",
      "",
    ].join("\n");
    const found = parseRunbook(markdown).diagnostics.filter(
      (d) => d.ruleId === "runbook/unsafe-template-context",
    );
    expect(found).toMatchObject([{ line: 6, column: 27 }]);
  });

  it("accepts safe PowerShell placeholders and cmd steps without them", () => {
    const markdown = [
      "# Restart IIS",
      "",
      "## Main Steps",
      "",
      "```powershell",
      "Restart-Service -Name {{ticket.service}}; Get-Content 'C:/logs/{{ticket.service}}.log' -Tail 5",
      "```",
      "",
      "```bat",
      "iisreset /status",
      "```",
      "",
    ].join("\n");
    const { diagnostics, runbook } = parseRunbook(markdown);
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(runbook?.phases.main.map((s) => s.language)).toEqual(["powershell", "cmd"]);
  });
});

describe("analyzePowerShellTemplate: native programs and --%", () => {
  it("marks arguments of a program that is not a Verb-Noun cmdlet as native", () => {
    const [cmdlet, program, expression] = analyzePowerShellTemplate(
      "Stop-Service {{a}}; icacls.exe C:/data /grant {{b}}; $n = {{c}}",
    ).placeholders;
    expect([cmdlet?.native, program?.native, expression?.native]).toEqual([false, true, false]);
    expect(program?.allowed).toBe(true);
  });

  it("refuses a placeholder after the stop-parsing token --%", () => {
    expect(ps("icacls C:/data --% /grant {{x}}:F")).toEqual(["verbatim", false]);
    // The next line is PowerShell again.
    const [, next] = analyzePowerShellTemplate(
      "icacls C:/data --% /grant {{a}}:F\nStop-Service {{b}}",
    ).placeholders;
    expect(next).toMatchObject({ context: "bare", allowed: true });
  });
});
