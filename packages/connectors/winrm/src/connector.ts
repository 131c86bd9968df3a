/**
 * The WinRM connector: runs PowerShell and cmd steps on Windows hosts over WS-Management, with
 * pooled shells, NTLM (sealed over HTTP, or over HTTPS) or Basic over HTTPS.
 */
import { releasableHandle } from "@runwarden/connector-kit";
import {
  type ConnectionHandle,
  defineConnector,
  type HealthResult,
  type InfrastructureConnector,
} from "@runwarden/core";
import { type WinrmConfig, type WinrmConnection, winrmConfigSchema, winrmCredentialTypes } from "./config.js";
import { abortError } from "./internal/errors.js";
import { runCommand } from "./internal/exec.js";
import { Shell, ShellPool } from "./internal/shell.js";
import { basicToken, resolveSettings, type Settings } from "./internal/transport.js";

function oneLine(text: string, max = 200): string {
  const line = text.trim().replace(/\s*\n\s*/g, " ⏎ ");
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * Registers for redaction what this connector derives from the password: the Basic
 * `Authorization` value (and its base64 token). NTLM sends no value the password can be read from.
 */
function registerDerived(settings: Settings, redact: ((value: string) => void) | undefined): void {
  if (!redact || settings.options.auth !== "basic") return;
  const token = basicToken(settings.login);
  redact(token);
  redact(`Basic ${token}`);
}

/** The WinRM connector declaration (default export of `@runwarden/connector-winrm`). */
const winrmConnector = defineConnector({
  kind: "infrastructure",
  name: "winrm",
  version: "0.1.0",
  sdk: "^0.1.0",
  description:
    "Runs PowerShell and cmd steps on Windows over WinRM (WS-Management): pooled shells, NTLM with message encryption or HTTPS, Basic over HTTPS.",
  configSchema: winrmConfigSchema,
  capabilities: ["run-command", "stream-output", "timeout", "health-check", "describe", "connection-pool"],
  connectionTypes: ["winrm"],
  languages: ["powershell", "cmd"],
  credentialTypes: winrmCredentialTypes,
  create(config: WinrmConfig, ctx): InfrastructureConnector<NonNullable<WinrmConnection["credential"]>> {
    const logger = ctx.logger.child({ component: "winrm" });
    const pool = new ShellPool(config, logger);

    return {
      async open(connection, { signal, redact }): Promise<ConnectionHandle> {
        if (signal.aborted) throw abortError("WinRM open", signal.reason);
        const settings = resolveSettings(connection);
        registerDerived(settings, redact);
        // Take and give back a shell: surfaces DNS, TLS and credential failures at open time.
        pool.release(await pool.acquire(settings, signal));
        return releasableHandle("WinRM", (request) => runCommand(pool, settings, request, config, logger));
      },

      async healthCheck(connection, { signal, redact }): Promise<HealthResult> {
        const start = performance.now();
        const latencyMs = () => Math.round((performance.now() - start) * 10) / 10;
        try {
          if (signal.aborted) throw abortError("WinRM health check", signal.reason);
          const settings = resolveSettings(connection);
          registerDerived(settings, redact);
          // A fresh channel and shell (not a pooled one): proves authentication and Create work now.
          const shell = await Shell.open(settings, config, logger, signal);
          const ok = latencyMs();
          await shell.delete(signal).catch(() => shell.transport.destroy());
          return { ok: true, latencyMs: ok };
        } catch (error) {
          const e = error as { message?: string; details?: { reason?: string } };
          logger.warn(
            { connection: connection.name, reason: e.details?.reason },
            "winrm health check failed",
          );
          return {
            ok: false,
            latencyMs: latencyMs(),
            reason: e.details?.reason ?? "unreachable",
            message: e.message ?? String(error),
          };
        }
      },

      describe(request, connection) {
        const options = (connection.options ?? {}) as { transport?: string; auth?: string };
        const transport = options.transport ?? "https";
        const auth = options.auth ?? "ntlm";
        const value = connection.credential?.value;
        const user = value ? `${value.domain ? `${value.domain}\\` : ""}${value.username}` : "?";
        const port = connection.targetPort ?? (transport === "http" ? 5985 : 5986);
        const how = request.language === "cmd" ? "cmd" : "PowerShell";
        return `winrm ${transport}://${connection.targetHost ?? "?"}:${port} as ${user} (${auth}${transport === "http" ? ", encrypted" : ""}) ${how}: ${oneLine(request.command)}`;
      },

      close: () => pool.close(),
    };
  },
});

export default winrmConnector;
