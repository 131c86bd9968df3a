/**
 * WS-Management SOAP envelopes for the Windows Remote Shell (MS-WSMV 3.1.4.x), built and parsed
 * with fast-xml-parser. Built exactly as pywinrm builds them (the fixtures in
 * shared/fixtures/winrm); parsed by local name, since servers choose their own prefixes.
 */
import { randomUUID } from "node:crypto";
import { XMLBuilder, XMLParser } from "fast-xml-parser";

export const NS = {
  env: "http://www.w3.org/2003/05/soap-envelope",
  a: "http://schemas.xmlsoap.org/ws/2004/08/addressing",
  w: "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
  p: "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
  rsp: "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
} as const;

/** The cmd shell resource (MS-WSMV 2.2.4.37); PowerShell runs inside it as powershell.exe. */
export const CMD_SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";

export const Actions = {
  create: "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
  delete: "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
  command: `${NS.rsp}/Command`,
  receive: `${NS.rsp}/Receive`,
  signal: `${NS.rsp}/Signal`,
} as const;

export const SIGNAL_TERMINATE = `${NS.rsp}/signal/terminate`;
export const COMMAND_DONE = `${NS.rsp}/CommandState/Done`;
const ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

/** WS-Man fault codes (MS-WSMV): Receive's "no output yet", and "no such shell". */
export const FaultCodes = { timedOut: "2150858793", shellNotFound: "2150858843" } as const;

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  suppressEmptyNode: true,
  suppressBooleanAttributes: false,
});

type Xml = Record<string, unknown>;

export interface EnvelopeInput {
  to: string;
  action: string;
  operationTimeoutSec: number;
  maxEnvelopeSize: number;
  shellId?: string;
  options?: Record<string, string>;
  body?: Xml;
  messageId?: string;
  locale?: string;
}

/** Builds one request envelope; returns its text and MessageID. */
export function buildEnvelope(input: EnvelopeInput): { xml: string; messageId: string } {
  const messageId = input.messageId ?? `uuid:${randomUUID().toUpperCase()}`;
  const locale = input.locale ?? "en-US";
  const header: Xml = {
    "a:To": input.to,
    "a:ReplyTo": { "a:Address": { "#text": ANONYMOUS, "@_env:mustUnderstand": "true" } },
    "w:MaxEnvelopeSize": { "#text": String(input.maxEnvelopeSize), "@_env:mustUnderstand": "true" },
    "a:MessageID": messageId,
    "w:Locale": { "@_env:mustUnderstand": "false", "@_xml:lang": locale },
    "p:DataLocale": { "@_env:mustUnderstand": "false", "@_xml:lang": locale },
    "w:OperationTimeout": `PT${input.operationTimeoutSec}S`,
    "w:ResourceURI": { "#text": CMD_SHELL_URI, "@_env:mustUnderstand": "true" },
    "a:Action": { "#text": input.action, "@_env:mustUnderstand": "true" },
  };
  if (input.shellId !== undefined)
    header["w:SelectorSet"] = { "w:Selector": { "#text": input.shellId, "@_Name": "ShellId" } };
  if (input.options)
    header["w:OptionSet"] = {
      "w:Option": Object.entries(input.options).map(([name, value]) => ({ "#text": value, "@_Name": name })),
    };
  const doc = {
    "env:Envelope": {
      "@_xmlns:env": NS.env,
      "@_xmlns:a": NS.a,
      "@_xmlns:w": NS.w,
      "@_xmlns:p": NS.p,
      "@_xmlns:rsp": NS.rsp,
      "env:Header": header,
      "env:Body": input.body ?? "",
    },
  };
  let xml = builder.build(doc) as string;
  // suppressEmptyNode writes <env:Body/>; keep the explicit pair Windows and pywinrm send.
  xml = xml.replace("<env:Body/>", "<env:Body></env:Body>");
  return { xml, messageId };
}

/** The body of a Create (a cmd shell with stdin and stdout/stderr). */
export function shellBody(idleTimeoutSec?: number): Xml {
  return {
    "rsp:Shell": {
      "rsp:InputStreams": "stdin",
      "rsp:OutputStreams": "stdout stderr",
      ...(idleTimeoutSec ? { "rsp:IdleTimeOut": `PT${idleTimeoutSec}S` } : {}),
    },
  };
}

export function commandBody(command: string, args?: string): Xml {
  return { "rsp:CommandLine": { "rsp:Command": command, ...(args ? { "rsp:Arguments": args } : {}) } };
}

export function receiveBody(commandId: string): Xml {
  return { "rsp:Receive": { "rsp:DesiredStream": { "#text": "stdout stderr", "@_CommandId": commandId } } };
}

