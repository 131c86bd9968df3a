import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  Actions,
  buildEnvelope,
  commandBody,
  commandIdOf,
  faultOf,
  parseEnvelope,
  receiveBody,
  receiveOf,
  shellBody,
  shellIdOf,
  signalBody,
} from "../src/internal/envelope.js";

const fixture = JSON.parse(
  readFileSync(new URL("./fixtures/winrm-command-sequence.json", import.meta.url), "utf8"),
) as Record<string, { request: string; response_contains?: string }>;

const SHELL = "0F1D0C2B-8B1F-4F2C-9E7B-3C5D6A7B8C9D";
const COMMAND = "5C6D7E8F-0A1B-4C2D-8E3F-9A0B1C2D3E4F";
const base = {
  to: "https://win-01.example.com:5986/wsman",
  operationTimeoutSec: 20,
  maxEnvelopeSize: 153600,
};
const id = (n: number) =>
  `uuid:${String(n).repeat(8)}-${String(n).repeat(4)}-${String(n).repeat(4)}-${String(n).repeat(4)}-${String(n).repeat(12)}`;

describe("request envelopes, byte for byte as the documented sequence (pywinrm's)", () => {
  it("builds Create", () => {
    const { xml } = buildEnvelope({
      ...base,
      messageId: id(1),
      action: Actions.create,
      options: { WINRS_NOPROFILE: "FALSE", WINRS_CODEPAGE: "65001" },
      body: shellBody(),
    });
    expect(xml).toBe(fixture["1_create_shell"]!.request);
  });

  it("builds Command", () => {
    const { xml } = buildEnvelope({
      ...base,
      messageId: id(2),
      action: Actions.command,
      shellId: SHELL,
      options: { WINRS_CONSOLEMODE_STDIN: "TRUE", WINRS_SKIP_CMD_SHELL: "FALSE" },
      body: commandBody(
        "powershell.exe",
        '-NoProfile -NonInteractive -Command "Restart-Service -Name W3SVC -PassThru | Select-Object Status"',
      ),
    });
    // The same document: fast-xml-parser escapes the quotes of text as &quot;.
    expect(xml).toBe(
      fixture["2_command"]!.request.replace(/"Restart(.*)Status"/, "&quot;Restart$1Status&quot;"),
    );
  });

  it("builds Receive, Signal terminate and Delete", () => {
    expect(
      buildEnvelope({
        ...base,
        messageId: id(3),
        action: Actions.receive,
        shellId: SHELL,
        body: receiveBody(COMMAND),
      }).xml,
    ).toBe(fixture["3_receive"]!.request);
    expect(
      buildEnvelope({
        ...base,
        messageId: id(4),
        action: Actions.signal,
        shellId: SHELL,
        body: signalBody(COMMAND),
      }).xml,
    ).toBe(fixture["4_signal_terminate"]!.request);
    expect(buildEnvelope({ ...base, messageId: id(5), action: Actions.delete, shellId: SHELL }).xml).toBe(
      fixture["5_delete_shell"]!.request,
    );
  });

  it("escapes text, so a command cannot close its element", () => {
    const { xml } = buildEnvelope({
      ...base,
      action: Actions.command,
      shellId: SHELL,
      body: commandBody("echo </rsp:Command><x>&"),
    });
    expect(xml).toContain("echo &lt;/rsp:Command&gt;&lt;x&gt;&amp;");
  });
});

const wrap = (body: string) =>
  `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header/><s:Body>${body}</s:Body></s:Envelope>`;

describe("response parsing", () => {
  it("reads the ShellId, CommandId, streams and exit code of the documented answers", () => {
    expect(
      shellIdOf(
        parseEnvelope(
          wrap(
            `<x:ResourceCreated xmlns:x="t"><a:ReferenceParameters xmlns:a="a"><w:SelectorSet>${fixture["1_create_shell"]!.response_contains}</w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>`,
          ),
        ).body,
      ),
    ).toBe(SHELL);
    expect(
      commandIdOf(
        parseEnvelope(
          wrap(`<rsp:CommandResponse>${fixture["2_command"]!.response_contains}</rsp:CommandResponse>`),
        ).body,
      ),
    ).toBe(COMMAND);
    const received = receiveOf(
      parseEnvelope(
        wrap(`<rsp:ReceiveResponse>${fixture["3_receive"]!.response_contains}</rsp:ReceiveResponse>`),
      ).body,
    );
    expect(received).toMatchObject({ done: true, exitCode: 0 });
    expect(received!.chunks.map((c) => c.data.toString("utf8")).join("")).toBe(
      "\r\nStatus\r\n------\r\nRunning\r\n",
    );
  });

  it("reads a TimedOut fault", () => {
    const fault = faultOf(
      parseEnvelope(
        wrap(
          '<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="win-01"><f:Message/></f:WSManFault></s:Detail></s:Fault>',
        ),
      ).body,
    );
    expect(fault).toEqual({
      subcode: "TimedOut",
      wsmanCode: "2150858793",
      reason:
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
    });
  });

  it("refuses a DOCTYPE (entity expansion) and non-envelopes", () => {
    expect(() => parseEnvelope('<!DOCTYPE x [<!ENTITY a "aaaa">]><s:Envelope/>')).toThrow(/DOCTYPE/);
    expect(() => parseEnvelope("<html>proxy error</html>")).toThrow(/not a SOAP envelope/);
  });
});
