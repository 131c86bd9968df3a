/**
 * Cross-checks the fake API server with an independent client, the real `kubectl`, and checks
 * that the connector sends what kubectl sends for the same change (rollout restart, scale,
 * cordon) and negotiates the same exec sub-protocol. Over HTTPS with a throwaway CA: kubectl
 * sends a bearer token only over TLS, and the connector verifies the certificate (`ca_data`).
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createTestContext } from "@runwarden/connector-testkit";
import type { InfrastructureConnector, ResolvedConnection } from "@runwarden/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import kubernetesConnector from "../src/index.js";
import { type FakeApiServer, type RecordedRequest, startFakeApiServer } from "./fake-api-server.js";

const run = promisify(execFile);
let dir: string;
let fake: FakeApiServer;
let cert: string;
let instance: InfrastructureConnector;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rw-k8s-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  cert = readFileSync(join(dir, "cert.pem"), "utf8");
  // A client certificate for CN=runwarden, signed by the same throwaway CA.
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  openssl(
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    join(dir, "client-key.pem"),
    "-out",
    join(dir, "client.csr"),
    "-subj",
    "/CN=runwarden",
  );
  openssl(
    "x509",
    "-req",
    "-in",
    join(dir, "client.csr"),
    "-CA",
    join(dir, "cert.pem"),
    "-CAkey",
    join(dir, "key.pem"),
    "-CAcreateserial",
    "-out",
    join(dir, "client.pem"),
    "-days",
    "1",
  );
  fake = await startFakeApiServer({
    tls: { key: readFileSync(join(dir, "key.pem"), "utf8"), cert, clientCa: cert, clientCn: "runwarden" },
  });
  instance = (await kubernetesConnector.create(
    kubernetesConnector.configSchema.parse({ pollIntervalMs: 10 }),
    createTestContext().ctx,
  )) as InfrastructureConnector;
});

afterAll(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function kubectl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const flags = [
    "--server",
    fake.url,
    "--token",
    fake.token,
    "--certificate-authority",
    join(dir, "cert.pem"),
    "-n",
    "shop",
  ];
  try {
    // Flags go before a `--` (after it everything is the exec'd command).
    const dash = args.indexOf("--");
    const argv = dash < 0 ? [...args, ...flags] : [...args.slice(0, dash), ...flags, ...args.slice(dash)];
    const { stdout, stderr } = await run("kubectl", argv, { timeout: 30_000 });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number | string };
    if (typeof e.code !== "number") throw error;
    return { stdout: e.stdout ?? "", stderr: e.stderr ?? "", code: e.code };
  }
}

function connection(): ResolvedConnection {
  return {
    id: 1,
    name: "tls-cluster",
    connectionType: "kubernetes",
    targetHost: "127.0.0.1",
    targetPort: fake.port,
    targetService: null,
    environment: "test",
    options: { namespace: "shop", ca_data: cert },
    credential: {
      id: 1,
      name: "token",
      credentialType: "k8s_token",
      environment: "test",
      value: { token: fake.token },
      secrets: { token: fake.token },
    },
  };
}

async function step(command: string) {
  const handle = await instance.open(connection(), { signal: AbortSignal.timeout(10_000) });
  try {
    return await handle.exec({
      command,
      language: "k8s",
      readOnly: false,
      signal: AbortSignal.timeout(10_000),
    });
  } finally {
    await handle.release();
  }
}

/** The last write request to a path, as the fake recorded it. */
function lastWrite(path: string): RecordedRequest {
  const found = fake.requests.filter((r) => r.path === path && r.method !== "GET").at(-1);
  if (!found) throw new Error(`no write to ${path}`);
  return found;
}

/** A request body with the restartedAt time taken out (kubectl and the connector differ only there). */
function shape(body: unknown): unknown {
  return JSON.parse(JSON.stringify(body).replace(/"\d{4}-\d\d-\d\dT[\d:]+Z"/g, '"<time>"'));
}

