/**
 * The Azure connector: `sh` and `powershell` steps run on a VM with Run Command
 * (RunShellScript / RunPowerShellScript) through @azure/arm-compute, polled to the end by the
 * SDK; `azure` steps restart, deallocate or start a VM or read its instance view.
 */
import { releasableHandle } from "@runwarden/connector-kit";
import {
  type ConnectionHandle,
  defineConnector,
  type HealthResult,
  type InfrastructureConnector,
  rwError,
} from "@runwarden/core";
import { type AzureConfig, type AzureConnection, azureConfigSchema, azureCredentialTypes } from "./config.js";
import { armError, openAzure, probeToken, targetOf } from "./internal/client.js";
import { missingActions } from "./internal/permissions.js";
import { runAction, runScript } from "./internal/run.js";
import { azureSetup } from "./internal/setup.js";
import { parseAzureStep } from "./internal/step.js";

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

/** The Azure connector declaration (default export of `@runwarden/connector-azure`). */
const azureConnector = defineConnector({
  kind: "infrastructure",
  name: "azure",
  version: "0.1.0",
  sdk: "^0.1.0",
  description:
    "Azure VMs: sh/powershell steps with Run Command, azure steps to restart, deallocate, start or read the instance view.",
  configSchema: azureConfigSchema,
  capabilities: ["run-command", "stream-output", "timeout", "health-check", "describe"],
  connectionTypes: ["azure"],
  languages: ["sh", "powershell", "azure"],
  credentialTypes: azureCredentialTypes,
  vendorSetup: azureSetup,
  create(config: AzureConfig, ctx): InfrastructureConnector<NonNullable<AzureConnection["credential"]>> {
    const logger = ctx.logger.child({ component: "azure" });
    return {
      async open(connection, { signal, redact }): Promise<ConnectionHandle> {
        if (signal.aborted) throw abortError("Azure open", signal.reason);
        let onToken = (token: string) => redact?.(token);
        const azure = openAzure(connection, config, (token) => onToken(token));
        await probeToken(azure, signal);
        return releasableHandle("Azure", async (request) => {
          onToken = (token) => {
            redact?.(token);
            request.redact?.(token);
          };
          const language = request.language.toLowerCase();
          if (language === "azure") {
            const step = parseAzureStep(request.command);
            if (request.readOnly && step.action !== "instance-view") {
              throw rwError("RW_ERR_CONNECTOR_REJECTED", `a read-only phase cannot ${step.action} a VM`, {
                details: { reason: "read-only", action: step.action },
              });
            }
            return runAction(azure, step, config, request);
          }
          if (language === "sh") return runScript(azure, request, "RunShellScript", config);
          if (language === "powershell") return runScript(azure, request, "RunPowerShellScript", config);
          throw rwError(
            "RW_ERR_CONNECTOR_REJECTED",
            `an Azure connection runs sh, powershell and azure steps, not ${request.language}`,
            {
              details: { reason: "language", language: request.language },
            },
          );
        });
      },

      async healthCheck(connection, { signal, redact }): Promise<HealthResult> {
        const start = performance.now();
        const latencyMs = () => Math.round((performance.now() - start) * 10) / 10;
        try {
          if (signal.aborted) throw abortError("Azure health check", signal.reason);
          const azure = openAzure(connection, config, (token) => redact?.(token));
          const { resourceGroup, vm } = azure.target;
          let view: Awaited<ReturnType<typeof azure.compute.virtualMachines.instanceView>>;
          try {
            view = await azure.compute.virtualMachines.instanceView(resourceGroup, vm, {
              abortSignal: signal,
            });
          } catch (error) {
            throw armError(error, `instance view of ${vm}`);
          }
          const power =
            (view.statuses ?? []).find((s) => s.code?.startsWith("PowerState/"))?.code ??
            "PowerState/unknown";
          const missing = await missingActions(azure, config, signal);
          if (missing.length > 0) {
            return {
              ok: false,
              latencyMs: latencyMs(),
              reason: "permission",
              message: `the principal lacks ${missing.join(", ")} on ${vm} (assign the role in the connector README)`,
            };
          }
          return { ok: true, latencyMs: latencyMs(), message: `${vm}: ${power}` };
        } catch (error) {
          const e = error as { message?: string; details?: { reason?: string } };
          logger.warn(
            { connection: connection.name, reason: e.details?.reason },
            "azure health check failed",
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
        let where = connection.targetHost ?? "?";
        try {
          const t = targetOf(connection);
          where = `${t.resourceGroup}/${t.vm}`;
        } catch {
          // keep the target host
        }
        const language = request.language.toLowerCase();
        if (language === "azure") {
          try {
            const step = parseAzureStep(request.command);
            return `azure ${step.action} VM ${step.vm ?? where}`;
          } catch {
            return `azure step on ${where} (invalid): ${oneLine(request.command)}`;
          }
        }
        const commandId = language === "powershell" ? "RunPowerShellScript" : "RunShellScript";
        return `Run Command (${commandId}) on ${where}: ${oneLine(request.command)}`;
      },
    };
  },
});

export default azureConnector;
