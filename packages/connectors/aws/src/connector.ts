/**
 * The AWS connector: `sh` and `powershell` steps run on EC2 instances through SSM Run Command
 * (AWS-RunShellScript / AWS-RunPowerShellScript); `aws` steps (fenced ```` ```aws ```` blocks of
 * typed fields) run a command on named instances, reboot, stop or start them (waiting for the
 * state) or check their status. The health check proves the credential (STS GetCallerIdentity),
 * dry-runs the EC2 actions the steps need and checks the targets' SSM agents.
 */
import { releasableHandle } from "@runwarden/connector-kit";
import {
  type ConnectionHandle,
  defineConnector,
  type ExecRequest,
  type ExecResult,
  type HealthResult,
  type InfrastructureConnector,
  rwError,
} from "@runwarden/core";
import { type AwsConfig, type AwsConnection, awsConfigSchema, awsCredentialTypes } from "./config.js";
import { runInstanceRefresh } from "./internal/autoscaling.js";
import { type AwsClients, openClients } from "./internal/client.js";
import { runEc2Step } from "./internal/ec2.js";
import { abortError } from "./internal/errors.js";
import { checkAccess } from "./internal/health.js";
import { awsSetup } from "./internal/setup.js";
import { runCommand } from "./internal/ssm.js";
import { type AwsStep, describeStep, parseAwsStep } from "./internal/step.js";
import { connectionTargets, resolveTargets } from "./internal/targets.js";

/** `aws` actions a read-only phase (prechecks, postchecks) may run. `run-command` runs the author's script. */
const READ_ONLY_ACTIONS = new Set<AwsStep["action"]>(["describe-status", "run-command"]);

type Parsed =
  | { kind: "script"; platform: "linux" | "windows"; script: string }
  | { kind: "step"; step: AwsStep };

function parseRequest(request: Pick<ExecRequest, "command" | "language">): Parsed {
  const language = request.language.toLowerCase();
  if (language === "sh" || language === "bash" || language === "shell")
    return { kind: "script", platform: "linux", script: request.command };
  if (language === "powershell" || language === "pwsh")
    return { kind: "script", platform: "windows", script: request.command };
  if (language === "aws") return { kind: "step", step: parseAwsStep(request.command) };
  throw rwError(
    "RW_ERR_CONNECTOR_REJECTED",
    `an AWS connection runs sh, powershell and aws steps, not ${request.language}`,
    { details: { reason: "language", language: request.language } },
  );
}

