/**
 * The Google Cloud connector: `sh` steps run on a Compute Engine VM over SSH with OS Login (a
 * short-lived key imported for the service account, then the ssh connector's pooled transport);
 * `gcp` steps reset, stop, start an instance or read its status.
 */
import { parseConnectionOptions, releasableHandle } from "@runwarden/connector-kit";
import sshConnector from "@runwarden/connector-ssh";
import {
  type ConnectionHandle,
  defineConnector,
  type ExecRequest,
  type ExecResult,
  type HealthResult,
  type InfrastructureConnector,
  type ResolvedConnection,
  rwError,
} from "@runwarden/core";
import {
  type GcpConfig,
  type GcpConnection,
  gcpConfigSchema,
  gcpConnectionOptionsSchema,
  gcpCredentialTypes,
} from "./config.js";
import { runAction } from "./internal/actions.js";
import { GcpApi, type Where } from "./internal/api.js";
import { tokenSource } from "./internal/auth.js";
import { OsLoginKeys } from "./internal/oslogin.js";
import { gcpSetup } from "./internal/setup.js";
import { parseGcpStep } from "./internal/step.js";

/** What the health check asks `testIamPermissions` for: everything the steps need. */
export const REQUIRED_PERMISSIONS = [
  "compute.instances.get",
  "compute.instances.reset",
  "compute.instances.stop",
  "compute.instances.start",
  "compute.instances.osAdminLogin",
];

function oneLine(text: string, max = 200): string {
  const line = text.trim().replace(/\s*\n\s*/g, " ⏎ ");
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function abortError(what: string, cause?: unknown) {
  return rwError("RW_ERR_CONNECTOR_TIMEOUT", `${what} was aborted`, {
    cause,
    details: { reason: "aborted" },
  });
}

interface Target {
  where: Where;
  options: ReturnType<typeof parseOptions>;
}

function parseOptions(connection: GcpConnection) {
  return parseConnectionOptions(gcpConnectionOptionsSchema, connection, "GCP");
}

function targetOf(connection: GcpConnection): Target {
  const options = parseOptions(connection);
  const instance = options.instance ?? connection.targetHost ?? "";
  if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(instance)) {
    throw rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      `connection ${connection.name} names no Compute Engine instance (target_host or options.instance)`,
      { details: { reason: "config", connection: connection.name } },
    );
  }
  return { where: { project: options.project, zone: options.zone, instance }, options };
}

