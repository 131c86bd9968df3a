/**
 * The Kubernetes connector: `k8s` steps (fenced ```` ```k8s ```` blocks of typed fields) run
 * through `@kubernetes/client-node` — exec in a container over the WebSocket exec protocol,
 * rollout restart, scale, delete a pod, cordon/uncordon/drain a node, read logs, read an
 * object's status and wait for a rollout. The health check reaches `/version` and asks
 * (SelfSubjectAccessReview) whether the credential may do what the connection's steps need.
 */
import { releasableHandle } from "@runwarden/connector-kit";
import {
  type ConnectionHandle,
  defineConnector,
  type HealthResult,
  type InfrastructureConnector,
  rwError,
} from "@runwarden/core";
import {
  type KubernetesConfig,
  type KubernetesConnection,
  kubernetesConfigSchema,
  kubernetesCredentialTypes,
} from "./config.js";
import { runStep } from "./internal/actions.js";
import { type Cluster, openCluster } from "./internal/client.js";
import { abortError } from "./internal/errors.js";
import { checkAccess } from "./internal/health.js";
import { kubernetesSetup } from "./internal/setup.js";
import { describeStep, type K8sStep, parseK8sStep } from "./internal/step.js";

/** Actions a read-only phase (prechecks, postchecks) may run. `exec` runs the author's command. */
const READ_ONLY_ACTIONS = new Set<K8sStep["action"]>(["logs", "status", "rollout-status", "exec"]);

function parseRequest(request: { command: string; language: string }): K8sStep {
  if (request.language.toLowerCase() !== "k8s")
    throw rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      `a Kubernetes connection runs k8s steps, not ${request.language}: write a \`\`\`k8s fence`,
      { details: { reason: "language", language: request.language } },
    );
  return parseK8sStep(request.command);
}

/** The Kubernetes connector declaration (default export of `@runwarden/connector-kubernetes`). */
const kubernetesConnector = defineConnector({
  kind: "infrastructure",
  name: "kubernetes",
  version: "0.1.0",
  sdk: "^0.1.0",
  description:
    "Runs k8s steps through the Kubernetes API: exec in a pod, rollout restart, scale, delete pod, cordon/drain, logs, status.",
  configSchema: kubernetesConfigSchema,
  capabilities: ["exec", "timeout", "stream-output", "health-check", "describe"],
  connectionTypes: ["kubernetes"],
  languages: ["k8s"],
  credentialTypes: kubernetesCredentialTypes,
  vendorSetup: kubernetesSetup,
  create(
    config: KubernetesConfig,
    ctx,
  ): InfrastructureConnector<NonNullable<KubernetesConnection["credential"]>> {
    const logger = ctx.logger.child({ component: "kubernetes" });

    function redactDerived(cluster: Cluster, redact: ((value: string) => void) | undefined): void {
      if (!redact) return;
      const user = cluster.kc.getCurrentUser();
      if (user?.token) redact(`Bearer ${user.token}`);
      if (user?.keyData) redact(user.keyData);
    }

    return {
      async open(connection, { signal, redact }): Promise<ConnectionHandle> {
        if (signal.aborted) throw abortError(signal.reason);
        const cluster = openCluster(connection);
        redactDerived(cluster, redact);
        return releasableHandle("Kubernetes", async (request) => {
          if (request.signal.aborted) throw abortError(request.signal.reason);
          const step = parseRequest(request);
          if (request.readOnly && !READ_ONLY_ACTIONS.has(step.action))
            throw rwError(
              "RW_ERR_CONNECTOR_REJECTED",
              `a read-only check may not run ${step.action}: use logs, status, rollout-status or exec`,
              { details: { reason: "read-only", action: step.action } },
            );
          const waits = step.action === "rollout-status" || step.action === "drain";
          const stepTimeout = "timeout" in step ? step.timeout : undefined;
          const timeoutMs =
            request.timeoutMs ??
            stepTimeout ??
            (step.action === "exec"
              ? config.execTimeoutMs
              : waits
                ? config.waitTimeoutMs
                : config.requestTimeoutMs);
          logger.debug({ connection: connection.name, action: step.action }, "kubernetes step");
          const run = runStep(step, {
            cluster,
            signal: request.signal,
            timeoutMs,
            requestTimeoutMs: Math.min(config.requestTimeoutMs, timeoutMs),
            pollIntervalMs: config.pollIntervalMs,
            maxOutputBytes: config.maxOutputBytes,
            maxLogLines: config.maxLogLines,
            now: ctx.now,
            onOutput: request.onOutput,
          });
          if (step.action === "exec" || waits) return run;
          // A single API call: a step timeout ends it with timedOut, like the other kinds.
          try {
            return await run;
          } catch (error) {
            if (
              (error as { code?: string }).code === "RW_ERR_CONNECTOR_TIMEOUT" &&
              !request.signal.aborted &&
              (error as { details?: { reason?: string } }).details?.reason === "timeout"
            )
              return {
                exitCode: null,
                exitSignal: null,
                stdout: "",
                stderr: `${step.action} timed out after ${timeoutMs} ms\n`,
                timedOut: true,
              };
            throw error;
          }
        });
      },

      async healthCheck(connection, { signal, redact }): Promise<HealthResult> {
        const start = performance.now();
        const latencyMs = () => Math.round((performance.now() - start) * 10) / 10;
        try {
          if (signal.aborted) throw abortError(signal.reason);
          const cluster = openCluster(connection);
          redactDerived(cluster, redact);
          const denied = await checkAccess(cluster, connection, signal, config.requestTimeoutMs);
          if (denied.length > 0)
            return {
              ok: false,
              latencyMs: latencyMs(),
              reason: "permissions",
              message: `the credential may not: ${denied.join("; ")}`,
            };
          return { ok: true, latencyMs: latencyMs() };
        } catch (error) {
          const e = error as { message?: string; details?: { reason?: string } };
          const reason = e.details?.reason ?? "unreachable";
          logger.warn({ connection: connection.name, reason }, "kubernetes health check failed");
          return { ok: false, latencyMs: latencyMs(), reason, message: e.message ?? String(error) };
        }
      },

      describe(request, connection) {
        let where: string;
        let namespace = "default";
        try {
          const cluster = openCluster(connection);
          namespace = cluster.namespace;
          where = `${new URL(cluster.server).host}, ${cluster.authKind}`;
        } catch {
          where = `connection ${connection.name}`;
        }
        try {
          return `${describeStep(parseRequest(request), namespace)} (${where})`;
        } catch {
          return `Kubernetes step on ${where} (not a valid k8s step)`;
        }
      },
    };
  },
});

export default kubernetesConnector;
