import { describe, expect, it } from "vitest";
import { cleanClixml } from "../src/internal/clixml.js";

// As Windows PowerShell 5.1 writes a failed Get-Service to a redirected stderr (shape as pywinrm's
// tests show it; the texts are invented).
const sample =
  '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj><S S="Error">Get-Service : Cannot find any service with service name \'nope\'._x000D__x000A_</S><S S="Error">At line:1 char:1_x000D__x000A_</S></Objs>';

describe("cleanClixml", () => {
  it("keeps the error strings of a CLIXML stderr, decoding _xHHHH_ escapes", () => {
    expect(cleanClixml(sample)).toBe(
      "Get-Service : Cannot find any service with service name 'nope'.\r\nAt line:1 char:1\r\n",
    );
  });

  it("gives progress-only CLIXML as empty text", () => {
    expect(cleanClixml('#< CLIXML\r\n<Objs Version="1.1.0.1"><Obj S="progress" RefId="0"/></Objs>')).toBe("");
  });

  it("leaves other text, and CLIXML that does not parse, as it was", () => {
    expect(cleanClixml("plain error\n")).toBe("plain error\n");
    expect(cleanClixml("#< CLIXML\r\n<Objs><S S=")).toBe("#< CLIXML\r\n<Objs><S S=");
  });
});
