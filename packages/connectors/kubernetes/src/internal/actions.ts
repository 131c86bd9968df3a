/**
 * The step actions, each a few client calls. Changes use the same requests kubectl makes:
 * rollout restart is a strategic-merge patch of `spec.template.metadata.annotations
 * ["kubectl.kubernetes.io/restartedAt"]`, scale a merge patch of the `scale` subresource,
 * cordon a strategic-merge patch of `spec.unschedulable`, drain cordons then evicts each pod
 * through the Eviction API (policy/v1) and waits for them to go.
 */
import { PatchStrategy, type V1Pod } from "@kubernetes/client-node";
import type { ExecResult } from "@runwarden/core";
import { type Cluster, callOptions } from "./client.js";
import { abortError, apiError } from "./errors.js";
import { execInPod } from "./exec.js";
import { type K8sStep, namespaceOf } from "./step.js";

export interface ActionContext {
  cluster: Cluster;
  signal: AbortSignal;
  /** The step's timeout (or the connector's default for its kind). */
  timeoutMs: number;
  requestTimeoutMs: number;
  pollIntervalMs: number;
  maxOutputBytes: number;
  maxLogLines: number;
  now(): Date;
  onOutput?(stream: "stdout" | "stderr", chunk: string): void;
}

const RESTARTED_AT = "kubectl.kubernetes.io/restartedAt";

/** A finished step's result, its text also streamed to onOutput. */
function done(ctx: ActionContext, exitCode: number, stdout: string, stderr = ""): ExecResult {
  if (stdout) ctx.onOutput?.("stdout", stdout);
  if (stderr) ctx.onOutput?.("stderr", stderr);
  return { exitCode, exitSignal: null, stdout, stderr };
}

/** Runs one client call with the step's signal and the request timeout. */
async function call<T>(
  ctx: ActionContext,
  what: string,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (ctx.signal.aborted) throw abortError(ctx.signal.reason);
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.requestTimeoutMs)]);
  try {
    return await run(signal);
  } catch (error) {
    if (ctx.signal.aborted) throw abortError(ctx.signal.reason);
    throw apiError(error, what, ctx.cluster.server);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal.reason));
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal.reason));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Deployment/StatefulSet/DaemonSet readers and patchers of AppsV1Api, by kind. */
function workload(cluster: Cluster, kind: "deployment" | "statefulset" | "daemonset") {
  const { apps } = cluster;
  switch (kind) {
    case "deployment":
      return {
        read: (name: string, namespace: string, s: AbortSignal) =>
          apps.readNamespacedDeployment({ name, namespace }, callOptions(s)),
        patch: (name: string, namespace: string, body: object, s: AbortSignal) =>
          apps.patchNamespacedDeployment(
            { name, namespace, body },
            callOptions(s, PatchStrategy.StrategicMergePatch),
          ),
      };
    case "statefulset":
      return {
        read: (name: string, namespace: string, s: AbortSignal) =>
          apps.readNamespacedStatefulSet({ name, namespace }, callOptions(s)),
        patch: (name: string, namespace: string, body: object, s: AbortSignal) =>
          apps.patchNamespacedStatefulSet(
            { name, namespace, body },
            callOptions(s, PatchStrategy.StrategicMergePatch),
          ),
      };
    case "daemonset":
      return {
        read: (name: string, namespace: string, s: AbortSignal) =>
          apps.readNamespacedDaemonSet({ name, namespace }, callOptions(s)),
        patch: (name: string, namespace: string, body: object, s: AbortSignal) =>
          apps.patchNamespacedDaemonSet(
            { name, namespace, body },
            callOptions(s, PatchStrategy.StrategicMergePatch),
          ),
      };
  }
}

interface WorkloadLike {
  metadata?: { generation?: number };
  spec?: { replicas?: number; updateStrategy?: { type?: string } };
  status?: Record<string, unknown> & { observedGeneration?: number };
}

/**
 * kubectl's rollout status logic (`kubectl/pkg/polymorphichelpers/rollout_status.go`): done when
 * the controller has observed the latest generation and every replica is updated and available.
 */
