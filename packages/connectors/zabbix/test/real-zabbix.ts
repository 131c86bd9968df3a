/**
 * Helpers for the integration tests against the real Zabbix that scripts/services/zabbix.sh
 * starts (API http://127.0.0.1:8090/api_jsonrpc.php, trapper 127.0.0.1:10051): an admin JSON-RPC
 * client of its own (plain fetch, independent of the connector) and zabbix_sender.
 */
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export const ZABBIX_URL = process.env.RUNWARDEN_ZABBIX_URL ?? "http://127.0.0.1:8090/";
export const ZABBIX_USER = process.env.RUNWARDEN_ZABBIX_USER ?? "Admin";
export const ZABBIX_PASSWORD = process.env.RUNWARDEN_ZABBIX_PASSWORD ?? "zabbix";
export const TRAPPER = { host: "127.0.0.1", port: 10051 };

const endpoint = new URL("api_jsonrpc.php", ZABBIX_URL).href;

/** `apiinfo.version`, or undefined when the frontend does not answer. */
export async function zabbixVersion(): Promise<string | undefined> {
  try {
    const res = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json-rpc" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "apiinfo.version", params: {}, id: 1 }),
      signal: AbortSignal.timeout(3_000),
    });
    const body = (await res.json()) as { result?: unknown };
    return typeof body.result === "string" ? body.result : undefined;
  } catch {
    return undefined;
  }
}

/** An admin session of the tests' own, for setting Zabbix up and reading it back. */
export async function adminClient(): Promise<{
  call<T = unknown>(method: string, params: unknown): Promise<T>;
  logout(): Promise<void>;
  version: string;
  /** The tests' own session id (to tell it from the connector's). */
  session: string;
}> {
  const version = (await zabbixVersion()) ?? "0.0";
  const [major, minor] = version.split(".").map(Number) as [number, number];
  const bearer = major > 6 || (major === 6 && minor >= 4);
  let id = 1;
  async function raw(method: string, params: unknown, auth?: string): Promise<unknown> {
    const body: Record<string, unknown> = { jsonrpc: "2.0", method, params, id: id++ };
    const headers: Record<string, string> = { "content-type": "application/json-rpc" };
    if (auth && bearer) headers.authorization = `Bearer ${auth}`;
    else if (auth) body.auth = auth;
    const res = await fetch(endpoint, { method: "POST", headers, body: JSON.stringify(body) });
    const answer = (await res.json()) as { result?: unknown; error?: { message: string; data?: string } };
    if (answer.error) throw new Error(`${method}: ${answer.error.message} ${answer.error.data ?? ""}`);
    return answer.result;
  }
  const session = (await raw("user.login", { username: ZABBIX_USER, password: ZABBIX_PASSWORD })) as string;
  return {
    version,
    session,
    call: async <T>(method: string, params: unknown) => (await raw(method, params, session)) as T,
    logout: async () => {
      await raw("user.logout", [], session).catch(() => {});
    },
  };
}

/** The server's config, as scripts/services/zabbix.sh writes it. */
const serverConf = `${process.env.RUNWARDEN_ZABBIX_DIR ?? "/tmp/runwarden-zabbix"}/zabbix_server.conf`;

/**
 * Asks the running server to reload its configuration cache now (runtime control), so hosts,
 * items and triggers just made through the API are seen without waiting for the periodic sync
 * (CacheUpdateFrequency, 60 s in zabbix.sh: a short period costs a core's tenth all the time).
 */
export async function reloadConfigCache(): Promise<void> {
  await run("zabbix_server", ["-c", serverConf, "-R", "config_cache_reload"]).catch(() => undefined);
}

/**
 * Sends one value with zabbix_sender, retrying until the server takes it: a new trapper item is
 * refused until the configuration cache has it, so each refusal asks for a reload first.
 */
export async function send(host: string, key: string, value: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const { stdout } = await run("zabbix_sender", [
        "-z",
        TRAPPER.host,
        "-p",
        String(TRAPPER.port),
        "-s",
        host,
        "-k",
        key,
        "-o",
        value,
      ]);
      last = stdout;
      if (/processed: 1;/.test(stdout)) return;
    } catch (error) {
      last = String((error as { stdout?: string }).stdout ?? error);
    }
    if (Date.now() > deadline) throw new Error(`zabbix_sender never got ${host}:${key} through: ${last}`);
    await reloadConfigCache();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export async function until<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 30_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached: ${JSON.stringify(value).slice(0, 600)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Sends `value` until `read` satisfies `ok`: the server may take a new item into its
 * configuration cache a sync before its trigger, and a value that arrives in between fires nothing.
 * Sending the same value again only re-evaluates the trigger (single problem generation).
 */
export async function fire<T>(
  host: string,
  key: string,
  value: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  timeoutMs = 45_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  await reloadConfigCache();
  for (;;) {
    await send(host, key, value, Math.max(1_000, deadline - Date.now()));
    try {
      return await until(read, ok, Math.min(4_000, Math.max(0, deadline - Date.now())), what);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await reloadConfigCache();
    }
  }
}

/**
 * Runs SQL on Zabbix's database with psql variables (read from stdin: `-c` does not interpolate
 * them), so no value is ever spliced into the text.
 */
export function zabbixSql(sql: string, variables: Record<string, string>): string[] {
  const args = ["-h", "127.0.0.1", "-U", "zabbix", "-d", "zabbix", "-v", "ON_ERROR_STOP=1", "-qAt"];
  for (const [name, value] of Object.entries(variables)) args.push("-v", `${name}=${value}`);
  const out = execFileSync("psql", args, { input: sql, encoding: "utf8" });
  return out.split("\n").filter((line) => line.trim() !== "");
}

/**
 * Ends one session in Zabbix's database, as an idle timeout, the housekeeper or a logout
 * elsewhere would (the API has no call to end another's session).
 */
export function endSession(sessionid: string): void {
  zabbixSql("DELETE FROM sessions WHERE sessionid = :'sessionid';", { sessionid });
}

/** Active sessions (status 0) of `username`, but `keep`. */
export function activeSessions(username: string, keep: string): string[] {
  return zabbixSql(
    "SELECT s.sessionid FROM sessions s JOIN users u USING (userid) WHERE u.username = :'username' AND s.status = 0 AND s.sessionid <> :'keep';",
    { keep, username },
  );
}
