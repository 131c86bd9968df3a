/**
 * A fake WinRM listener for tests: WS-Management over HTTP(S) as MS-WSMV describes it for the
 * Windows Remote Shell (the cmd shell resource URI; Create, Command, Receive, Signal, Delete), with
 * NTLM (Negotiate) authentication bound to the TCP connection and message encryption over HTTP
 * (multipart/encrypted, MS-WSMV 2.2.9.1.1), or Basic over HTTPS. It really runs each received
 * command under `sh` (a PowerShell -EncodedCommand is decoded first), so output and exit codes are
 * real. It refuses what Windows refuses: wrong content types, unencrypted SOAP on an NTLM/HTTP
 * channel, missing WS-Addressing headers, other resource URIs, unknown shells.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { XMLBuilder, XMLParser } from "fast-xml-parser";
import {
  decryptMessage,
  ENCRYPTED_CONTENT_TYPE,
  encryptMessage,
  isEncrypted,
} from "../src/internal/encryption.js";
import { rc4 } from "../src/internal/legacy-crypto.js";
import {
  Av,
  buildAvPairs,
  challengeMessage,
  Flags,
  fileTime,
  NtlmSecurity,
  ntlmv2Response,
  ntowfv2,
  parseAuthenticate,
} from "../src/internal/ntlm.js";

const CMD_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";
const RSP = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
const ACTIONS = {
  create: "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
  delete: "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
  command: `${RSP}/Command`,
  receive: `${RSP}/Receive`,
  signal: `${RSP}/Signal`,
};

export interface FakeUser {
  username: string;
  password: string;
  domain: string;
}

export interface FakeWsmanOptions {
  auth: "ntlm" | "basic";
  user: FakeUser;
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string; cert: string };
}

interface Command {
  id: string;
  child: ChildProcess;
  out: { stream: "stdout" | "stderr"; data: Buffer }[];
  exitCode: number | null;
  exited: boolean;
  reported: boolean;
  wake: Set<() => void>;
}

interface FakeShell {
  id: string;
  commands: Map<string, Command>;
}

interface Conn {
  stage: "none" | "challenged" | "authenticated";
  negotiate?: Buffer;
  challenge?: Buffer;
  serverChallenge?: Buffer;
  security?: NtlmSecurity;
}

/** What the fake saw, for assertions. */
export interface FakeLog {
  actions: string[];
  commands: string[];
  shellsCreated: number;
  shellsDeleted: number;
  signals: number;
  handshakes: number;
  rejected: string[];
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  removeNSPrefix: true,
  parseTagValue: false,
  isArray: (name) => name === "Arguments" || name === "Option",
});
const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  suppressEmptyNode: true,
  suppressBooleanAttributes: false,
});

/** Parsed XML of a request: its shape is what the fake checks, so it is read loosely. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type XmlNode = any;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function text(node: unknown): string | undefined {
  if (typeof node === "string") return node;
  if (node && typeof node === "object" && "#text" in node)
    return String((node as Record<string, unknown>)["#text"]);
  return undefined;
}

/** The script a command line runs: a PowerShell -EncodedCommand decoded, anything else as is. */
export function scriptOf(command: string, args: string[]): string {
  const line = [command, ...args].join(" ");
  const ps =
    /^\s*(?:powershell|pwsh)(?:\.exe)?\s(?:.*\s)?-(?:encodedcommand|enc|ec|e)\s+([A-Za-z0-9+/=]+)\s*$/i.exec(
      line,
    );
  return ps ? Buffer.from(ps[1]!, "base64").toString("utf16le") : line;
}

export class FakeWsman {
  readonly log: FakeLog = {
    actions: [],
    commands: [],
    shellsCreated: 0,
    shellsDeleted: 0,
    signals: 0,
    handshakes: 0,
    rejected: [],
  };
  readonly #options: FakeWsmanOptions;
  readonly #server: Server;
  readonly #conns = new WeakMap<Socket, Conn>();
  readonly #shells = new Map<string, FakeShell>();
  readonly #sockets = new Set<Socket>();

