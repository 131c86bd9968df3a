/**
 * The SSH connector: runs shell steps on a target over pooled ssh2 connections, with pinned host
 * keys, key/password/agent authentication and an optional bastion.
 */

import { releasableHandle } from "@runwarden/connector-kit";
import {
  type ConnectionHandle,
  defineConnector,
  type HealthResult,
  type InfrastructureConnector,
} from "@runwarden/core";
import { type SshConfig, type SshConnection, sshConfigSchema, sshCredentialTypes } from "./config.js";
import { openClient, resolveSettings } from "./internal/connect.js";
import { abortError } from "./internal/errors.js";
import { runCommand } from "./internal/exec.js";
import { SshPool } from "./internal/pool.js";

function oneLine(text: string, max = 200): string {
  const line = text.trim().replace(/\s*\n\s*/g, " ⏎ ");
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function authKind(connection: SshConnection): string {
  const value = connection.credential?.value;
  if (value?.private_key) return "key";
  if (value?.password) return "password";
  if (value?.agent_socket) return "agent";
  return "no credential";
}

/** The SSH connector declaration (default export of `@runwarden/connector-ssh`). */
const sshConnector = defineConnector({
  kind: "infrastructure",
  name: "ssh",
  version: "0.1.0",
  sdk: "^0.1.0",
  description: "Runs shell steps over SSH (ssh2): pooled connections, pinned host keys, bastion hosts.",
  configSchema: sshConfigSchema,
  capabilities: [
    "run-command",
    "stream-output",
    "timeout",
    "health-check",
    "describe",
    "connection-pool",
    "jump-host",
  ],
  connectionTypes: ["ssh"],
  languages: ["sh"],
  credentialTypes: sshCredentialTypes,
  create(config: SshConfig, ctx): InfrastructureConnector<NonNullable<SshConnection["credential"]>> {
    const logger = ctx.logger.child({ component: "ssh" });
    const pool = new SshPool(config, logger);

    return {
      async open(connection, { signal }): Promise<ConnectionHandle> {
        if (signal.aborted) throw abortError("SSH open", signal.reason);
        const settings = resolveSettings(connection, config);
        // Take and give back a slot: surfaces DNS, auth and host key failures at open time.
        pool.release(await pool.acquire(settings, signal));
        return releasableHandle("SSH", (request) => runCommand(pool, settings, request, config, logger));
      },

      async healthCheck(connection, { signal }): Promise<HealthResult> {
        const start = performance.now();
        const latencyMs = () => Math.round((performance.now() - start) * 10) / 10;
        try {
          if (signal.aborted) throw abortError("SSH health check", signal.reason);
          const client = await openClient(resolveSettings(connection, config), config, signal, logger);
          const ok = latencyMs();
          client.end();
          return { ok: true, latencyMs: ok };
        } catch (error) {
          const e = error as { message?: string; details?: { reason?: string } };
          logger.warn({ connection: connection.name, reason: e.details?.reason }, "ssh health check failed");
          return {
            ok: false,
            latencyMs: latencyMs(),
            reason: e.details?.reason ?? "unreachable",
            message: e.message ?? String(error),
          };
        }
      },

      describe(request, connection) {
        const user = connection.options?.username ?? connection.credential?.value.username ?? "?";
        const jump = (connection.options?.jump_host as { host?: string } | undefined)?.host;
        const where = `${String(user)}@${connection.targetHost ?? "?"}:${connection.targetPort ?? 22}`;
        return `ssh ${where}${jump ? ` via ${jump}` : ""} (${authKind(connection)} auth): ${oneLine(request.command)}`;
      },

      close: () => pool.close(),
    };
  },
});

export default sshConnector;
