import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestContext, testConnector } from "@runwarden/connector-testkit";
import type { ExecRequest, InfrastructureConnector, ResolvedConnection } from "@runwarden/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import gcpConnector from "../src/index.js";
import { type FakeGcp, type FakeMetadata, startFakeGcp, startFakeMetadata } from "./fake-gcp.js";
import { fakeConfig, gcpConnection } from "./helpers.js";

const fake: FakeGcp = await startFakeGcp({ sshUser: "sa_123456789012345678901" });
afterAll(() => fake.close());

function resetInstances() {
  fake.instances.clear();
  fake.instances.set("web-1", {
    name: "web-1",
    status: "RUNNING",
    natIP: "127.0.0.1",
    networkIP: "10.0.0.2",
  });
  fake.instances.set("web-2", { name: "web-2", status: "TERMINATED", networkIP: "10.0.0.3" });
}
resetInstances();

testConnector(gcpConnector, {
  config: fakeConfig(fake),
  invalidConfigs: [
    { keyLifetimeSeconds: 5 },
    { endpoints: { compute: "http://example.com/v1" } },
    { unknown: 1 },
  ],
  connection: gcpConnection(fake),
  request: { command: "action: status\n", language: "gcp" },
  rejectedConnection: gcpConnection(fake, { keyJson: fake.wrongKeyJson }),
});

function req(command: string, extra: Partial<ExecRequest> = {}): ExecRequest {
  return { command, language: "gcp", readOnly: false, signal: new AbortController().signal, ...extra };
}

async function rejection(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; message: string; details?: Record<string, unknown> };
  }
  throw new Error("expected a rejection");
}

describe("gcpConnector against the fake Compute/OS Login API", () => {
  let instance: InfrastructureConnector;
  let logs: string[];
  beforeAll(async () => {
    const test = createTestContext();
    logs = test.logs as unknown as string[];
    instance = (await gcpConnector.create(
      gcpConnector.configSchema.parse(fakeConfig(fake)),
      test.ctx,
    )) as InfrastructureConnector;
  });
  afterAll(() => instance.close?.());
  beforeEach(() => {
    resetInstances();
    fake.requests.length = 0;
    fake.waitsBeforeDone = 1;
  });

  async function run(
    command: string,
    extra: Partial<ExecRequest> = {},
    on: ResolvedConnection = gcpConnection(fake),
  ) {
    const redacted: string[] = [];
    const handle = await instance.open(on, {
      signal: new AbortController().signal,
      redact: (v) => redacted.push(v),
    });
    try {
      return {
        result: await handle.exec(req(command, { redact: (v) => redacted.push(v), ...extra })),
        redacted,
      };
    } finally {
      await handle.release();
    }
  }

  it("reports the instance status and exits 1 when it is not the expected one", async () => {
    const { result } = await run("action: status\nexpect: RUNNING\n");
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ instance: "web-1", status: "RUNNING" });
    const other = await run("action: status\ninstance: web-2\nexpect: RUNNING\n");
    expect(other.result.exitCode).toBe(1);
    expect(other.result.stderr).toContain("TERMINATED");
  });

  it("resets an instance and waits for the zone operation to be DONE", async () => {
    fake.waitsBeforeDone = 3;
    const { result } = await run("action: reset\n");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('"status":"DONE"');
    const paths = fake.requests.map((r) => `${r.method} ${r.path}`);
    expect(paths).toContain(
      `POST /compute/v1/projects/${fake.project}/zones/${fake.zone}/instances/web-1/reset`,
    );
    expect(paths.filter((p) => p.endsWith("/wait"))).toHaveLength(3);
  });

  it("stops and starts an instance, the status following", async () => {
    expect((await run("action: stop\n")).result.exitCode).toBe(0);
    expect(fake.instances.get("web-1")?.status).toBe("TERMINATED");
    expect((await run("action: start\n")).result.exitCode).toBe(0);
    expect(fake.instances.get("web-1")?.status).toBe("RUNNING");
  });

  it("registers every access token it obtains for redaction and never logs it", async () => {
    const { redacted } = await run("action: status\n");
    expect(fake.tokens.length).toBeGreaterThan(0);
    const last = fake.tokens.at(-1)!;
    expect(redacted).toContain(last);
    expect(JSON.stringify(logs)).not.toContain(last);
  });

  it("refuses a ticket value that is not a Compute Engine name in the instance field", async () => {
    const error = await rejection(run('action: reset\ninstance: "web-1; rm -rf /"\n'));
    expect(error.code).toBe("RW_ERR_CONNECTOR_REJECTED");
    expect(error.message).toContain("instance");
    expect(fake.requests.some((r) => r.path.includes("rm"))).toBe(false);
  });

  it("refuses unknown fields and actions", async () => {
    expect((await rejection(run("action: delete\n"))).code).toBe("RW_ERR_CONNECTOR_REJECTED");
    expect((await rejection(run("action: reset\nforce: true\n"))).code).toBe("RW_ERR_CONNECTOR_REJECTED");
  });

  it("refuses a state change in a read-only phase", async () => {
    const error = await rejection(run("action: stop\n", { readOnly: true }));
    expect(error.details?.reason).toBe("read-only");
    expect(fake.requests.some((r) => r.path.endsWith("/stop"))).toBe(false);
  });

  it("maps an unknown instance to RW_ERR_CONNECTOR_NOT_FOUND", async () => {
    expect((await rejection(run("action: status\ninstance: nope\n"))).code).toBe(
      "RW_ERR_CONNECTOR_NOT_FOUND",
    );
  });

  it("refuses to run a shell command on an instance that is not RUNNING", async () => {
    const error = await rejection(
      run("uptime", { language: "sh" }, gcpConnection(fake, { instance: "web-2" })),
    );
    expect(error.code).toBe("RW_ERR_CONNECTOR_CONFLICT");
  });

  it("health check passes with every permission and names the missing ones otherwise", async () => {
    const ok = await instance.healthCheck(gcpConnection(fake), { signal: AbortSignal.timeout(5000) });
    expect(ok.ok).toBe(true);
    fake.granted.delete("compute.instances.osAdminLogin");
    try {
      const missing = await instance.healthCheck(gcpConnection(fake), { signal: AbortSignal.timeout(5000) });
      expect(missing.ok).toBe(false);
      expect(missing.message).toContain("compute.instances.osAdminLogin");
    } finally {
      fake.granted.add("compute.instances.osAdminLogin");
    }
  });

  it("fails with RW_ERR_CONNECTOR_AUTH when the key is not the service account's, without the key in the error", async () => {
    const error = await rejection(
      instance.open(gcpConnection(fake, { keyJson: fake.wrongKeyJson }), {
        signal: AbortSignal.timeout(5000),
      }),
    );
    expect(error.code).toBe("RW_ERR_CONNECTOR_AUTH");
    expect(JSON.stringify([error.message, error.details])).not.toContain("PRIVATE KEY");
  });

  it("describes a step without secrets", () => {
    const line = instance.describe?.(
      { command: "action: reset\n", language: "gcp", readOnly: false },
      gcpConnection(fake),
    );
    expect(line).toBe("gcp reset instance shop-prod-123/europe-west1-b/web-1");
  });
});

