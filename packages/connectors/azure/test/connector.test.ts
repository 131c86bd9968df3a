import { createTestContext, testConnector } from "@runwarden/connector-testkit";
import type { ExecRequest, InfrastructureConnector, ResolvedConnection } from "@runwarden/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import azureConnector from "../src/index.js";
import { type FakeAzure, startFakeAzure } from "./fake-azure.js";

const fake: FakeAzure = await startFakeAzure();
afterAll(() => fake.close());

const config = () => ({
  endpoints: { resourceManager: fake.url, authorityHost: fake.url },
  tlsCa: fake.ca,
  pollIntervalMs: 10,
});

let nextId = 1;
function connection(parts: { secret?: string; vm?: string } = {}): ResolvedConnection {
  const id = nextId++;
  const secret = parts.secret ?? fake.clientSecret;
  return {
    id,
    name: `azure-${id}`,
    connectionType: "azure",
    targetHost: parts.vm ?? "web-01",
    targetPort: null,
    targetService: null,
    environment: "test",
    options: { subscription_id: fake.subscriptionId, resource_group: fake.resourceGroup },
    credential: {
      id,
      name: `sp-${id}`,
      credentialType: "azure_client_secret",
      environment: "test",
      value: { tenant_id: fake.tenantId, client_id: fake.clientId, client_secret: secret },
      secrets: { client_secret: secret },
    },
  };
}

function resetVms() {
  fake.vms.clear();
  fake.vms.set("web-01", { power: "running" });
  fake.vms.set("web-02", { power: "deallocated" });
}
resetVms();

testConnector(azureConnector, {
  config: config(),
  invalidConfigs: [{ endpoints: { resourceManager: "http://management.azure.com" } }, { unknown: 1 }],
  connection: connection(),
  request: { command: "echo hello from the vm", language: "sh" },
  slowRequest: { command: "sleep 5", language: "sh" },
  rejectedConnection: connection({ secret: "not-the-secret-0123456789" }),
});

function req(command: string, extra: Partial<ExecRequest> = {}): ExecRequest {
  return { command, language: "sh", readOnly: false, signal: new AbortController().signal, ...extra };
}

async function rejection(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; message: string; details?: Record<string, unknown> };
  }
  throw new Error("expected a rejection");
}

