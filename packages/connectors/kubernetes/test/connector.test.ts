import { createTestContext, testConnector } from "@runwarden/connector-testkit";
import type { ExecRequest, InfrastructureConnector, ResolvedConnection } from "@runwarden/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import kubernetesConnector from "../src/index.js";
import { type FakeApiServer, startFakeApiServer } from "./fake-api-server.js";

const fake: FakeApiServer = await startFakeApiServer();
afterAll(() => fake.close());

function connection(
  parts: { token?: string; options?: Record<string, unknown>; port?: number } = {},
): ResolvedConnection {
  const token = parts.token ?? fake.token;
  return {
    id: 1,
    name: "prod-cluster",
    connectionType: "kubernetes",
    targetHost: "127.0.0.1",
    targetPort: parts.port ?? fake.port,
    targetService: null,
    environment: "test",
    options: { scheme: "http", namespace: "shop", ...parts.options },
    credential: {
      id: 1,
      name: "k8s-token",
      credentialType: "k8s_token",
      environment: "test",
      value: { token },
      secrets: { token },
    },
  };
}

const execStep = (command: string) => `action: exec\npod: checkout-7d9f-abcde\ncommand: ${command}\n`;

testConnector(kubernetesConnector, {
  config: { pollIntervalMs: 20 },
  invalidConfigs: [{ requestTimeoutMs: 0 }, { unknownOption: true }],
  connection: connection(),
  request: { command: execStep('[echo, "hello from the pod"]'), language: "k8s" },
  slowRequest: { command: execStep("[sleep, '5']"), language: "k8s" },
  rejectedConnection: connection({ token: "wrong-token-0123456789" }),
});

function req(command: string, extra: Partial<ExecRequest> = {}): ExecRequest {
  return { command, language: "k8s", readOnly: false, signal: new AbortController().signal, ...extra };
}