export function rolloutProgress(
  kind: "deployment" | "statefulset" | "daemonset",
  object: WorkloadLike,
): { done: boolean; message: string } {
  const generation = object.metadata?.generation ?? 0;
  const status = (object.status ?? {}) as Record<string, number | undefined> & {
    conditions?: { type?: string; reason?: string }[];
  };
  if ((status.observedGeneration ?? 0) < generation)
    return { done: false, message: "waiting for the rollout to be observed" };
  if (kind === "deployment") {
    const progressing = status.conditions?.find((c) => c.type === "Progressing");
    if (progressing?.reason === "ProgressDeadlineExceeded")
      return { done: false, message: "the rollout exceeded its progress deadline" };
    const want = object.spec?.replicas ?? 1;
    const updated = status.updatedReplicas ?? 0;
    const replicas = status.replicas ?? 0;
    const available = status.availableReplicas ?? 0;
    if (updated < want)
      return { done: false, message: `${updated} of ${want} updated replicas are available` };
    if (replicas > updated)
      return { done: false, message: `${replicas - updated} old replicas are pending termination` };
    if (available < updated)
      return { done: false, message: `${available} of ${updated} updated replicas are available` };
    return { done: true, message: "successfully rolled out" };
  }
  if (kind === "statefulset") {
    const want = object.spec?.replicas ?? 1;
    const ready = status.readyReplicas ?? 0;
    const updated = status.updatedReplicas ?? 0;
    if (ready < want) return { done: false, message: `${ready} of ${want} pods are ready` };
    if (updated < want) return { done: false, message: `${updated} of ${want} pods are updated` };
    return { done: true, message: "rolling update complete" };
  }
  const desired = status.desiredNumberScheduled ?? 0;
  const updated = status.updatedNumberScheduled ?? 0;
  const available = status.numberAvailable ?? 0;
  if (updated < desired)
    return { done: false, message: `${updated} of ${desired} updated pods are scheduled` };
  if (available < desired)
    return { done: false, message: `${available} of ${desired} updated pods are available` };
  return { done: true, message: "successfully rolled out" };
}

/** Runs one parsed step. */
export async function runStep(step: K8sStep, ctx: ActionContext): Promise<ExecResult> {
  const { cluster } = ctx;
  const ns = namespaceOf(step, cluster.namespace);
  switch (step.action) {
    case "exec":
      return execInPod(cluster, {
        namespace: ns,
        pod: step.pod,
        container: step.container,
        command: step.command,
        signal: ctx.signal,
        timeoutMs: ctx.timeoutMs,
        maxOutputBytes: ctx.maxOutputBytes,
        onOutput: ctx.onOutput,
      });

    case "rollout-restart": {
      const at = ctx
        .now()
        .toISOString()
        .replace(/\.\d+Z$/, "Z");
      const body = { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: at } } } } };
      const api = workload(cluster, step.kind);
      await call(ctx, `rollout restart ${step.kind} ${ns}/${step.name}`, (s) =>
        api.patch(step.name, ns, body, s),
      );
      return done(ctx, 0, `${step.kind}.apps/${step.name} restarted\n`);
    }

    case "scale": {
      const body = { spec: { replicas: step.replicas } };
      const what = `scale ${step.kind} ${ns}/${step.name}`;
      await call(ctx, what, (s) =>
        step.kind === "deployment"
          ? cluster.apps.patchNamespacedDeploymentScale(
              { name: step.name, namespace: ns, body },
              callOptions(s, PatchStrategy.MergePatch),
            )
          : cluster.apps.patchNamespacedStatefulSetScale(
              { name: step.name, namespace: ns, body },
              callOptions(s, PatchStrategy.MergePatch),
            ),
      );
      return done(ctx, 0, `${step.kind}.apps/${step.name} scaled to ${step.replicas}\n`);
    }

    case "delete-pod": {
      await call(ctx, `delete pod ${ns}/${step.pod}`, (s) =>
        cluster.core.deleteNamespacedPod(
          {
            name: step.pod,
            namespace: ns,
            ...(step.grace_period_seconds !== undefined
              ? { gracePeriodSeconds: step.grace_period_seconds }
              : {}),
          },
          callOptions(s),
        ),
      );
      return done(ctx, 0, `pod "${step.pod}" deleted\n`);
    }

    case "cordon":
    case "uncordon": {
      await setUnschedulable(ctx, step.node, step.action === "cordon");
      return done(ctx, 0, `node/${step.node} ${step.action}ed\n`);
    }

    case "drain":
      return drain(step, ctx);

    case "logs": {
      const tail = Math.min(step.tail, ctx.maxLogLines);
      const text = await call(ctx, `read logs of pod ${ns}/${step.pod}`, (s) =>
        cluster.core.readNamespacedPodLog(
          {
            name: step.pod,
            namespace: ns,
            tailLines: tail,
            ...(step.container ? { container: step.container } : {}),
            ...(step.previous ? { previous: true } : {}),
          },
          callOptions(s),
        ),
      );
      const capped = Buffer.byteLength(text) > ctx.maxOutputBytes;
      return done(
        ctx,
        0,
        capped ? Buffer.from(text).subarray(0, ctx.maxOutputBytes).toString("utf8") : text,
        capped ? `[runwarden: logs cut at ${ctx.maxOutputBytes} bytes]\n` : "",
      );
    }

    case "status":
      return objectStatus(step, ns, ctx);

    case "rollout-status": {
      const api = workload(cluster, step.kind);
      const deadline = Date.now() + ctx.timeoutMs;
      // Each new progress line is streamed and kept: the chunks add up to stdout.
      let stdout = "";
      let last = "";
      for (;;) {
        const object = (await call(ctx, `read ${step.kind} ${ns}/${step.name}`, (s) =>
          api.read(step.name, ns, s),
        )) as WorkloadLike;
        const progress = rolloutProgress(step.kind, object);
        if (progress.message !== last) {
          const line = `${step.kind} "${step.name}": ${progress.message}\n`;
          stdout += line;
          ctx.onOutput?.("stdout", line);
          last = progress.message;
        }
        if (progress.done) return { exitCode: 0, exitSignal: null, stdout, stderr: "" };
        if (Date.now() + ctx.pollIntervalMs > deadline) {
          const stderr = `rollout of ${step.kind} "${step.name}" not complete after ${ctx.timeoutMs} ms: ${progress.message}\n`;
          ctx.onOutput?.("stderr", stderr);
          return { exitCode: 1, exitSignal: null, stdout, stderr, timedOut: true };
        }
        await sleep(ctx.pollIntervalMs, ctx.signal);
      }
    }
  }
}