  constructor(options: FakeWsmanOptions) {
    this.#options = options;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        this.log.rejected.push(`${status} ${(error as Error).message}`);
        if (!res.headersSent) res.writeHead(status, { "content-type": "text/plain" });
        res.end((error as Error).message);
      });
    };
    this.#server = options.tls
      ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler)
      : createHttpServer(handler);
    this.#server.keepAliveTimeout = 60_000;
    this.#server.on(options.tls ? "secureConnection" : "connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Shells the server holds now. */
  get shellCount(): number {
    return this.#shells.size;
  }

  /** Forgets every shell (as a restarted WinRM service would) and kills their commands. */
  dropShells(): void {
    for (const shell of this.#shells.values()) for (const c of shell.commands.values()) this.#kill(c);
    this.#shells.clear();
  }

  /** Closes every client socket (NTLM contexts are lost, as after a proxy reset). */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.dropShells();
    this.dropConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 1024 * 1024) throw new HttpError(413, "request too large");
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);
    if (req.method !== "POST") throw new HttpError(405, "only POST");
    if (req.url !== "/wsman") throw new HttpError(404, "no listener at this path");
    const socket = req.socket;
    let conn = this.#conns.get(socket);
    if (!conn) {
      conn = { stage: "none" };
      this.#conns.set(socket, conn);
    }
    const authorization = req.headers.authorization ?? "";

    if (this.#options.auth === "basic") {
      if (!this.#options.tls) throw new HttpError(401, "Basic is refused on HTTP");
      const token = /^Basic ([A-Za-z0-9+/=]+)$/.exec(authorization)?.[1];
      const { user } = this.#options;
      const expected = [
        `${user.username}:${user.password}`,
        `${user.domain}\\${user.username}:${user.password}`,
      ];
      if (!token || !expected.includes(Buffer.from(token, "base64").toString("utf8"))) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="WSMAN"', "content-length": "0" });
        res.end();
        return;
      }
      return this.#soap(req, res, body, undefined);
    }

    const ntlm = /^(Negotiate|NTLM) ([A-Za-z0-9+/=]+)$/.exec(authorization);
    if (ntlm) {
      const token = Buffer.from(ntlm[2]!, "base64");
      const type = token.length >= 12 ? token.readUInt32LE(8) : 0;
      if (type === 1) {
        conn.stage = "challenged";
        conn.negotiate = token;
        conn.serverChallenge = randomBytes(8);
        const info = new Map<number, Buffer>([
          [Av.NbDomainName, Buffer.from(this.#options.user.domain.toUpperCase(), "utf16le")],
          [Av.NbComputerName, Buffer.from("FAKEWIN", "utf16le")],
          [Av.DnsDomainName, Buffer.from("fake.test", "utf16le")],
          [Av.DnsComputerName, Buffer.from("fakewin.fake.test", "utf16le")],
          [Av.Timestamp, fileTime(Date.now())],
        ]);
        const flags =
          (token.readUInt32LE(12) &
            (Flags.UNICODE |
              Flags.OEM |
              Flags.SIGN |
              Flags.SEAL |
              Flags.NTLM |
              Flags.ALWAYS_SIGN |
              Flags.EXTENDED_SESSIONSECURITY |
              Flags.N128 |
              Flags.KEY_EXCH |
              Flags.N56 |
              Flags.VERSION)) |
          Flags.TARGET_INFO |
          0x0002_0000; // TARGET_TYPE_DOMAIN
        conn.challenge = challengeMessage(
          flags >>> 0,
          conn.serverChallenge,
          this.#options.user.domain.toUpperCase(),
          buildAvPairs(info),
        );
        res.writeHead(401, {
          "www-authenticate": `Negotiate ${conn.challenge.toString("base64")}`,
          "content-length": "0",
        });
        res.end();
        return;
      }
      if (type === 3 && conn.stage === "challenged") {
        this.log.handshakes++;
        const security = this.#verify(conn, token);
        if (!security) {
          conn.stage = "none";
          res.writeHead(401, { "www-authenticate": "Negotiate", "content-length": "0" });
          res.end();
          return;
        }
        conn.stage = "authenticated";
        conn.security = security;
        if (body.length === 0) {
          res.writeHead(200, { "content-length": "0" });
          res.end();
          return;
        }
        return this.#soap(req, res, body, conn);
      }
      throw new HttpError(400, "unexpected NTLM message");
    }
    if (conn.stage !== "authenticated") {
      res.writeHead(401, { "www-authenticate": "Negotiate", "content-length": "0" });
      res.end();
      return;
    }
    return this.#soap(req, res, body, conn);
  }

  /** Checks an AUTHENTICATE message (NTLMv2 only); returns the server's session security. */
  #verify(conn: Conn, token: Buffer): NtlmSecurity | undefined {
    const auth = parseAuthenticate(token);
    const { user } = this.#options;
    if (auth.username.toLowerCase() !== user.username.toLowerCase()) return undefined;
    if (auth.domain && auth.domain.toUpperCase() !== user.domain.toUpperCase()) return undefined;
    if (auth.ntResponse.length < 48) return undefined; // NTLMv1 is refused
    const proof = auth.ntResponse.subarray(0, 16);
    const blob = auth.ntResponse.subarray(16);
    const key = ntowfv2(user.password, auth.username, auth.domain);
    const { ntProof, sessionBaseKey } = ntlmv2Response(
      key,
      conn.serverChallenge!,
      blob.subarray(16, 24),
      blob.subarray(8, 16),
      blob.subarray(28, blob.length - 4),
    );
    if (!ntProof.equals(proof)) return undefined;
    const exported = auth.flags & Flags.KEY_EXCH ? rc4(sessionBaseKey, auth.encryptedKey) : sessionBaseKey;
    return new NtlmSecurity(exported, auth.flags, "server");
  }

  async #soap(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    conn: Conn | undefined,
  ): Promise<void> {
    const contentType = req.headers["content-type"] ?? "";
    const sealed = !this.#options.tls && conn !== undefined;
    let xml: string;
    if (sealed) {
      if (!isEncrypted(contentType) || !contentType.startsWith("multipart/encrypted"))
        throw new HttpError(415, "unencrypted traffic is disabled on this listener (AllowUnencrypted=false)");
      xml = decryptMessage(conn!.security!, body).toString("utf8");
    } else {
      if (contentType.replace(/\s/g, "").toLowerCase() !== "application/soap+xml;charset=utf-8")
        throw new HttpError(415, `content type ${contentType} is not application/soap+xml;charset=UTF-8`);
      xml = body.toString("utf8");
    }
    const { status, envelope } = await this.#dispatch(xml, req);
    const out = Buffer.from(envelope, "utf8");
    if (sealed) {
      const payload = encryptMessage(conn!.security!, out);
      res.writeHead(status, {
        "content-type": ENCRYPTED_CONTENT_TYPE,
        "content-length": String(payload.length),
      });
      res.end(payload);
    } else {
      res.writeHead(status, {
        "content-type": "application/soap+xml;charset=UTF-8",
        "content-length": String(out.length),
      });
      res.end(out);
    }
  }

  async #dispatch(xml: string, req: IncomingMessage): Promise<{ status: number; envelope: string }> {
    const doc = parser.parse(xml) as Record<string, XmlNode>;
    const envelope = doc.Envelope;
    const header = envelope?.Header;
    if (!header || envelope.Body === undefined) throw new HttpError(400, "not a SOAP envelope");
    const messageId = text(header.MessageID);
    const action = text(header.Action);
    const resource = text(header.ResourceURI);
    const to = text(header.To);
    const replyTo = text(header.ReplyTo?.Address);
    if (
      !messageId?.startsWith("uuid:") ||
      !to ||
      !replyTo?.endsWith("/role/anonymous") ||
      !text(header.MaxEnvelopeSize)
    )
      return this.#fault(
        messageId,
        "s:Sender",
        "w:InvalidHeader",
        "2150858817",
        "a WS-Addressing or WS-Management header is missing",
      );
    if (resource !== CMD_URI)
      return this.#fault(
        messageId,
        "s:Sender",
        "w:DestinationUnreachable",
        "2150858770",
        `unknown resource URI ${resource}`,
      );
    this.log.actions.push(action ?? "");
    const selectors = header.SelectorSet?.Selector;
    const shellId = text(
      Array.isArray(selectors) ? selectors.find((s: XmlNode) => s["@_Name"] === "ShellId") : selectors,
    );
    const body = envelope.Body as Record<string, XmlNode>;
    switch (action) {
      case ACTIONS.create: {
        if (!body.Shell)
          return this.#fault(
            messageId,
            "s:Sender",
            "w:SchemaValidationError",
            "2150858817",
            "Create needs rsp:Shell",
          );
        const id = randomUUID().toUpperCase();
        this.#shells.set(id, { id, commands: new Map() });
        this.log.shellsCreated++;
        return this.#ok(action, messageId, {
          "x:ResourceCreated": {
            "@_xmlns:x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
            "a:Address": `http://127.0.0.1:${this.port}/wsman`,
            "a:ReferenceParameters": {
              "w:ResourceURI": CMD_URI,
              "w:SelectorSet": { "w:Selector": { "@_Name": "ShellId", "#text": id } },
            },
          },
          "rsp:Shell": { "rsp:ShellId": id, "rsp:ResourceUri": CMD_URI, "rsp:State": "Connected" },
        });
      }
      case ACTIONS.delete: {
        const shell = shellId ? this.#shells.get(shellId) : undefined;
        if (!shell) return this.#shellGone(messageId, shellId);
        for (const c of shell.commands.values()) this.#kill(c);
        this.#shells.delete(shell.id);
        this.log.shellsDeleted++;
        return this.#ok(action, messageId, "");
      }
      case ACTIONS.command: {
        const shell = shellId ? this.#shells.get(shellId) : undefined;
        if (!shell) return this.#shellGone(messageId, shellId);
        const line = body.CommandLine;
        const command = text(line?.Command);
        if (!command)
          return this.#fault(
            messageId,
            "s:Sender",
            "w:SchemaValidationError",
            "2150858817",
            "Command needs rsp:Command",
          );
        const args = ((line.Arguments as unknown[] | undefined) ?? []).map((a) => text(a) ?? "");
        const script = scriptOf(command, args);
        this.log.commands.push(script);
        const id = randomUUID().toUpperCase();
        shell.commands.set(id, this.#spawn(id, script));
        return this.#ok(action, messageId, { "rsp:CommandResponse": { "rsp:CommandId": id } });
      }
      case ACTIONS.receive: {
        const shell = shellId ? this.#shells.get(shellId) : undefined;
        if (!shell) return this.#shellGone(messageId, shellId);
        const commandId = body.Receive?.DesiredStream?.["@_CommandId"] as string | undefined;
        const cmd = commandId ? shell.commands.get(commandId) : undefined;
        if (!cmd)
          return this.#fault(messageId, "s:Sender", "w:InvalidParameter", "2150858882", "unknown CommandId");
        const timeoutSec = Number(
          /^PT(\d+(?:\.\d+)?)S$/.exec(text(header.OperationTimeout) ?? "")?.[1] ?? 60,
        );
        if (cmd.out.length === 0 && !cmd.exited) {
          const ready = await this.#waitOutput(cmd, timeoutSec * 1000, req);
          if (!ready)
            return this.#fault(
              messageId,
              "s:Receiver",
              "w:TimedOut",
              "2150858793",
              "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
            );
        }
        await new Promise((r) => setTimeout(r, 5)); // let close-together chunks travel together
        const streams = cmd.out
          .splice(0)
          .map((o) => ({ "@_Name": o.stream, "@_CommandId": cmd.id, "#text": o.data.toString("base64") }));
        const done = cmd.exited && cmd.out.length === 0;
        const state = done
          ? {
              "@_CommandId": cmd.id,
              "@_State": `${RSP}/CommandState/Done`,
              "rsp:ExitCode": String(cmd.exitCode ?? 1),
            }
          : { "@_CommandId": cmd.id, "@_State": `${RSP}/CommandState/Running` };
        if (done) cmd.reported = true;
        return this.#ok(action, messageId, {
          "rsp:ReceiveResponse": { "rsp:Stream": streams, "rsp:CommandState": state },
        });
      }
      case ACTIONS.signal: {
        const shell = shellId ? this.#shells.get(shellId) : undefined;
        if (!shell) return this.#shellGone(messageId, shellId);
        const commandId = body.Signal?.["@_CommandId"] as string | undefined;
        const code = text(body.Signal?.Code);
        const cmd = commandId ? shell.commands.get(commandId) : undefined;
        if (!cmd || !code?.startsWith(`${RSP}/signal/`))
          return this.#fault(messageId, "s:Sender", "w:InvalidParameter", "2150858882", "bad Signal");
        this.log.signals++;
        if (code.endsWith("/terminate")) {
          this.#kill(cmd);
          shell.commands.delete(cmd.id);
        }
        return this.#ok(action, messageId, { "rsp:SignalResponse": "" });
      }
      default:
        return this.#fault(
          messageId,
          "s:Sender",
          "a:ActionNotSupported",
          "2150858885",
          `action ${action} is not supported`,
        );
    }
  }

  #spawn(id: string, script: string): Command {
    const child = spawn("sh", ["-c", script], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const cmd: Command = {
      id,
      child,
      out: [],
      exitCode: null,
      exited: false,
      reported: false,
      wake: new Set(),
    };
    const wake = () => {
      for (const w of [...cmd.wake]) w();
    };
    child.stdout!.on("data", (data: Buffer) => {
      cmd.out.push({ stream: "stdout", data });
      wake();
    });
    child.stderr!.on("data", (data: Buffer) => {
      cmd.out.push({ stream: "stderr", data });
      wake();
    });
    child.on("close", (code, signal) => {
      cmd.exitCode = code ?? (signal ? 1 : null);
      cmd.exited = true;
      wake();
    });
    child.on("error", () => {
      cmd.exitCode = 9009;
      cmd.exited = true;
      wake();
    });
    return cmd;
  }

  #kill(cmd: Command): void {
    if (cmd.exited || cmd.child.pid === undefined) return;
    try {
      process.kill(-cmd.child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }

  #waitOutput(cmd: Command, ms: number, req: IncomingMessage): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        cmd.wake.delete(onWake);
        req.socket.off("close", onClose);
        resolve(ok);
      };
      const onWake = () => done(true);
      const onClose = () => done(false);
      const timer = setTimeout(() => done(false), ms);
      cmd.wake.add(onWake);
      req.socket.once("close", onClose);
    });
  }

  #envelope(action: string, messageId: string | undefined, body: unknown): string {
    return builder.build({
      "s:Envelope": {
        "@_xml:lang": "en-US",
        "@_xmlns:s": "http://www.w3.org/2003/05/soap-envelope",
        "@_xmlns:a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
        "@_xmlns:w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
        "@_xmlns:rsp": RSP,
        "s:Header": {
          "a:Action": action,
          "a:MessageID": `uuid:${randomUUID().toUpperCase()}`,
          "a:To": "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous",
          ...(messageId ? { "a:RelatesTo": messageId } : {}),
        },
        "s:Body": body,
      },
    }) as string;
  }

  #ok(action: string, messageId: string | undefined, body: unknown) {
    return { status: 200, envelope: this.#envelope(`${action}Response`, messageId, body) };
  }

  #fault(messageId: string | undefined, code: string, subcode: string, wsmanCode: string, message: string) {
    return {
      status: 500,
      envelope: this.#envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", messageId, {
        "s:Fault": {
          "s:Code": { "s:Value": code, "s:Subcode": { "s:Value": subcode } },
          "s:Reason": { "s:Text": { "@_xml:lang": "en-US", "#text": message } },
          "s:Detail": {
            "f:WSManFault": {
              "@_xmlns:f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
              "@_Code": wsmanCode,
              "@_Machine": "fakewin",
              "f:Message": message,
            },
          },
        },
      }),
    };
  }

  #shellGone(messageId: string | undefined, shellId: string | undefined) {
    return this.#fault(
      messageId,
      "s:Sender",
      "w:InvalidSelectors",
      "2150858843",
      `The request for the Windows Remote Shell with ShellId ${shellId ?? "(none)"} failed because the shell was not found on the server.`,
    );
  }
}

/** Starts a fake listener. */
export async function startFakeWsman(options: FakeWsmanOptions): Promise<FakeWsman> {
  const fake = new FakeWsman(options);
  await fake.listen();
  return fake;
}
