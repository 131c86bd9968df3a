import { createHash, randomUUID, X509Certificate } from "node:crypto";
import { createTestContext, fakePowerShell, testConnector } from "@runwarden/connector-testkit";
import type { ExecRequest, InfrastructureConnector, ResolvedConnection, Ticket } from "@runwarden/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { renderCommand } from "../../../core/src/executor/templates.js";
import azureConnector from "../src/index.js";
import { certificate, type FakeAzure, SPEC_API_VERSION, startFakeAzure } from "./fake-azure.js";

const fake: FakeAzure = await startFakeAzure();
afterAll(() => fake.close());

const config = () => ({
  endpoints: { resourceManager: fake.url, authorityHost: fake.url },
  tlsCa: fake.ca,
  pollIntervalMs: 10,
});

const ticket = {
  id: 1,
  title: "W3SVC down",
  description: "",
  severity: "high",
  environment: "prod",
  service: "iis",
  source: "test",
  externalId: null,
  fingerprint: "fp",
  occurrences: 1,
  receivedAt: "2030-01-01T00:00:00.000Z",
  analysis: null,
} as unknown as Ticket;

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

  const monitorPolls = () =>
    fake.requests.filter((r) => r.path.includes("/operations/") && r.query.includes("monitor=true")).length;
  const asyncPolls = () =>
    fake.requests.filter((r) => r.path.includes("/operations/") && !r.query.includes("monitor=true")).length;

  it("runs a script with RunShellScript, polling the spec example's Location header, and splits stdout and stderr", async () => {
    fake.pollsBeforeDone = 2;
    const { result } = await run("echo out\necho err >&2");
    expect(result).toMatchObject({ exitCode: 0, stdout: "out\n", stderr: "err\n" });
    const post = fake.requests.find((r) => r.path.endsWith("/runCommand"))!;
    expect(JSON.parse(post.body)).toEqual({
      commandId: "RunShellScript",
      script: ["echo out", "echo err >&2"],
    });
    expect(post.query).toBe(`?api-version=${SPEC_API_VERSION}`);
    // The example's 202 lists Location only: the SDK polls it (202, 202, then the 200 result).
    expect(monitorPolls()).toBeGreaterThanOrEqual(3);
    expect(asyncPolls()).toBe(0);
  });

  it("polls Azure-AsyncOperation when ARM sends it too, then reads the result at Location", async () => {
    fake.asyncHeaders = "arm";
    fake.pollsBeforeDone = 2;
    try {
      const { result } = await run("echo via-async-operation");
      expect(result).toMatchObject({ exitCode: 0, stdout: "via-async-operation\n" });
      expect(asyncPolls()).toBeGreaterThanOrEqual(2);
      expect(monitorPolls()).toBeGreaterThanOrEqual(1);
      fake.requests.length = 0;
      expect((await run("action: restart\n", { language: "azure" })).result.exitCode).toBe(0);
      expect(asyncPolls()).toBeGreaterThanOrEqual(2);
    } finally {
      fake.asyncHeaders = "example";
    }
  });

  it("sends restart, deallocate and start as the spec examples do: POST, no body, api-version only, polled at Location", async () => {
    for (const action of ["deallocate", "start", "restart"] as const) {
      fake.requests.length = 0;
      expect((await run(`action: ${action}\n`, { language: "azure" })).result.exitCode).toBe(0);
      const post = fake.requests.find((r) => r.method === "POST" && r.path.endsWith(`/${action}`))!;
      expect(post.path).toBe(
        `/subscriptions/${fake.subscriptionId}/resourceGroups/${fake.resourceGroup}/providers/Microsoft.Compute/virtualMachines/web-01/${action}`,
      );
      expect(post.query).toBe(`?api-version=${SPEC_API_VERSION}`);
      expect(post.body).toBe("");
      expect(monitorPolls()).toBeGreaterThanOrEqual(2);
    }
  });

  it("reads the power state from the spec example's instance view", async () => {
    const view = await run("action: instance-view\nexpect_power_state: running\n", { language: "azure" });
    expect(view.result.exitCode).toBe(0);
    expect(JSON.parse(view.result.stdout)).toEqual({
      vm: "web-01",
      powerState: "running",
      provisioningState: "succeeded",
    });
    const get = fake.requests.find((r) => r.path.endsWith("/instanceView"))!;
    expect(get.query).toBe(`?api-version=${SPEC_API_VERSION}`);
  });

  it("sends every ARM call with the api-version of the stored spec examples (the SDK's own)", async () => {
    await run("true");
    await run("action: instance-view\n", { language: "azure" });
    const arm = fake.requests.filter((r) => r.path.startsWith("/subscriptions/"));
    expect(arm.length).toBeGreaterThan(3);
    for (const r of arm) expect(new URLSearchParams(r.query).get("api-version")).toBe(SPEC_API_VERSION);
  });

  it("runs a powershell step with RunPowerShellScript; a ticket value reaches the script only as one quoted literal", async () => {
    fake.vms.set("win-01", { power: "running", os: "windows" });
    fake.powershell = fakePowerShell;
    const hostile = "W3SVC'; Remove-Item -Recurse C:\\ ; \u2019$(whoami)";
    const { command } = renderCommand("Write-Output {{ticket.metaData.service}}", "powershell", {
      ticket: { ...ticket, metaData: { service: hostile } },
      vars: {},
    });
    expect(command).toBe("Write-Output 'W3SVC''; Remove-Item -Recurse C:\\ ; \u2019\u2019$(whoami)'");
    const { result } = await run(command, { language: "powershell" }, connection({ vm: "win-01" }));
    const post = fake.requests.find((r) => r.path.endsWith("/runCommand"))!;
    expect(JSON.parse(post.body)).toEqual({ commandId: "RunPowerShellScript", script: [command] });
    // The example's Windows answer (ComponentStatus/StdOut, StdErr): the value came back whole.
    expect(result).toMatchObject({ exitCode: 0, stdout: `${hostile}\n`, stderr: "" });
  });

  it("refuses to render a ticket value where PowerShell would evaluate it", () => {
    expect(() =>
      renderCommand('Write-Output "{{ticket.metaData.service}}"', "powershell", {
        ticket: { ...ticket, metaData: { service: "$(Stop-Computer)" } },
        vars: {},
      }),
    ).toThrow(expect.objectContaining({ code: "RW_ERR_EXEC_TEMPLATE" }));
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

describe("azureConnector credentials: certificate service principal and managed identity", () => {
  let instance: InfrastructureConnector;
  let logs: unknown[];
  const registered = certificate("rsa", "runwarden-sp");
  const other = certificate("rsa", "someone-else");
  beforeAll(async () => {
    const test = createTestContext();
    logs = test.logs as unknown[];
    instance = (await azureConnector.create(
      azureConnector.configSchema.parse(config()),
      test.ctx,
    )) as InfrastructureConnector;
    fake.clientCertificates = [registered.cert];
    resetVms();
  });

  function withCredential(
    credentialType: string,
    value: Record<string, string>,
    secrets: Record<string, string> = {},
  ): ResolvedConnection {
    const base = connection();
    return {
      ...base,
      credential: { ...base.credential!, credentialType, value, secrets },
    } as ResolvedConnection;
  }
  const certificateConnection = (pem: string) =>
    withCredential(
      "azure_client_certificate",
      { tenant_id: fake.tenantId, client_id: fake.clientId, certificate_pem: pem },
      { certificate_pem: pem },
    );

  async function runOn(on: ResolvedConnection) {
    const redacted: string[] = [];
    const handle = await instance.open(on, {
      signal: AbortSignal.timeout(10_000),
      redact: (v) => redacted.push(v),
    });
    try {
      const result = await handle.exec(req("echo signed-in", { redact: (v) => redacted.push(v) }));
      return { result, redacted };
    } finally {
      await handle.release();
    }
  }

  it("signs in with a certificate: the token endpoint verifies the client assertion's x5t#S256 and PS256 signature", async () => {
    fake.assertions.length = 0;
    const { result, redacted } = await runOn(certificateConnection(`${registered.key}${registered.cert}`));
    expect(result).toMatchObject({ exitCode: 0, stdout: "signed-in\n" });
    const { header, claims } = fake.assertions.at(-1)!;
    const der = new X509Certificate(registered.cert).raw;
    expect(header).toMatchObject({
      alg: "PS256",
      "x5t#S256": createHash("sha256").update(der).digest("base64url"),
    });
    expect(claims).toMatchObject({
      iss: fake.clientId,
      sub: fake.clientId,
      aud: `${fake.url}/${fake.tenantId}/oauth2/v2.0/token`,
    });
    expect(redacted).toContain(fake.tokens.at(-1));
  });

  it("is refused (RW_ERR_CONNECTOR_AUTH) for an unregistered certificate or a key that did not make the registered one, keys kept out", async () => {
    const thumbprint = (pem: string) =>
      createHash("sha256").update(new X509Certificate(pem).raw).digest("base64url");
    for (const [pem, named] of [
      [`${other.key}${other.cert}`, thumbprint(other.cert)],
      // The registered certificate's thumbprint, a signature its key did not make.
      [`${other.key}${registered.cert}`, thumbprint(registered.cert)],
    ] as const) {
      const error = await rejection(
        instance.open(certificateConnection(pem), { signal: AbortSignal.timeout(10_000) }),
      );
      expect(error.code).toBe("RW_ERR_CONNECTOR_AUTH");
      expect(error.message).toContain("AADSTS700027");
      expect(fake.assertions.at(-1)?.header["x5t#S256"]).toBe(named);
      const keyBody = other.key.split("\n")[1]!;
      expect(JSON.stringify([error.message, error.details, logs])).not.toContain(keyBody);
    }
  });

  describe("managed identity through IMDS (AZURE_POD_IDENTITY_AUTHORITY_HOST points MSAL at the fake)", () => {
    const saved = process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
    beforeAll(() => {
      for (const name of [
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "MSI_ENDPOINT",
        "MSI_SECRET",
        "IDENTITY_SERVER_THUMBPRINT",
        "IMDS_ENDPOINT",
        "AZURE_FEDERATED_TOKEN_FILE",
      ])
        expect(process.env[name], name).toBeUndefined();
      process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = fake.imdsUrl;
    });
    afterAll(() => {
      if (saved === undefined) delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
      else process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = saved;
    });

    it("gets a system-assigned identity's token from IMDS (Metadata: true) and redacts it", async () => {
      fake.imdsRequests.length = 0;
      const { result, redacted } = await runOn(withCredential("azure_managed_identity", {}));
      expect(result.exitCode).toBe(0);
      const asked = fake.imdsRequests.find((r) => r.query.has("resource"))!;
      expect(asked.headers.metadata).toBe("true");
      expect(asked.query.get("resource")).toBe("https://management.azure.com");
      expect(asked.query.has("client_id")).toBe(false);
      expect(redacted).toContain(fake.tokens.at(-1));
      expect(JSON.stringify(logs)).not.toContain(fake.tokens.at(-1)!);
    });

    it("asks IMDS for a user-assigned identity by client id, and maps an unknown one to RW_ERR_CONNECTOR_AUTH", async () => {
      const userAssigned = randomUUID();
      fake.imdsIdentities.add(userAssigned);
      fake.imdsRequests.length = 0;
      const { result } = await runOn(withCredential("azure_managed_identity", { client_id: userAssigned }));
      expect(result.exitCode).toBe(0);
      expect(fake.imdsRequests.find((r) => r.query.has("resource"))!.query.get("client_id")).toBe(
        userAssigned,
      );
      const error = await rejection(
        instance.open(withCredential("azure_managed_identity", { client_id: randomUUID() }), {
          signal: AbortSignal.timeout(20_000),
        }),
      );
      expect(error.code).toBe("RW_ERR_CONNECTOR_AUTH");
    });
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
