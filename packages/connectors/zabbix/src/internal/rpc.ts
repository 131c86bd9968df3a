/**
 * Zabbix's JSON-RPC API (`POST <url>/api_jsonrpc.php`): version detection through the
 * unauthenticated `apiinfo.version`, the credential in the body's `auth` member (6.0–6.2) or in
 * `Authorization: Bearer` (6.4 and later), one `user.login` session reused by every call and
 * renewed when Zabbix says it ended, `user.logout` on close. Every failure is a RunwardenError
 * with a connector code; no message or detail ever holds the password, the token or the session.
 */
import { createHttpClient, type HttpClient } from "@runwarden/connector-kit";
import { type ErrorCode, isRunwardenError, type Logger, rwError } from "@runwarden/core";
import { z } from "zod";
import type { ZabbixApiAuth } from "../config.js";

/** A Zabbix version as `apiinfo.version` reports it. */
export interface ZabbixVersion {
  text: string;
  major: number;
  minor: number;
  /** 6.4 and later take the credential as `Authorization: Bearer` (7.2 refuses the body's `auth`). */
  bearer: boolean;
  /** 5.4 and later name `user.login`'s parameter `username` (before: `user`). */
  username: boolean;
}

export function parseZabbixVersion(text: string): ZabbixVersion | undefined {
  const match = /^(\d+)\.(\d+)(?:\.\d+)?/.exec(text.trim());
  if (!match) return undefined;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  const atLeast = (M: number, m: number) => major > M || (major === M && minor >= m);
  return { text: text.trim(), major, minor, bearer: atLeast(6, 4), username: atLeast(5, 4) };
}

const RpcError = z
  .object({
    jsonrpc: z.literal("2.0"),
    error: z.object({ code: z.number(), message: z.string(), data: z.string().optional() }),
  })
  .loose();
const RpcResult = z.object({ jsonrpc: z.literal("2.0"), result: z.unknown() }).loose();

const excerpt = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);

/** Zabbix's words for a missing, ended or refused credential. */
const authWords =
  /not authori[sz]ed|session terminated|re-login|incorrect user name or password|temporarily blocked|api token expired|no permissions to call/i;
/** Zabbix's words for a session that is no longer valid (a new login may fix it). */
const sessionEndedWords = /not authori[sz]ed|session terminated|re-login/i;

/** The connector code of a JSON-RPC error `{ code, message, data }`. */
export function rpcErrorCode(error: { code: number; message: string; data?: string | undefined }): ErrorCode {
  const text = `${error.message} ${error.data ?? ""}`;
  if (authWords.test(text)) return "RW_ERR_CONNECTOR_AUTH";
  if (/no permissions to referred object or it does not exist/i.test(text))
    return "RW_ERR_CONNECTOR_NOT_FOUND";
  return "RW_ERR_CONNECTOR_REJECTED";
}

export interface ZabbixRpc {
  /** The server's version (asked once, then remembered). */
  version(signal: AbortSignal): Promise<ZabbixVersion>;
  /** Calls `method` with the configured credential; resolves its `result`. */
  call(method: string, params: unknown, signal: AbortSignal): Promise<unknown>;
  /** Ends the `user.login` session, if there is one. Never throws. */
  close(): Promise<void>;
}