/** The GCP connector declaration (default export of `@runwarden/connector-gcp`). */
const gcpConnector = defineConnector({
  kind: "infrastructure",
  name: "gcp",
  version: "0.1.0",
  sdk: "^0.1.0",
  description:
    "Google Compute Engine: sh steps over SSH with OS Login (short-lived keys), gcp steps to reset, stop, start or check an instance.",
  configSchema: gcpConfigSchema,
  capabilities: ["run-command", "stream-output", "timeout", "health-check", "describe", "connection-pool"],
  connectionTypes: ["gcp"],
  languages: ["sh", "gcp"],
  credentialTypes: gcpCredentialTypes,
  vendorSetup: gcpSetup,
  async create(
    config: GcpConfig,
    ctx,
  ): Promise<InfrastructureConnector<NonNullable<GcpConnection["credential"]>>> {
    const logger = ctx.logger.child({ component: "gcp" });
    const ssh = (await sshConnector.create(config.ssh, { ...ctx, logger })) as InfrastructureConnector;
    const keys = new OsLoginKeys(config, () => Date.now());

    async function runShell(
      connection: GcpConnection,
      target: Target,
      api: GcpApi,
      email: string,
      request: ExecRequest,
    ): Promise<ExecResult> {
      const instance = await api.getInstance(target.where, request.signal);
      if (instance.status !== "RUNNING") {
        throw rwError(
          "RW_ERR_CONNECTOR_CONFLICT",
          `instance ${target.where.instance} is ${instance.status}, not RUNNING: cannot run a command on it`,
          { details: { reason: "state", status: instance.status } },
        );
      }
      const nic = instance.networkInterfaces?.[0];
      const ip = target.options.use_internal_ip ? nic?.networkIP : nic?.accessConfigs?.[0]?.natIP;
      if (!ip) {
        throw rwError(
          "RW_ERR_CONNECTOR_UNREACHABLE",
          `instance ${target.where.instance} has no ${target.options.use_internal_ip ? "internal" : "external"} IP (set use_internal_ip to the other)`,
          { details: { reason: "unreachable" } },
        );
      }
      const login = await keys.loginFor(api, email, target.where.project, request.signal);
      const sshConnection: ResolvedConnection = {
        id: connection.id,
        name: connection.name,
        connectionType: "ssh",
        targetHost: ip,
        targetPort: target.options.ssh_port,
        targetService: null,
        environment: connection.environment,
        options: {
          ...(target.options.host_key_fingerprint
            ? { host_key_fingerprint: target.options.host_key_fingerprint }
            : {}),
          ...(target.options.known_hosts ? { known_hosts: target.options.known_hosts } : {}),
        },
        credential: {
          id: connection.credential?.id ?? 0,
          name: `${connection.credential?.name ?? "gcp"} (OS Login)`,
          credentialType: "ssh",
          environment: connection.environment,
          value: { username: login.username, private_key: login.privateKey },
          secrets: { private_key: login.privateKey },
        },
      };
      const handle = await ssh.open(sshConnection, { signal: request.signal });
      try {
        return await handle.exec(request);
      } finally {
        await handle.release();
      }
    }

    return {
      async open(connection, { signal, redact }): Promise<ConnectionHandle> {
        if (signal.aborted) throw abortError("GCP open", signal.reason);
        const target = targetOf(connection);
        const source = tokenSource(connection, config);
        // Obtaining a token proves the credential; it is redacted like a vault secret.
        const token = await source.token();
        redact?.(token);
        return releasableHandle("GCP", async (request) => {
          const api = new GcpApi(config, async () => {
            const token = await source.token();
            redact?.(token);
            request.redact?.(token);
            return token;
          });
          const language = request.language.toLowerCase();
          if (language === "gcp") {
            const step = parseGcpStep(request.command);
            if (request.readOnly && step.action !== "status") {
              throw rwError(
                "RW_ERR_CONNECTOR_REJECTED",
                `a read-only phase cannot ${step.action} an instance`,
                {
                  details: { reason: "read-only", action: step.action },
                },
              );
            }
            return runAction(
              api,
              { ...target.where, instance: step.instance ?? target.where.instance },
              step,
              config,
              request,
            );
          }
          if (language !== "sh") {
            throw rwError(
              "RW_ERR_CONNECTOR_REJECTED",
              `a GCP connection runs sh and gcp steps, not ${request.language}`,
              { details: { reason: "language", language: request.language } },
            );
          }
          return runShell(connection, target, api, source.email, request);
        });
      },

      async healthCheck(connection, { signal, redact }): Promise<HealthResult> {
        const start = performance.now();
        const latencyMs = () => Math.round((performance.now() - start) * 10) / 10;
        try {
          if (signal.aborted) throw abortError("GCP health check", signal.reason);
          const target = targetOf(connection);
          const source = tokenSource(connection, config);
          const api = new GcpApi(config, async () => {
            const token = await source.token();
            redact?.(token);
            return token;
          });
          const granted = new Set(await api.testPermissions(target.where, REQUIRED_PERMISSIONS, signal));
          const missing = REQUIRED_PERMISSIONS.filter((p) => !granted.has(p));
          const instance = await api.getInstance(target.where, signal);
          if (missing.length > 0) {
            return {
              ok: false,
              latencyMs: latencyMs(),
              reason: "permission",
              message: `the service account lacks ${missing.join(", ")} on ${target.where.instance} (grant roles/compute.osAdminLogin and a role with compute.instances.reset/stop/start)`,
            };
          }
          return {
            ok: true,
            latencyMs: latencyMs(),
            message: `${target.where.instance} is ${instance.status}`,
          };
        } catch (error) {
          const e = error as { message?: string; details?: { reason?: string } };
          logger.warn({ connection: connection.name, reason: e.details?.reason }, "gcp health check failed");
          return {
            ok: false,
            latencyMs: latencyMs(),
            reason: e.details?.reason ?? "unreachable",
            message: e.message ?? String(error),
          };
        }
      },

      describe(request, connection) {
        let where = "?";
        try {
          const { project, zone, instance } = targetOf(connection).where;
          where = `${project}/${zone}/${instance}`;
        } catch {
          where = `${connection.targetHost ?? "?"}`;
        }
        if (request.language.toLowerCase() === "gcp") {
          try {
            const step = parseGcpStep(request.command);
            return `gcp ${step.action} instance ${step.instance ?? where}`;
          } catch {
            return `gcp step on ${where} (invalid): ${oneLine(request.command)}`;
          }
        }
        return `ssh (OS Login) to ${where}: ${oneLine(request.command)}`;
      },

      close: async () => {
        keys.clear();
        await ssh.close?.();
      },
    };
  },
});

export default gcpConnector;
