import { Writable } from "node:stream";
import { Exec, KubeConfig } from "@kubernetes/client-node";
import kubernetesConnector from "@runwarden/connector-kubernetes";
import type { ConnectorContext, InfrastructureConnector, Logger, ResolvedConnection } from "@runwarden/core";
import { startFakeApiServer } from "../../../packages/connectors/kubernetes/test/fake-api-server.js";
import { defineRows, latencyRow, median, percentile } from "../harness.js";

/** A logger that drops everything. */
const silent = new Proxy(
  {},
  { get: (_, key) => (key === "child" ? () => silent : () => {}) },
) as unknown as Logger;

const sink = () =>
  new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });

/** The raw client call: `Exec.exec` with a status callback, resolved when the socket closes. */
function rawExec(exec: Exec): Promise<void> {
  return new Promise((resolve, reject) => {
    exec
      .exec("shop", "checkout-7d9f-abcde", "", ["true"], sink(), sink(), null, false, () => {})
      .then((ws) => ws.addEventListener("close", () => resolve()))
      .catch(reject);
  });
}

/**
 * One exec step (`true`) through the Kubernetes connector against the fake API server in the
 * connector's tests (loopback, WebSocket exec, the command really spawned), median ms per step,
 * vs the same exec made directly with @kubernetes/client-node (goal <= 1.2×: the connector adds
 * step parsing, validation and result shaping only). Alternated call by call.
 */
export default defineRows("Kubernetes", async ({ quick }) => {
  const fake = await startFakeApiServer();
  const n = quick ? 100 : 300;
  const connection: ResolvedConnection = {
    id: 1,
    name: "bench-k8s",
    connectionType: "kubernetes",
    targetHost: "127.0.0.1",
    targetPort: fake.port,
    targetService: null,
    environment: "bench",
    options: { scheme: "http", namespace: "shop" },
    credential: {
      id: 1,
      name: "bench",
      credentialType: "k8s_token",
      environment: "bench",
      value: { token: fake.token },
      secrets: { token: fake.token },
    },
  };
  const ctx: ConnectorContext = {
    logger: silent,
    signal: new AbortController().signal,
    now: () => new Date(),
  };
  const instance = (await kubernetesConnector.create(
    kubernetesConnector.configSchema.parse({}),
    ctx,
  )) as InfrastructureConnector;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: fake.url, skipTLSVerify: true }],
    users: [{ name: "u", token: fake.token }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  const exec = new Exec(kc);
  const command = 'action: exec\npod: checkout-7d9f-abcde\ncommand: ["true"]\n';
  try {
    const step = async () => {
      const handle = await instance.open(connection, { signal: ctx.signal });
      try {
        const result = await handle.exec({ command, language: "k8s", readOnly: false, signal: ctx.signal });
        if (result.exitCode !== 0) throw new Error(`exec exited ${result.exitCode}`);
      } finally {
        await handle.release();
      }
    };
    const raw = () => rawExec(exec);
    for (let i = 0; i < 10; i++) {
      await step();
      await raw();
    }
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < n; i++) {
      for (const fn of i % 2 === 0 ? [step, raw] : [raw, step]) {
        const start = performance.now();
        await fn();
        (fn === step ? ours : theirs).push(performance.now() - start);
      }
    }
    return [
      latencyRow(
        "Kubernetes exec step vs raw @kubernetes/client-node Exec",
        "ms/step",
        median(ours),
        median(theirs),
        1.2,
        `fake API server on loopback, command spawned; connector p99 ${percentile(ours, 99).toFixed(2)} ms, n=${ours.length}`,
      ),
    ];
  } finally {
    await instance.close?.();
    await fake.close();
  }
});