describe("the fake API server, cross-checked with kubectl", () => {
  it("kubectl rollout restart and the connector send the same strategic-merge patch", async () => {
    const byKubectl = await kubectl("rollout", "restart", "deployment/checkout");
    expect(byKubectl).toMatchObject({ code: 0, stdout: "deployment.apps/checkout restarted\n" });
    const path = "/apis/apps/v1/namespaces/shop/deployments/checkout";
    const theirs = lastWrite(path);
    expect(theirs.contentType).toBe("application/strategic-merge-patch+json");
    expect(
      Object.keys(
        (theirs.body as { spec: { template: { metadata: { annotations: object } } } }).spec.template.metadata
          .annotations,
      ),
    ).toEqual(["kubectl.kubernetes.io/restartedAt"]);

    expect((await step("action: rollout-restart\nkind: deployment\nname: checkout\n")).exitCode).toBe(0);
    const ours = lastWrite(path);
    expect(ours.method).toBe(theirs.method);
    expect(ours.contentType).toBe(theirs.contentType);
    expect(shape(ours.body)).toEqual(shape(theirs.body));
  });

  it("kubectl scale and the connector patch the scale subresource the same way", async () => {
    expect(await kubectl("scale", "deployment/checkout", "--replicas=4")).toMatchObject({ code: 0 });
    const path = "/apis/apps/v1/namespaces/shop/deployments/checkout/scale";
    const theirs = lastWrite(path);
    expect((await kubectl("get", "deployment", "checkout", "-o", "jsonpath={.spec.replicas}")).stdout).toBe(
      "4",
    );

    expect((await step("action: scale\nkind: deployment\nname: checkout\nreplicas: 2\n")).exitCode).toBe(0);
    const ours = lastWrite(path);
    expect([ours.method, ours.contentType]).toEqual([theirs.method, theirs.contentType]);
    expect(ours.body).toEqual({ spec: { replicas: 2 } });
    expect(theirs.body).toEqual({ spec: { replicas: 4 } });
    expect((await kubectl("get", "deployment", "checkout", "-o", "jsonpath={.spec.replicas}")).stdout).toBe(
      "2",
    );
  });

  it("kubectl cordon and the connector patch the node the same way", async () => {
    expect(await kubectl("cordon", "node-2")).toMatchObject({ code: 0, stdout: "node/node-2 cordoned\n" });
    const theirs = lastWrite("/api/v1/nodes/node-2");
    expect(await kubectl("uncordon", "node-2")).toMatchObject({ code: 0 });
    expect((await step("action: cordon\nnode: node-2\n")).exitCode).toBe(0);
    const ours = lastWrite("/api/v1/nodes/node-2");
    expect([ours.contentType, ours.body]).toEqual([theirs.contentType, theirs.body]);
    expect((await kubectl("get", "node", "node-2", "-o", "jsonpath={.spec.unschedulable}")).stdout).toBe(
      "true",
    );
  });

  it("kubectl exec and the connector negotiate the same sub-protocol and see the same output and exit code", async () => {
    const theirs = await kubectl(
      "exec",
      "checkout-7d9f-abcde",
      "--",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 4",
    );
    expect(theirs).toMatchObject({ code: 4, stdout: "out\n" });
    expect(theirs.stderr).toContain("err\n");
    const ours = await step(
      "action: exec\npod: checkout-7d9f-abcde\ncommand: [sh, -c, 'echo out; echo err >&2; exit 4']\n",
    );
    expect(ours).toMatchObject({ exitCode: 4, stdout: "out\n", stderr: "err\n" });
    expect(fake.execProtocols).toHaveLength(2);
    expect(fake.execProtocols[1]).toBe(fake.execProtocols[0]);
  });

  it("kubectl logs --tail and the connector's logs step read the same lines", async () => {
    const theirs = await kubectl("logs", "checkout-7d9f-abcde", "--tail=3");
    const ours = await step("action: logs\npod: checkout-7d9f-abcde\ntail: 3\n");
    expect(ours.stdout).toBe(theirs.stdout);
    expect(ours.stdout.split("\n")).toHaveLength(4);
  });

  it("the fake refuses an invalid body for kubectl too (validated against the OpenAPI schema)", async () => {
    const bad = await kubectl(
      "patch",
      "deployment",
      "checkout",
      "--type=merge",
      "-p",
      '{"spec":{"replicas":"many"}}',
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/invalid|Invalid/);
  });

  it("the connector authenticates with a client certificate and key (k8s_client_cert), kubectl too", async () => {
    const clientCert = readFileSync(join(dir, "client.pem"), "utf8");
    const clientKey = readFileSync(join(dir, "client-key.pem"), "utf8");
    const withCert: ResolvedConnection = {
      ...connection(),
      credential: {
        id: 2,
        name: "cert",
        credentialType: "k8s_client_cert",
        environment: "test",
        value: { client_certificate: clientCert, client_key: clientKey },
        secrets: { client_key: clientKey },
      },
    };
    const handle = await instance.open(withCert, { signal: AbortSignal.timeout(10_000) });
    try {
      const result = await handle.exec({
        command: "action: status\nkind: node\nname: node-1\n",
        language: "k8s",
        readOnly: true,
        signal: AbortSignal.timeout(10_000),
      });
      expect(JSON.parse(result.stdout)).toMatchObject({ kind: "node", name: "node-1" });
    } finally {
      await handle.release();
    }
    expect(fake.requests.at(-1)).toMatchObject({ path: "/api/v1/nodes/node-1" });
    const { stdout } = await run("kubectl", [
      "get",
      "node",
      "node-1",
      "-o",
      "name",
      "--server",
      fake.url,
      "--certificate-authority",
      join(dir, "cert.pem"),
      "--client-certificate",
      join(dir, "client.pem"),
      "--client-key",
      join(dir, "client-key.pem"),
    ]);
    expect(stdout).toBe("node/node-1\n");
    // Without a credential the fake refuses: the certificate is what authenticated.
    const none: ResolvedConnection = { ...connection(), credential: null };
    const anonymous = await instance.open(none, { signal: AbortSignal.timeout(10_000) });
    await expect(
      anonymous.exec({
        command: "action: status\nkind: node\nname: node-1\n",
        language: "k8s",
        readOnly: true,
        signal: AbortSignal.timeout(10_000),
      }),
    ).rejects.toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH" });
    await anonymous.release();
  });

  it("the connector refuses a server whose certificate its CA does not sign", async () => {
    const other: ResolvedConnection = { ...connection(), options: { namespace: "shop" } };
    const handle = await instance.open(other, { signal: AbortSignal.timeout(10_000) });
    await expect(
      handle.exec({
        command: "action: status\nkind: node\nname: node-1\n",
        language: "k8s",
        readOnly: true,
        signal: AbortSignal.timeout(10_000),
      }),
    ).rejects.toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH", details: { reason: "tls" } });
    await handle.release();
  });
});
