import { describe, expect, it } from "vitest";
import { decodePowerShellLiteral, fakePowerShell } from "../src/fake-powershell.js";

describe("decodePowerShellLiteral", () => {
  it("decodes doubled quotes of every kind PowerShell treats as a single quote", () => {
    expect(decodePowerShellLiteral("'it''s'")).toBe("it's");
    expect(decodePowerShellLiteral("'a\u2019\u2019b $(x)'")).toBe("a\u2019b $(x)");
    expect(decodePowerShellLiteral("\u2018c:\\ \u201b")).toBe("c:\\ ");
  });

  it("answers undefined for anything but exactly one literal", () => {
    expect(decodePowerShellLiteral("plain")).toBeUndefined();
    expect(decodePowerShellLiteral("'unterminated")).toBeUndefined();
    expect(decodePowerShellLiteral("'a'; Remove-Item x")).toBeUndefined();
    expect(decodePowerShellLiteral("'a\u2019; whoami")).toBeUndefined();
  });
});

describe("fakePowerShell", () => {
  it("prints each Write-Output literal on its own line", () => {
    expect(fakePowerShell(["Write-Output 'one'", "  Write-Output 'two''s'  "])).toEqual({
      stdout: "one\ntwo's\n",
      stderr: "",
    });
  });

  it("fails the script at the first line where a value broke out of its quotes", () => {
    expect(fakePowerShell(["Write-Output 'ok'", "Write-Output 'x'; whoami", "Write-Output 'never'"])).toEqual(
      {
        stdout: "ok\n",
        stderr: "not a Write-Output of one literal: Write-Output 'x'; whoami",
        failed: true,
      },
    );
  });
});
