/**
 * One authenticated HTTP channel to a WinRM listener: a single keep-alive socket (undici `Client`),
 * because NTLM authenticates the connection, not the request. Over HTTP every SOAP message is
 * sealed with the NTLM session (multipart/encrypted); over HTTPS it is sent as is. A 401 on an
 * established channel (the server or a proxy dropped the socket) re-runs the handshake once.
 */
import { parseConnectionOptions, poolKey } from "@runwarden/connector-kit";
import { type Logger, rwError } from "@runwarden/core";
import { Client } from "undici";
import {
  type WinrmConfig,
  type WinrmConnection,
  type WinrmConnectionOptions,
  winrmConnectionOptionsSchema,
} from "../config.js";
import {
  decryptMessage,
  ENCRYPTED_CONTENT_TYPE,
  EncryptionError,
  encryptMessage,
  isEncrypted,
} from "./encryption.js";
import { abortError, authError, protocolError, transportError } from "./errors.js";
import {
  authenticateMessage,
  NtlmError,
  type NtlmLogin,
  type NtlmSecurity,
  negotiateMessage,
  parseChallenge,
} from "./ntlm.js";

export const SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8";

/** Everything needed to reach one listener with one credential. */
export interface Settings {
  /** Pool key: endpoint, TLS options and the credential (HMAC, never the secret itself). */
  key: string;
  url: URL;
  /** `host:port`, for messages and logs. */
  label: string;
  options: WinrmConnectionOptions;
  login: NtlmLogin;
}

/** Reads the connection's options and credential; throws connector errors for what cannot work. */
export function resolveSettings(connection: WinrmConnection): Settings {
  const options = parseConnectionOptions(winrmConnectionOptionsSchema, connection, "WinRM");
  const host = connection.targetHost;
  if (!host) {
    throw rwError("RW_ERR_CONNECTOR_REJECTED", `connection ${connection.name} has no target_host`, {
      details: { connection: connection.name },
    });
  }
  const credential = connection.credential;
  if (credential?.credentialType !== "winrm" || !credential.value.username || !credential.value.password) {
    throw rwError(
      "RW_ERR_CONNECTOR_AUTH",
      "the WinRM connection needs a winrm credential with a username and password",
      {
        details: { reason: "auth", connection: connection.name },
      },
    );
  }
  const port = connection.targetPort ?? (options.transport === "https" ? 5986 : 5985);
  const url = new URL(
    `${options.transport}://${host.includes(":") ? `[${host}]` : host}:${port}${options.path}`,
  );
  let username = credential.value.username;
  let domain = credential.value.domain ?? "";
  const slash = username.indexOf("\\");
  if (slash > 0 && !credential.value.domain) {
    domain = username.slice(0, slash);
    username = username.slice(slash + 1);
  }
  const login: NtlmLogin = { username, password: credential.value.password, domain };
  return {
    key: poolKey([
      url.href,
      options.auth,
      options.ca,
      options.tls_verify,
      options.tls_server_name,
      username,
      domain,
      login.password,
    ]),
    url,
    label: `${url.hostname}:${port}`,
    options,
    login,
  };
}

/** The base64 token of a Basic `Authorization` header for the login (`DOMAIN\\user` when it has a domain). */
export function basicToken(login: NtlmLogin): string {
  const user = login.domain ? `${login.domain}\\${login.username}` : login.username;
  return Buffer.from(`${user}:${login.password}`, "utf8").toString("base64");
}

/** A response: the HTTP status and the SOAP text (decrypted). */
export interface WsmanResponse {
  status: number;
  xml: string;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

async function readBody(body: AsyncIterable<Buffer | Uint8Array>, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) return undefined;
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  data: Buffer;
}

export class WsmanTransport {
  readonly settings: Settings;
  readonly #config: WinrmConfig;
  #client: Client;
  readonly #seal: boolean;
  #security: NtlmSecurity | undefined;
  #authenticated = false;

  constructor(settings: Settings, config: WinrmConfig, logger: Logger) {
    this.settings = settings;
    this.#config = config;
    const { options } = settings;
    if (options.transport === "https" && !options.tls_verify)
      logger.warn(
        { target: settings.label },
        "winrm TLS certificate verification is off for this connection",
      );
    this.#client = this.#newClient();
    this.#seal = options.auth === "ntlm" && options.transport === "http";
  }