/** The AWS connector declaration (default export of `@runwarden/connector-aws`). */
const awsConnector = defineConnector({
  kind: "infrastructure",
  name: "aws",
  version: "0.1.0",
  sdk: "^0.1.0",
  description:
    "Runs commands on EC2 instances through SSM Run Command, and reboots, stops, starts and checks instances (AWS SDK v3).",
  configSchema: awsConfigSchema,
  capabilities: ["exec", "timeout", "stream-output", "health-check", "describe"],
  connectionTypes: ["aws"],
  languages: ["sh", "powershell", "aws"],
  credentialTypes: awsCredentialTypes,
  vendorSetup: awsSetup,
  create(config: AwsConfig, ctx): InfrastructureConnector<NonNullable<AwsConnection["credential"]>> {
    const logger = ctx.logger.child({ component: "aws" });
    const settings = { maxAttempts: config.maxAttempts, now: ctx.now };

    async function run(clients: AwsClients, request: ExecRequest): Promise<ExecResult> {
      const parsed = parseRequest(request);
      if (parsed.kind === "step" && request.readOnly && !READ_ONLY_ACTIONS.has(parsed.step.action))
        throw rwError(
          "RW_ERR_CONNECTOR_REJECTED",
          `a read-only check may not run ${parsed.step.action}: use describe-status or run-command`,
          { details: { reason: "read-only", action: parsed.step.action } },
        );
      const step = parsed.kind === "step" ? parsed.step : undefined;
      if (step?.action === "instance-refresh") {
        logger.debug({ action: step.action }, "aws step");
        const result = await runInstanceRefresh(clients, step, {
          signal: request.signal,
          requestTimeoutMs: config.requestTimeoutMs,
          waitTimeoutMs: request.timeoutMs ?? step.timeout ?? config.waitTimeoutMs,
          pollIntervalMs: config.pollIntervalMs,
        });
        if (result.stdout) request.onOutput?.("stdout", result.stdout);
        if (result.stderr) request.onOutput?.("stderr", result.stderr);
        return result;
      }
      const instances = await resolveTargets(
        clients,
        step?.instances,
        AbortSignal.any([request.signal, AbortSignal.timeout(config.requestTimeoutMs)]),
      );
      logger.debug({ action: step?.action ?? "run-command", instances: instances.length }, "aws step");
      if (!step || step.action === "run-command") {
        const stepTimeout = step && "timeout" in step ? step.timeout : undefined;
        return runCommand(clients, {
          instances,
          commands: step ? step.commands : [parsed.kind === "script" ? parsed.script : ""],
          platform: step
            ? (step.platform ?? clients.options.platform)
            : (parsed as { platform: "linux" | "windows" }).platform,
          workingDirectory: (step?.working_directory ?? clients.options.working_directory) || undefined,
          timeoutMs: request.timeoutMs ?? stepTimeout ?? config.execTimeoutMs,
          pollIntervalMs: config.pollIntervalMs,
          requestTimeoutMs: config.requestTimeoutMs,
          signal: request.signal,
          onOutput: request.onOutput,
        });
      }
      const result = await runEc2Step(
        clients,
        step as Exclude<AwsStep, { action: "run-command" | "instance-refresh" }>,
        {
          instances,
          signal: request.signal,
          requestTimeoutMs: Math.min(config.requestTimeoutMs, request.timeoutMs ?? config.requestTimeoutMs),
          waitTimeoutMs:
            request.timeoutMs ?? ("timeout" in step && step.timeout ? step.timeout : config.waitTimeoutMs),
          pollIntervalMs: config.pollIntervalMs,
        },
      );
      if (request.onOutput) {
        if (result.stdout) request.onOutput("stdout", result.stdout);
        if (result.stderr) request.onOutput("stderr", result.stderr);
      }
      return result;
    }

    return {
      async open(connection, { signal, redact }): Promise<ConnectionHandle> {
        if (signal.aborted) throw abortError(signal.reason);
        const clients = openClients(connection, settings, redact);
        const handle = releasableHandle("AWS", async (request) => {
          if (request.signal.aborted) throw abortError(request.signal.reason);
          return run(clients, request);
        });
        return {
          exec: (request) => handle.exec(request),
          async release() {
            await handle.release();
            clients.destroy();
          },
        };
      },

      async healthCheck(connection, { signal, redact }): Promise<HealthResult> {
        const start = performance.now();
        const latencyMs = () => Math.round((performance.now() - start) * 10) / 10;
        try {
          if (signal.aborted) throw abortError(signal.reason);
          const clients = openClients(connection, settings, redact);
          let report: Awaited<ReturnType<typeof checkAccess>>;
          try {
            report = await checkAccess(clients, signal, config.requestTimeoutMs);
          } finally {
            clients.destroy();
          }
          logger.debug({ connection: connection.name, unchecked: report.unchecked }, "aws health check");
          if (report.denied.length > 0)
            return {
              ok: false,
              latencyMs: latencyMs(),
              reason: "permissions",
              message: `${report.arn} may not: ${report.denied.join("; ")}`,
            };
          return {
            ok: true,
            latencyMs: latencyMs(),
            ...(report.unchecked.length > 0
              ? { message: `${report.arn}; not checked: ${report.unchecked.join("; ")}` }
              : { message: report.arn }),
          };
        } catch (error) {
          const e = error as { message?: string; details?: { reason?: string } };
          const reason = e.details?.reason ?? "unreachable";
          logger.warn({ connection: connection.name, reason }, "aws health check failed");
          return { ok: false, latencyMs: latencyMs(), reason, message: e.message ?? String(error) };
        }
      },

      describe(request, connection) {
        let where: string;
        let targets = "the connection's instances";
        try {
          const clients = openClients(connection, settings, undefined);
          clients.destroy();
          targets = connectionTargets(clients);
          where = `${clients.options.region}, ${clients.authKind}`;
        } catch {
          where = `connection ${connection.name}`;
        }
        try {
          const parsed = parseRequest(request);
          if (parsed.kind === "script")
            return `run a ${parsed.platform === "windows" ? "PowerShell" : "shell"} script through SSM Run Command on ${targets} (${where})`;
          return `${describeStep(parsed.step, targets)} (${where})`;
        } catch {
          return `AWS step on ${where} (not a valid aws step)`;
        }
      },
    };
  },
});

export default awsConnector;