describe("azureConnector against the HTTPS fake ARM + Entra ID", () => {
  let instance: InfrastructureConnector;
  let logs: unknown[];
  beforeAll(async () => {
    const test = createTestContext();
    logs = test.logs as unknown[];
    instance = (await azureConnector.create(
      azureConnector.configSchema.parse(config()),
      test.ctx,
    )) as InfrastructureConnector;
  });
  beforeEach(() => {
    resetVms();
    fake.requests.length = 0;
    fake.pollsBeforeDone = 1;
  });

  async function run(command: string, extra: Partial<ExecRequest> = {}, on = connection()) {
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

  it("runs a script with RunShellScript, polling the async operation, and splits stdout and stderr", async () => {
    fake.pollsBeforeDone = 2;
    const { result } = await run("echo out\necho err >&2");
    expect(result).toMatchObject({ exitCode: 0, stdout: "out\n", stderr: "err\n" });
    const post = fake.requests.find((r) => r.path.endsWith("/runCommand"))!;
    expect(JSON.parse(post.body)).toEqual({
      commandId: "RunShellScript",
      script: ["echo out", "echo err >&2"],
    });
    expect(
      fake.requests.filter((r) => r.path.includes("/operations/") && !r.query.includes("monitor")).length,
    ).toBeGreaterThanOrEqual(2);
    expect(fake.requests.some((r) => r.query.includes("monitor=true"))).toBe(true);
  });

  it("reports a failing script's exit status", async () => {
    const { result } = await run("echo partial; exit 3");
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe("partial\n");
  });

  it("restarts, deallocates and starts a VM, each waited for, and reads the instance view", async () => {
    expect((await run("action: deallocate\n", { language: "azure" })).result.exitCode).toBe(0);
    expect(fake.vms.get("web-01")?.power).toBe("deallocated");
    const view = await run("action: instance-view\nexpect_power_state: running\n", { language: "azure" });
    expect(view.result.exitCode).toBe(1);
    expect(JSON.parse(view.result.stdout)).toMatchObject({ vm: "web-01", powerState: "deallocated" });
    expect((await run("action: start\n", { language: "azure" })).result.exitCode).toBe(0);
    expect((await run("action: restart\n", { language: "azure" })).result.exitCode).toBe(0);
    expect(fake.vms.get("web-01")?.power).toBe("running");
  });

  it("registers every Entra ID token for redaction and never logs it", async () => {
    const { redacted } = await run("true");
    expect(fake.tokens.length).toBeGreaterThan(0);
    for (const token of fake.tokens.slice(-1)) expect(redacted).toContain(token);
    expect(JSON.stringify(logs)).not.toContain(fake.tokens.at(-1)!);
  });

  it("refuses a VM name a ticket could use to reach another path", async () => {
    const error = await rejection(run('action: restart\nvm: "../../web-02"\n', { language: "azure" }));
    expect(error.code).toBe("RW_ERR_CONNECTOR_REJECTED");
    expect(fake.requests.some((r) => r.path.endsWith("/restart"))).toBe(false);
  });

  it("refuses a state change in a read-only phase", async () => {
    const error = await rejection(run("action: restart\n", { language: "azure", readOnly: true }));
    expect(error.details?.reason).toBe("read-only");
  });

  it("maps an unknown VM to RW_ERR_CONNECTOR_NOT_FOUND and a stopped one to RW_ERR_CONNECTOR_CONFLICT", async () => {
    expect((await rejection(run("action: instance-view\nvm: nope\n", { language: "azure" }))).code).toBe(
      "RW_ERR_CONNECTOR_NOT_FOUND",
    );
    expect((await rejection(run("uptime", {}, connection({ vm: "web-02" })))).code).toBe(
      "RW_ERR_CONNECTOR_CONFLICT",
    );
  });

  it("fails with RW_ERR_CONNECTOR_AUTH for a wrong client secret, without the secret anywhere", async () => {
    const error = await rejection(
      instance.open(connection({ secret: "wrong-secret-987654321" }), { signal: AbortSignal.timeout(5000) }),
    );
    expect(error.code).toBe("RW_ERR_CONNECTOR_AUTH");
    expect(JSON.stringify([error.message, error.details, logs])).not.toContain("wrong-secret-987654321");
  });

  it("health check reads the instance view and proves every action the steps need", async () => {
    const health = await instance.healthCheck(connection(), { signal: AbortSignal.timeout(5000) });
    expect(health).toMatchObject({ ok: true, message: "web-01: PowerState/running" });
    expect(fake.requests.some((r) => r.path.endsWith("/providers/Microsoft.Authorization/permissions"))).toBe(
      true,
    );
    const saved = fake.permissions;
    fake.permissions = [
      {
        actions: ["Microsoft.Compute/virtualMachines/*"],
        notActions: ["Microsoft.Compute/virtualMachines/runCommand/action"],
      },
    ];
    try {
      const missing = await instance.healthCheck(connection(), { signal: AbortSignal.timeout(5000) });
      expect(missing.ok).toBe(false);
      expect(missing.message).toContain("Microsoft.Compute/virtualMachines/runCommand/action");
      expect(missing.message).not.toContain("restart/action");
    } finally {
      fake.permissions = saved;
    }
  });
});

describe("azureConnector without a reachable authority", () => {
  it("maps a refused connection to Entra ID to RW_ERR_CONNECTOR_UNREACHABLE, and an untrusted certificate too", async () => {
    const { createServer } = await import("node:net");
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const closed = (await azureConnector.create(
      azureConnector.configSchema.parse({
        endpoints: { resourceManager: fake.url, authorityHost: `https://127.0.0.1:${port}` },
      }),
      createTestContext().ctx,
    )) as InfrastructureConnector;
    const refused = await rejection(closed.open(connection(), { signal: AbortSignal.timeout(10_000) }));
    expect(refused.code).toBe("RW_ERR_CONNECTOR_UNREACHABLE");
    const untrusted = (await azureConnector.create(
      azureConnector.configSchema.parse({
        endpoints: { resourceManager: fake.url, authorityHost: fake.url },
      }),
      createTestContext().ctx,
    )) as InfrastructureConnector;
    const tls = await rejection(untrusted.open(connection(), { signal: AbortSignal.timeout(10_000) }));
    expect(tls.code).toBe("RW_ERR_CONNECTOR_UNREACHABLE");
  });
});

describe("Run Command results", () => {
  it("reads the REST spec example's RunPowerShellScript result (ComponentStatus/StdOut and StdErr)", async () => {
    const { parseRunCommandResult } = await import("../src/internal/run.js");
    // azure-rest-api-specs …/ComputeRP/stable/2024-07-01/examples/runCommandExamples/VirtualMachineRunCommand.json
    const value = [
      {
        code: "ComponentStatus/StdOut/succeeded",
        level: "Info",
        displayStatus: "Provisioning succeeded",
        message: "This is a sample script with parameters value1 value2",
      },
      {
        code: "ComponentStatus/StdErr/succeeded",
        level: "Info",
        displayStatus: "Provisioning succeeded",
        message: "",
      },
    ];
    expect(parseRunCommandResult(value)).toEqual({
      exitCode: 0,
      stdout: "This is a sample script with parameters value1 value2",
      stderr: "",
    });
  });

  it("reads the Linux extension's message with [stdout] and [stderr] sections", async () => {
    const { parseRunCommandResult } = await import("../src/internal/run.js");
    expect(
      parseRunCommandResult([
        {
          code: "ProvisioningState/succeeded",
          level: "Info",
          displayStatus: "Provisioning succeeded",
          message: "Enable succeeded: \n[stdout]\nactive\n\n[stderr]\n",
        },
      ]),
    ).toEqual({ exitCode: 0, stdout: "active\n", stderr: "" });
  });
});