  #newClient(): Client {
    const { options } = this.settings;
    const config = this.#config;
    return new Client(this.settings.url.origin, {
      pipelining: 1,
      connectTimeout: config.connectTimeoutMs,
      // The server holds a Receive open for OperationTimeout: answer time must exceed it.
      headersTimeout: (config.operationTimeoutSec + 15) * 1000,
      bodyTimeout: (config.operationTimeoutSec + 15) * 1000,
      keepAliveTimeout: 60_000,
      connect: {
        ...(options.ca ? { ca: options.ca } : {}),
        rejectUnauthorized: options.tls_verify,
        ...(options.tls_server_name ? { servername: options.tls_server_name } : {}),
        noDelay: true,
      },
    });
  }

  /**
   * Replaces the socket (and so the NTLM context) with a new one, authenticated on the next
   * request: used before a Command on a channel idle long enough for the server or a proxy to have
   * closed it, since a Command lost that way cannot be sent again safely.
   */
  renew(): void {
    const old = this.#client;
    this.#client = this.#newClient();
    this.#authenticated = false;
    this.#security = undefined;
    void old.close().catch(() => old.destroy());
  }

  async #raw(body: Buffer, headers: Record<string, string>, signal: AbortSignal): Promise<RawResponse> {
    try {
      const response = await this.#client.request({
        path: this.settings.url.pathname,
        method: "POST",
        headers: { ...headers, "content-length": String(body.length) },
        body,
        signal,
      });
      const data = await readBody(response.body, this.#config.maxEnvelopeSize * 4 + 65_536);
      if (data === undefined)
        throw protocolError(this.settings.label, "the answer is larger than allowed", undefined, {
          status: response.statusCode,
        });
      return { status: response.statusCode, headers: response.headers, data };
    } catch (error) {
      if (signal.aborted) throw abortError("the WinRM request", signal.reason);
      if ((error as { code?: string }).code?.startsWith("RW_ERR_")) throw error;
      throw transportError(error, this.settings.label);
    }
  }

  /** The NTLM handshake on this channel's socket (an empty POST, as pywinrm does). */
  async #handshake(signal: AbortSignal): Promise<void> {
    const where = this.settings.label;
    const negotiate = negotiateMessage();
    const first = await this.#raw(
      Buffer.alloc(0),
      { authorization: `Negotiate ${negotiate.toString("base64")}` },
      signal,
    );
    const offered = header(first.headers, "www-authenticate") ?? "";
    const token = /(?:^|,\s*)(?:Negotiate|NTLM) ([A-Za-z0-9+/=]+)/.exec(offered)?.[1];
    if (first.status !== 401 || !token)
      throw first.status === 401
        ? authError(where, "the server does not offer NTLM (Negotiate)")
        : protocolError(where, `answered the NTLM negotiation with HTTP ${first.status}`, undefined, {
            status: first.status,
          });
    let message: Buffer;
    try {
      const result = authenticateMessage(
        this.settings.login,
        negotiate,
        parseChallenge(Buffer.from(token, "base64")),
      );
      message = result.message;
      this.#security = result.security;
    } catch (error) {
      if (error instanceof NtlmError)
        throw protocolError(where, `NTLM negotiation failed: ${error.message}`, error);
      throw error;
    }
    const second = await this.#raw(
      Buffer.alloc(0),
      { authorization: `Negotiate ${message.toString("base64")}` },
      signal,
    );
    if (second.status === 401 || second.status === 403) throw authError(where, `HTTP ${second.status}`);
    if (second.status >= 300)
      throw protocolError(where, `answered NTLM authentication with HTTP ${second.status}`, undefined, {
        status: second.status,
      });
    this.#authenticated = true;
  }

  /**
   * Posts one SOAP message; resolves 200 answers and SOAP faults (HTTP 500 with an envelope).
   * `retrySafe` requests (all but Command) are sent again once when the kept-alive socket turns out
   * to be closed; a Command is not, since the server may have started it.
   */
  async post(xml: string, signal: AbortSignal, retrySafe = true): Promise<WsmanResponse> {
    const where = this.settings.label;
    let resent = false;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw abortError("the WinRM request", signal.reason);
      const ntlm = this.settings.options.auth === "ntlm";
      if (ntlm && !this.#authenticated) await this.#handshake(signal);
      const plain = Buffer.from(xml, "utf8");
      const headers: Record<string, string> = {};
      let body: Buffer = plain;
      if (this.#seal && this.#security) {
        body = encryptMessage(this.#security, plain);
        headers["content-type"] = ENCRYPTED_CONTENT_TYPE;
      } else {
        headers["content-type"] = SOAP_CONTENT_TYPE;
      }
      if (!ntlm) headers.authorization = `Basic ${basicToken(this.settings.login)}`;
      let response: RawResponse;
      try {
        response = await this.#raw(body, headers, signal);
      } catch (error) {
        const errno = (error as { details?: { errno?: string } }).details?.errno;
        if (retrySafe && !resent && (errno === "UND_ERR_SOCKET" || errno === "ECONNRESET")) {
          resent = true;
          this.#authenticated = false;
          this.#security = undefined;
          continue;
        }
        throw error;
      }
      if (response.status === 401) {
        this.#authenticated = false;
        this.#security = undefined;
        // An established NTLM channel lost its socket: authenticate again, once.
        if (ntlm && attempt === 0) continue;
        throw authError(where, "HTTP 401");
      }
      let text: string;
      try {
        text =
          isEncrypted(header(response.headers, "content-type")) && this.#security
            ? decryptMessage(this.#security, response.data).toString("utf8")
            : response.data.toString("utf8");
      } catch (error) {
        if (error instanceof EncryptionError || error instanceof NtlmError)
          throw protocolError(where, `cannot decrypt the answer: ${error.message}`, error);
        throw error;
      }
      if (
        this.#seal &&
        response.data.length > 0 &&
        !isEncrypted(header(response.headers, "content-type")) &&
        response.status === 200
      )
        throw protocolError(where, "the server answered an encrypted request in clear text");
      if (response.status === 200 || response.status === 500) return { status: response.status, xml: text };
      if (response.status === 403) throw authError(where, "HTTP 403");
      throw protocolError(where, `answered HTTP ${response.status}`, undefined, { status: response.status });
    }
  }

  async close(): Promise<void> {
    await this.#client.close().catch(() => this.#client.destroy());
  }

  destroy(): void {
    void this.#client.destroy().catch(() => undefined);
  }
}