export function createZabbixRpc(
  config: {
    url: string;
    auth: ZabbixApiAuth;
    timeoutMs: number;
    dispatcher?: import("undici").Dispatcher | undefined;
  },
  deps: { logger: Logger; now(): Date },
): ZabbixRpc {
  const base = new URL(config.url.endsWith("/") ? config.url : `${config.url}/`);
  /** The bearer credential of the request being sent (6.4+), read by the client's headers(). */
  let bearer: string | undefined;
  const http: HttpClient = createHttpClient({
    vendor: "Zabbix",
    baseUrl: base,
    dispatcher: config.dispatcher,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: 64 * 1024 * 1024,
    now: () => deps.now().getTime(),
    headers: (): Record<string, string> =>
      bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
  });
  const { auth } = config;
  let nextId = 1;
  let known: ZabbixVersion | undefined;
  let session: string | undefined;
  let loggingIn: Promise<string> | undefined;

  /** One JSON-RPC exchange. `credential` undefined: an anonymous call (apiinfo.version, user.login). */
  async function exchange(
    method: string,
    params: unknown,
    credential: { value: string; bearer: boolean } | undefined,
    signal: AbortSignal,
  ): Promise<unknown> {
    const body: Record<string, unknown> = { jsonrpc: "2.0", method, params, id: nextId++ };
    if (credential && !credential.bearer) body.auth = credential.value;
    let answer: unknown;
    // headers() runs synchronously inside send() before its first await, so `bearer` is this call's.
    bearer = credential?.bearer ? credential.value : undefined;
    try {
      answer = await http.json({
        method: "POST",
        path: "api_jsonrpc.php",
        json: body,
        anonymous: credential === undefined || !credential.bearer,
        signal,
      });
    } finally {
      bearer = undefined;
    }
    const failed = RpcError.safeParse(answer);
    if (failed.success) {
      const error = failed.data.error;
      const code = rpcErrorCode(error);
      const said = error.data ? `${error.message} ${error.data}` : error.message;
      throw rwError(code, `Zabbix refused ${method}: ${excerpt(said)}`, {
        details: { vendor: "Zabbix", method, rpcCode: error.code, remote: excerpt(said) },
      });
    }
    const parsed = RpcResult.safeParse(answer);
    if (!parsed.success || !("result" in parsed.data)) {
      throw rwError(
        "RW_ERR_CONNECTOR_REJECTED",
        `Zabbix answered ${method} with something that is not JSON-RPC`,
        {
          details: { vendor: "Zabbix", method, remote: excerpt(JSON.stringify(answer) ?? "") },
        },
      );
    }
    return parsed.data.result;
  }

  async function version(signal: AbortSignal): Promise<ZabbixVersion> {
    if (known) return known;
    const result = await exchange("apiinfo.version", {}, undefined, signal);
    const parsed = typeof result === "string" ? parseZabbixVersion(result) : undefined;
    if (!parsed) {
      throw rwError("RW_ERR_CONNECTOR_REJECTED", "Zabbix answered apiinfo.version with no version", {
        details: { vendor: "Zabbix", method: "apiinfo.version", remote: excerpt(String(result)) },
      });
    }
    if (parsed.major < 6) {
      deps.logger.warn({ version: parsed.text }, "zabbix older than 6.0: not supported, trying anyway");
    }
    known = parsed;
    deps.logger.debug({ version: parsed.text, bearer: parsed.bearer }, "zabbix version detected");
    return parsed;
  }

  async function login(signal: AbortSignal): Promise<string> {
    if (auth.type !== "password") throw new Error("login without a password");
    const v = await version(signal);
    const params = v.username
      ? { username: auth.username, password: auth.password }
      : { user: auth.username, password: auth.password };
    const result = await exchange("user.login", params, undefined, signal);
    if (typeof result !== "string" || result === "") {
      throw rwError("RW_ERR_CONNECTOR_REJECTED", "Zabbix answered user.login without a session", {
        details: { vendor: "Zabbix", method: "user.login" },
      });
    }
    session = result;
    deps.logger.debug({ username: auth.username }, "zabbix session opened");
    return result;
  }

  async function credential(signal: AbortSignal): Promise<string> {
    if (auth.type === "token") return auth.token;
    if (session !== undefined) return session;
    if (!loggingIn) {
      loggingIn = login(signal).finally(() => {
        loggingIn = undefined;
      });
    }
    return loggingIn;
  }

  return {
    version,

    async call(method, params, signal) {
      const v = await version(signal);
      for (let attempt = 0; ; attempt++) {
        const value = await credential(signal);
        try {
          return await exchange(method, params, { value, bearer: v.bearer }, signal);
        } catch (error) {
          const ended =
            isRunwardenError(error) &&
            error.code === "RW_ERR_CONNECTOR_AUTH" &&
            sessionEndedWords.test(String(error.details?.remote ?? ""));
          if (auth.type === "password" && ended && attempt === 0) {
            // The session expired or was logged out elsewhere: sign in again, once.
            if (session === value) session = undefined;
            deps.logger.info({ method }, "zabbix session ended: signing in again");
            continue;
          }
          throw error;
        }
      }
    },

    async close() {
      const current = session;
      session = undefined;
      if (auth.type !== "password" || current === undefined || !known) return;
      try {
        await exchange(
          "user.logout",
          [],
          { value: current, bearer: known.bearer },
          AbortSignal.timeout(5_000),
        );
        deps.logger.debug({}, "zabbix session closed");
      } catch (err) {
        deps.logger.debug({ err }, "zabbix logout failed");
      }
    },
  };
}