export function signalBody(commandId: string, code = SIGNAL_TERMINATE): Xml {
  return { "rsp:Signal": { "@_CommandId": commandId, "rsp:Code": code } };
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => name === "Stream" || name === "Selector" || name === "Text",
});

/** A SOAP fault, as the server reported it. */
export interface Fault {
  /** The subcode's local name: `TimedOut`, `InvalidSelectors`, `AccessDenied`, … */
  subcode: string;
  /** WSManFault Code (a number as text, e.g. 2150858793), when present. */
  wsmanCode: string | undefined;
  reason: string;
}

export class EnvelopeError extends Error {}

function text(node: unknown): string | undefined {
  if (typeof node === "string") return node;
  if (node && typeof node === "object" && "#text" in node) return String((node as Xml)["#text"]);
  return undefined;
}

/** Parses a response envelope; throws EnvelopeError for anything that is not one. */
export function parseEnvelope(xml: string): { header: Xml; body: Xml } {
  if (/<!DOCTYPE/i.test(xml)) throw new EnvelopeError("the response declares a DOCTYPE, refused");
  let doc: Xml;
  try {
    doc = parser.parse(xml) as Xml;
  } catch (error) {
    throw new EnvelopeError(`the response is not XML: ${(error as Error).message}`);
  }
  const envelope = doc.Envelope as Xml | undefined;
  if (!envelope || typeof envelope !== "object")
    throw new EnvelopeError("the response is not a SOAP envelope");
  const body = envelope.Body;
  return {
    header: (envelope.Header as Xml | undefined) ?? {},
    body: body && typeof body === "object" ? (body as Xml) : {},
  };
}

/** The fault in a response body, if it holds one. */
export function faultOf(body: Xml): Fault | undefined {
  const fault = body.Fault as Xml | undefined;
  if (!fault) return undefined;
  const code = fault.Code as Xml | undefined;
  const subcode = text((code?.Subcode as Xml | undefined)?.Value) ?? text(code?.Value) ?? "";
  const reasonTexts = (fault.Reason as Xml | undefined)?.Text as unknown[] | undefined;
  const detail = fault.Detail as Xml | undefined;
  const wsman = detail?.WSManFault as Xml | undefined;
  const message = text(wsman?.Message) ?? (typeof wsman?.Message === "object" ? "" : undefined);
  return {
    subcode: subcode.replace(/^.*:/, ""),
    wsmanCode: wsman ? (wsman["@_Code"] as string | undefined) : undefined,
    reason: (text(reasonTexts?.[0]) ?? message ?? "").trim(),
  };
}

/** The ShellId of a Create response (a selector named ShellId, or rsp:Shell/ShellId). */
export function shellIdOf(body: Xml): string | undefined {
  const created = body.ResourceCreated as Xml | undefined;
  const selectors = ((created?.ReferenceParameters as Xml | undefined)?.SelectorSet as Xml | undefined)
    ?.Selector as Xml[] | undefined;
  const selector = selectors?.find((s) => s["@_Name"] === "ShellId");
  return text(selector) ?? text((body.Shell as Xml | undefined)?.ShellId);
}

export function commandIdOf(body: Xml): string | undefined {
  return text((body.CommandResponse as Xml | undefined)?.CommandId);
}

export interface ReceiveResult {
  chunks: { stream: "stdout" | "stderr"; data: Buffer }[];
  done: boolean;
  exitCode: number | null;
}

export function receiveOf(body: Xml): ReceiveResult | undefined {
  const response = body.ReceiveResponse as Xml | undefined;
  if (!response) return undefined;
  const chunks: ReceiveResult["chunks"] = [];
  for (const stream of (response.Stream as unknown[] | undefined) ?? []) {
    const name = typeof stream === "object" && stream ? (stream as Xml)["@_Name"] : undefined;
    const data = text(stream);
    if ((name === "stdout" || name === "stderr") && data)
      chunks.push({ stream: name, data: Buffer.from(data, "base64") });
  }
  const state = response.CommandState as Xml | undefined;
  const done =
    typeof state?.["@_State"] === "string" && (state["@_State"] as string).endsWith("/CommandState/Done");
  const code = text(state?.ExitCode);
  const exitCode = code !== undefined && /^-?\d+$/.test(code.trim()) ? Number(code.trim()) : null;
  return { chunks, done, exitCode: done ? exitCode : null };
}

/** The RelatesTo of a response header (the MessageID it answers). */
export function relatesToOf(header: Xml): string | undefined {
  return text(header.RelatesTo);
}