async function setUnschedulable(ctx: ActionContext, node: string, unschedulable: boolean): Promise<void> {
  await call(ctx, `${unschedulable ? "cordon" : "uncordon"} node ${node}`, (s) =>
    ctx.cluster.core.patchNode(
      { name: node, body: { spec: { unschedulable: unschedulable ? true : null } } },
      callOptions(s, PatchStrategy.StrategicMergePatch),
    ),
  );
}

function isDaemonSetPod(pod: V1Pod): boolean {
  return (pod.metadata?.ownerReferences ?? []).some((o) => o.kind === "DaemonSet" && o.controller);
}

function isMirrorPod(pod: V1Pod): boolean {
  return Object.hasOwn(pod.metadata?.annotations ?? {}, "kubernetes.io/config.mirror");
}

function isFinished(pod: V1Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/** kubectl drain: cordon, evict every pod that may go, wait until they are gone. */
async function drain(step: Extract<K8sStep, { action: "drain" }>, ctx: ActionContext): Promise<ExecResult> {
  const { cluster } = ctx;
  let stdout = "";
  const say = (line: string) => {
    stdout += `${line}\n`;
    ctx.onOutput?.("stdout", `${line}\n`);
  };
  await setUnschedulable(ctx, step.node, true);
  say(`node/${step.node} cordoned`);
  const list = await call(ctx, `list pods on node ${step.node}`, (s) =>
    cluster.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${step.node}` }, callOptions(s)),
  );
  const evict: V1Pod[] = [];
  const blocked: string[] = [];
  for (const pod of list.items) {
    const id = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    if (isMirrorPod(pod)) continue;
    if (isDaemonSetPod(pod)) {
      if (step.ignore_daemonsets) continue;
      blocked.push(`${id} is managed by a DaemonSet (set ignore_daemonsets: true)`);
      continue;
    }
    if (!isFinished(pod) && !step.delete_emptydir_data && (pod.spec?.volumes ?? []).some((v) => v.emptyDir))
      blocked.push(`${id} uses emptyDir data (set delete_emptydir_data: true to evict it anyway)`);
    else evict.push(pod);
  }
  if (blocked.length > 0) {
    const stderr = `cannot drain node ${step.node}:\n${blocked.map((b) => `  ${b}`).join("\n")}\n`;
    ctx.onOutput?.("stderr", stderr);
    return { exitCode: 1, exitSignal: null, stdout, stderr };
  }
  const deadline = Date.now() + ctx.timeoutMs;
  const pending = new Map<string, V1Pod>();
  for (const pod of evict) {
    const name = pod.metadata!.name!;
    const namespace = pod.metadata!.namespace!;
    for (;;) {
      try {
        await call(ctx, `evict pod ${namespace}/${name}`, (s) =>
          cluster.core.createNamespacedPodEviction(
            {
              name,
              namespace,
              body: {
                apiVersion: "policy/v1",
                kind: "Eviction",
                metadata: { name, namespace },
                ...(step.grace_period_seconds !== undefined
                  ? { deleteOptions: { gracePeriodSeconds: step.grace_period_seconds } }
                  : {}),
              },
            },
            callOptions(s),
          ),
        );
        say(`evicting pod ${namespace}/${name}`);
        pending.set(`${namespace}/${name}`, pod);
        break;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "RW_ERR_CONNECTOR_NOT_FOUND") break;
        // 429: a PodDisruptionBudget forbids it for now; retry until the deadline, as kubectl does.
        if (code !== "RW_ERR_CONNECTOR_RATE_LIMITED" || Date.now() + ctx.pollIntervalMs > deadline)
          throw error;
        await sleep(ctx.pollIntervalMs, ctx.signal);
      }
    }
  }
  while (pending.size > 0) {
    for (const [id, pod] of pending) {
      const [namespace, name] = id.split("/") as [string, string];
      try {
        const now = await call(ctx, `read pod ${id}`, (s) =>
          cluster.core.readNamespacedPod({ name, namespace }, callOptions(s)),
        );
        if (now.metadata?.uid !== pod.metadata?.uid) pending.delete(id);
      } catch (error) {
        if ((error as { code?: string }).code !== "RW_ERR_CONNECTOR_NOT_FOUND") throw error;
        pending.delete(id);
        say(`pod/${name} evicted`);
      }
    }
    if (pending.size === 0) break;
    if (Date.now() + ctx.pollIntervalMs > deadline) {
      const stderr = `drain of node ${step.node} timed out after ${ctx.timeoutMs} ms waiting for ${[...pending.keys()].join(", ")}\n`;
      ctx.onOutput?.("stderr", stderr);
      return { exitCode: 1, exitSignal: null, stdout, stderr, timedOut: true };
    }
    await sleep(ctx.pollIntervalMs, ctx.signal);
  }
  say(`node/${step.node} drained`);
  return { exitCode: 0, exitSignal: null, stdout, stderr: "" };
}

/** Reads an object's status: prints a JSON summary; exit 0 when it is ready, 1 when not. */
async function objectStatus(
  step: Extract<K8sStep, { action: "status" }>,
  ns: string,
  ctx: ActionContext,
): Promise<ExecResult> {
  const { cluster } = ctx;
  let ready: boolean;
  let summary: Record<string, unknown>;
  if (step.kind === "pod") {
    const pod = await call(ctx, `read pod ${ns}/${step.name}`, (s) =>
      cluster.core.readNamespacedPod({ name: step.name, namespace: ns }, callOptions(s)),
    );
    ready = (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
    summary = {
      phase: pod.status?.phase,
      ready,
      restarts: (pod.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
      node: pod.spec?.nodeName,
    };
  } else if (step.kind === "node") {
    const node = await call(ctx, `read node ${step.name}`, (s) =>
      cluster.core.readNode({ name: step.name }, callOptions(s)),
    );
    ready = (node.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
    summary = { ready, unschedulable: node.spec?.unschedulable === true };
  } else {
    const object = (await call(ctx, `read ${step.kind} ${ns}/${step.name}`, (s) =>
      workload(cluster, step.kind as "deployment").read(step.name, ns, s),
    )) as WorkloadLike;
    const progress = rolloutProgress(step.kind, object);
    ready = progress.done;
    summary = { ready, rollout: progress.message, replicas: object.spec?.replicas, status: object.status };
  }
  const text = `${JSON.stringify({ kind: step.kind, name: step.name, ...summary })}\n`;
  return done(ctx, ready ? 0 : 1, text);
}