describe("gcpConnector with workload identity (the metadata server, faked through GCE_METADATA_HOST)", () => {
  const names = ["GCE_METADATA_HOST", "CLOUDSDK_CONFIG", "GOOGLE_APPLICATION_CREDENTIALS"] as const;
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  const emptyGcloud = mkdtempSync(join(tmpdir(), "rw-gcloud-"));
  let meta: FakeMetadata;
  let instance: InfrastructureConnector;
  let logs: unknown[];
  beforeAll(async () => {
    meta = await startFakeMetadata(fake);
    process.env.GCE_METADATA_HOST = meta.host;
    // No gcloud application-default file or key file may answer first.
    process.env.CLOUDSDK_CONFIG = emptyGcloud;
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    const test = createTestContext();
    logs = test.logs as unknown[];
    instance = (await gcpConnector.create(
      gcpConnector.configSchema.parse(fakeConfig(fake)),
      test.ctx,
    )) as InfrastructureConnector;
    resetInstances();
  });
  afterAll(async () => {
    await instance.close?.();
    await meta.close();
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
    rmSync(emptyGcloud, { recursive: true, force: true });
  });

  const workload = (): ResolvedConnection => {
    const base = gcpConnection(fake);
    return {
      ...base,
      credential: {
        ...base.credential!,
        credentialType: "gcp_workload_identity",
        value: { service_account_email: fake.email },
        secrets: {},
      },
    } as ResolvedConnection;
  };

  it("gets its access token from the metadata server (Metadata-Flavor: Google), uses it and redacts it", async () => {
    const redacted: string[] = [];
    const handle = await instance.open(workload(), {
      signal: AbortSignal.timeout(10_000),
      redact: (v) => redacted.push(v),
    });
    try {
      const result = await handle.exec(req("action: status\n", { redact: (v) => redacted.push(v) }));
      expect(result.exitCode).toBe(0);
    } finally {
      await handle.release();
    }
    const asked = meta.requests.filter((r) => r.path.endsWith("/service-accounts/default/token"));
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((r) => r.flavor === "Google")).toBe(true);
    const token = fake.tokens.at(-1)!;
    expect(token.startsWith("ya29.c.")).toBe(true);
    expect(fake.requests.some((r) => r.path.includes("/instances/web-1"))).toBe(true);
    expect(redacted).toContain(token);
    expect(JSON.stringify(logs)).not.toContain(token);
  });

  it("health check passes with the metadata server's token", async () => {
    const health = await instance.healthCheck(workload(), { signal: AbortSignal.timeout(10_000) });
    expect(health.ok).toBe(true);
  });
});

describe("gcp steps rendered by core from ticket values", () => {
  it("refuses a hostile instance name a ticket put in the instance field", async () => {
    const { renderCommand } = await import("../../../core/src/executor/templates.js");
    const { parseGcpStep } = await import("../src/internal/step.js");
    const scope = (vm: string) => ({ ticket: { metaData: { vm } } as never, vars: {} });
    const good = renderCommand(
      "action: reset\ninstance: {{ticket.metaData.vm}}\n",
      "gcp",
      scope("web-2"),
    ).command;
    expect(parseGcpStep(good)).toEqual({ action: "reset", instance: "web-2", wait: true });
    const hostile = renderCommand(
      "action: status\ninstance: {{ticket.metaData.vm}}\n",
      "gcp",
      scope("web-1; rm -rf /"),
    ).command;
    expect(() => parseGcpStep(hostile)).toThrow(/instance/);
  });
});