describe("kubernetesConnector", () => {
  let ticks = 0;
  let instance: InfrastructureConnector;
  beforeAll(async () => {
    instance = (await kubernetesConnector.create(
      kubernetesConnector.configSchema.parse({ pollIntervalMs: 10 }),
      // A clock that moves a second per read, so each restart writes a new restartedAt.
      {
        ...createTestContext().ctx,
        now: () => new Date(Date.parse("2026-12-07T09:17:03.123Z") + 1000 * ticks++),
      },
    )) as InfrastructureConnector;
  });
  beforeEach(() => {
    fake.requests.length = 0;
  });

  async function run(command: string, extra: Partial<ExecRequest> = {}, on = connection()) {
    const handle = await instance.open(on, { signal: new AbortController().signal });
    try {
      return await handle.exec(req(command, extra));
    } finally {
      await handle.release();
    }
  }

  it("runs exec over the WebSocket exec protocol with real stdout, stderr and exit status", async () => {
    const chunks: string[] = [];
    const result = await run(execStep("[sh, -c, 'echo out; echo err >&2; exit 3']"), {
      onOutput: (_s, c) => chunks.push(c),
    });
    expect(result).toMatchObject({ exitCode: 3, stdout: "out\n", stderr: "err\n" });
    expect(chunks.join("")).toBe("out\nerr\n");
    expect(fake.execProtocols.at(-1)).toBe("v5.channel.k8s.io");
    const upgrade = fake.requests.find((r) => r.method === "UPGRADE")!;
    expect(upgrade.query.getAll("command")).toEqual(["sh", "-c", "echo out; echo err >&2; exit 3"]);
  });

  it("runs exec on an API server that speaks only v4.channel.k8s.io", async () => {
    const old = await startFakeApiServer({ execProtocols: ["v4.channel.k8s.io"] });
    try {
      const handle = await instance.open(connection({ port: old.port }), {
        signal: AbortSignal.timeout(5000),
      });
      const result = await handle.exec(req(execStep("[sh, -c, 'echo v4; exit 2']")));
      await handle.release();
      expect(result).toMatchObject({ exitCode: 2, stdout: "v4\n" });
      expect(old.execProtocols).toEqual(["v4.channel.k8s.io"]);
    } finally {
      await old.close();
    }
  });

  it("reports exit code 0 for a Success status", async () => {
    expect(await run(execStep("[true]"))).toMatchObject({ exitCode: 0, stdout: "", stderr: "" });
  });

  it("patches the restartedAt annotation with a strategic merge patch, as kubectl rollout restart does", async () => {
    const result = await run("action: rollout-restart\nkind: deployment\nname: checkout\n");
    expect(result.exitCode).toBe(0);
    const patch = fake.requests.find((r) => r.method === "PATCH")!;
    expect(patch.path).toBe("/apis/apps/v1/namespaces/shop/deployments/checkout");
    expect(patch.contentType).toBe("application/strategic-merge-patch+json");
    expect(patch.body).toEqual({
      spec: {
        template: {
          metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "2026-12-07T09:17:03Z" } },
        },
      },
    });
  });

  it("restarts statefulsets and daemonsets the same way", async () => {
    for (const [kind, name, plural] of [
      ["statefulset", "cache", "statefulsets"],
      ["daemonset", "agent", "daemonsets"],
    ] as const) {
      expect((await run(`action: rollout-restart\nkind: ${kind}\nname: ${name}\n`)).exitCode).toBe(0);
      expect(fake.requests.at(-1)!.path).toBe(`/apis/apps/v1/namespaces/shop/${plural}/${name}`);
    }
  });

  it("scales through the scale subresource with a merge patch", async () => {
    const result = await run("action: scale\nkind: deployment\nname: checkout\nreplicas: 5\n");
    expect(result.exitCode).toBe(0);
    const patch = fake.requests.at(-1)!;
    expect(patch).toMatchObject({
      method: "PATCH",
      path: "/apis/apps/v1/namespaces/shop/deployments/checkout/scale",
      contentType: "application/merge-patch+json",
      body: { spec: { replicas: 5 } },
    });
    expect(fake.objects.get("deployments/shop/checkout")!.spec.replicas).toBe(5);
  });

  it("accepts a replica count rendered as a quoted string (a template value)", async () => {
    expect((await run('action: scale\nkind: statefulset\nname: cache\nreplicas: "2"\n')).exitCode).toBe(0);
    expect(fake.objects.get("statefulsets/shop/cache")!.spec.replicas).toBe(2);
  });

  it("reads the last N log lines", async () => {
    const result = await run("action: logs\npod: checkout-7d9f-abcde\ntail: 3\n");
    expect(result.stdout).toBe("checkout log line 48\ncheckout log line 49\ncheckout log line 50\n");
    expect(fake.requests.at(-1)!.query.get("tailLines")).toBe("3");
  });

  it("cordons and uncordons a node", async () => {
    await run("action: cordon\nnode: node-2\n");
    expect(fake.objects.get("nodes//node-2")!.spec.unschedulable).toBe(true);
    expect(fake.requests.at(-1)!.contentType).toBe("application/strategic-merge-patch+json");
    await run("action: uncordon\nnode: node-2\n");
    expect(fake.objects.get("nodes//node-2")!.spec.unschedulable).toBeUndefined();
  });

  it("retries an eviction a PodDisruptionBudget refuses (429) until it is allowed", async () => {
    fake.evictionRefusals = 2;
    fake.objects.set("pods/shop/web-pdb", {
      ...structuredClone(fake.objects.get("pods/shop/checkout-7d9f-fghij")!),
      metadata: { name: "web-pdb", namespace: "shop", uid: "uid-web-pdb" },
      spec: { nodeName: "node-3", containers: [{ name: "web", image: "nginx:1.27" }] },
    });
    fake.objects.set("nodes//node-3", {
      ...structuredClone(fake.objects.get("nodes//node-2")!),
      metadata: { name: "node-3" },
    });
    const result = await run("action: drain\nnode: node-3\ntimeout: 5s\n");
    expect(result.exitCode).toBe(0);
    expect(fake.requests.filter((r) => r.path.endsWith("/web-pdb/eviction"))).toHaveLength(3);
    expect(fake.objects.has("pods/shop/web-pdb")).toBe(false);
  });

  it("refuses to drain a node whose pod keeps emptyDir data unless delete_emptydir_data is set", async () => {
    fake.objects.set("pods/shop/scratch", {
      ...structuredClone(fake.objects.get("pods/shop/checkout-7d9f-fghij")!),
      metadata: { name: "scratch", namespace: "shop", uid: "uid-scratch" },
      spec: {
        nodeName: "node-4",
        containers: [{ name: "s", image: "busybox" }],
        volumes: [{ name: "tmp", emptyDir: {} }],
      },
    });
    fake.objects.set("nodes//node-4", {
      ...structuredClone(fake.objects.get("nodes//node-2")!),
      metadata: { name: "node-4" },
    });
    const refused = await run("action: drain\nnode: node-4\n");
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("shop/scratch uses emptyDir data");
    expect(fake.requests.some((r) => r.path.endsWith("/eviction"))).toBe(false);
    expect((await run("action: drain\nnode: node-4\ndelete_emptydir_data: true\n")).exitCode).toBe(0);
  });

  it("drains a node: cordons it, evicts its pods through the Eviction API, leaves DaemonSet pods", async () => {
    const result = await run("action: drain\nnode: node-1\ntimeout: 5s\n");
    expect(result.exitCode).toBe(0);
    expect(fake.objects.get("nodes//node-1")!.spec.unschedulable).toBe(true);
    const evictions = fake.requests.filter((r) => r.path.endsWith("/eviction"));
    expect(evictions.map((r) => r.path)).toEqual([
      "/api/v1/namespaces/shop/pods/checkout-7d9f-abcde/eviction",
    ]);
    expect(evictions[0]!.body).toMatchObject({
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "checkout-7d9f-abcde" },
    });
    expect(fake.objects.has("pods/shop/agent-x1")).toBe(true);
    expect(result.stdout).toContain("node/node-1 drained");
  });

  it("deletes a pod", async () => {
    expect((await run("action: delete-pod\npod: checkout-7d9f-fghij\n")).exitCode).toBe(0);
    expect(fake.objects.has("pods/shop/checkout-7d9f-fghij")).toBe(false);
    expect(fake.requests.at(-1)!.method).toBe("DELETE");
  });

  it("waits for a rollout to complete, polling the workload", async () => {
    fake.rolloutReads = 2;
    await run("action: rollout-restart\nkind: deployment\nname: checkout\n");
    let streamed = "";
    const result = await run("action: rollout-status\nkind: deployment\nname: checkout\ntimeout: 10s\n", {
      onOutput: (_s, c) => {
        streamed += c;
      },
    });
    expect(result).toMatchObject({ exitCode: 0 });
    expect(result.stdout).toBe(
      'deployment "checkout": waiting for the rollout to be observed\ndeployment "checkout": successfully rolled out\n',
    );
    expect(streamed).toBe(result.stdout);
    expect(fake.requests.filter((r) => r.method === "GET").length).toBeGreaterThanOrEqual(3);
  });

  it("gives up waiting for a rollout at the step's timeout, timed out", async () => {
    fake.rolloutReads = 1_000;
    await run("action: rollout-restart\nkind: deployment\nname: checkout\n");
    const result = await run("action: rollout-status\nkind: deployment\nname: checkout\ntimeout: 100ms\n");
    expect(result).toMatchObject({ exitCode: 1, timedOut: true });
    expect(result.stderr).toContain("not complete");
    fake.rolloutReads = 1;
  });

  it("reads an object's status: exit 0 when ready", async () => {
    const result = await run("action: status\nkind: pod\nname: agent-x1\n", { readOnly: true });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ kind: "pod", phase: "Running", ready: true });
    await run("action: rollout-status\nkind: statefulset\nname: cache\ntimeout: 5s\n", { readOnly: true });
    const deployment = await run("action: status\nkind: statefulset\nname: cache\n", { readOnly: true });
    expect(JSON.parse(deployment.stdout)).toMatchObject({ kind: "statefulset", ready: true });
  });

  it("refuses a changing action in a read-only check", async () => {
    await expect(
      run("action: delete-pod\npod: checkout-7d9f-abcde\n", { readOnly: true }),
    ).rejects.toMatchObject({ code: "RW_ERR_CONNECTOR_REJECTED", details: { reason: "read-only" } });
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    ["a name that is not an RFC 1123 name", 'action: delete-pod\npod: "web; rm -rf /"\n', "pod"],
    ["an upper-case name", "action: delete-pod\npod: Web\n", "pod"],
    [
      "a command given as a string (a template value)",
      'action: exec\npod: web\ncommand: "reboot now"\n',
      "command",
    ],
    ["an unknown field", "action: cordon\nnode: n1\nforce: true\n", "step"],
    ["an unknown action", "action: destroy\n", "action"],
    ["a namespace on a node action", "action: cordon\nnode: n1\nnamespace: shop\n", "step"],
  ])("refuses %s before calling the API", async (_label, text, field) => {
    await expect(run(text)).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "step", field: expect.stringContaining(field === "step" ? "" : field) },
    });
    expect(fake.requests).toHaveLength(0);
  });

  it("refuses a step in another language", async () => {
    await expect(run("kubectl delete pod x", { language: "sh" })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "language" },
    });
  });

  it("maps a missing object to RW_ERR_CONNECTOR_NOT_FOUND", async () => {
    await expect(run("action: rollout-restart\nkind: deployment\nname: nope\n")).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_NOT_FOUND",
    });
  });

  it("health check: ok when reachable and every permission the actions need is allowed", async () => {
    const health = await instance.healthCheck(connection(), { signal: AbortSignal.timeout(5000) });
    expect(health).toMatchObject({ ok: true });
    const reviews = fake.requests.filter((r) => r.path.endsWith("/selfsubjectaccessreviews"));
    expect(reviews.length).toBeGreaterThan(5);
    expect(
      reviews.map((r) => (r.body as { spec: { resourceAttributes: unknown } }).spec.resourceAttributes),
    ).toContainEqual({
      verb: "create",
      group: "",
      resource: "pods",
      subresource: "exec",
      namespace: "shop",
    });
  });

  it("health check: not ok, naming the permission, when the credential lacks one", async () => {
    fake.denied.add("create pods/exec");
    try {
      const health = await instance.healthCheck(connection({ options: { actions: ["exec", "logs"] } }), {
        signal: AbortSignal.timeout(5000),
      });
      expect(health).toMatchObject({ ok: false, reason: "permissions" });
      expect(health.message).toContain("create pods/exec in shop");
      expect(fake.requests.filter((r) => r.path.endsWith("/selfsubjectaccessreviews"))).toHaveLength(2);
    } finally {
      fake.denied.clear();
    }
  });

  it("describes a step in one line without the token", () => {
    const line = instance.describe!(
      req("action: scale\nkind: deployment\nname: checkout\nreplicas: 4\n"),
      connection(),
    );
    expect(line).toBe(`scale deployment shop/checkout to 4 replicas (127.0.0.1:${fake.port}, bearer token)`);
  });

  it("connects from a kubeconfig held in the vault, with its context and namespace", async () => {
    const kubeconfig = [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `- name: fake\n  cluster:\n    server: ${fake.url}`,
      "users:",
      `- name: sre\n  user:\n    token: ${fake.token}`,
      "contexts:",
      "- name: other\n  context:\n    cluster: fake\n    user: sre\n    namespace: elsewhere",
      "- name: shop\n  context:\n    cluster: fake\n    user: sre\n    namespace: shop",
      "current-context: other",
    ].join("\n");
    const on: ResolvedConnection = {
      ...connection(),
      targetHost: null,
      targetPort: null,
      options: { context: "shop" },
      credential: {
        id: 2,
        name: "kc",
        credentialType: "kubeconfig",
        environment: "test",
        value: { kubeconfig },
        secrets: { kubeconfig },
      },
    };
    const result = await run("action: status\nkind: pod\nname: agent-x1\n", {}, on);
    expect(JSON.parse(result.stdout)).toMatchObject({ name: "agent-x1", ready: true });
    expect(fake.requests.at(-1)!.path).toBe("/api/v1/namespaces/shop/pods/agent-x1");
  });

  it("keeps at most maxOutputBytes of an exec's output and says it cut the rest", async () => {
    const small = (await kubernetesConnector.create(
      kubernetesConnector.configSchema.parse({ maxOutputBytes: 10 }),
      createTestContext().ctx,
    )) as InfrastructureConnector;
    const handle = await small.open(connection(), { signal: AbortSignal.timeout(5000) });
    let streamed = "";
    const result = await handle.exec(
      req("action: exec\npod: agent-x1\ncommand: [sh, -c, 'printf 0123456789abcdef']\n", {
        onOutput: (_s, c) => {
          streamed += c;
        },
      }),
    );
    expect(streamed).toBe(result.stdout + result.stderr);
    await handle.release();
    expect(result.stdout).toBe("0123456789");
    expect(result.stderr).toContain("stdout cut at 10 bytes");
  });

  it("reports an exec the API server cannot start (an unknown container) with its message and no exit code", async () => {
    const result = await run('action: exec\npod: agent-x1\ncontainer: nope\ncommand: ["true"]\n');
    expect(result.exitCode).toBeNull();
    expect(result.stderr).toContain("container nope is not valid");
  });

  it("refuses in_cluster outside a pod, and a kubeconfig that does not parse without quoting it", async () => {
    const inCluster: ResolvedConnection = {
      ...connection(),
      targetHost: null,
      options: { in_cluster: true },
      credential: null,
    };
    await expect(instance.open(inCluster, { signal: AbortSignal.timeout(5000) })).rejects.toMatchObject({
      code: expect.stringMatching(/RW_ERR_CONNECTOR_(REJECTED|AUTH)/),
    });
    const secretText = "not: [valid yaml secret-canary-123";
    const broken: ResolvedConnection = {
      ...connection(),
      credential: {
        id: 4,
        name: "kc",
        credentialType: "kubeconfig",
        environment: "test",
        value: { kubeconfig: secretText },
        secrets: { kubeconfig: secretText },
      },
    };
    const error = await instance.open(broken, { signal: AbortSignal.timeout(5000) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH" });
    expect(JSON.stringify(error) + String((error as Error).message)).not.toContain("secret-canary-123");
  });

  it("refuses a kubeconfig whose user runs an exec plugin", async () => {
    const kubeconfig = `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${fake.url}\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/touch\n      args: [/tmp/pwned]\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n`;
    const on: ResolvedConnection = {
      ...connection(),
      options: {},
      credential: {
        id: 3,
        name: "kc",
        credentialType: "kubeconfig",
        environment: "test",
        value: { kubeconfig },
        secrets: { kubeconfig },
      },
    };
    await expect(run("action: status\nkind: node\nname: node-1\n", {}, on)).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      message: expect.stringContaining("exec plugin"),
    });
  });
});
