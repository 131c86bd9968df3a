import { createTestContext } from "@runwarden/connector-testkit";
import { afterAll, describe, expect, it } from "vitest";
import winrmConnector from "../src/index.js";
import { startFakeWsman } from "./fake-wsman.js";
import { connection, makeCertificates, USER } from "./helpers.js";

const certs = makeCertificates();
const basic = await startFakeWsman({ auth: "basic", user: USER, tls: { key: certs.key, cert: certs.cert } });
const ntlm = await startFakeWsman({ auth: "ntlm", user: USER, tls: { key: certs.key, cert: certs.cert } });
const { ctx, logs } = createTestContext();
const instance = await winrmConnector.create(winrmConnector.configSchema.parse({}), ctx);
afterAll(async () => {
  await instance.close?.();
  await basic.close();
  await ntlm.close();
});

const signal = () => new AbortController().signal;
const run = async (port: number, options: Record<string, unknown>, credential = {}) => {
  const handle = await instance.open(connection(port, options, credential), { signal: signal() });
  try {
    return await handle.exec({
      command: "echo over-tls",
      language: "powershell",
      readOnly: false,
      signal: signal(),
    });
  } finally {
    await handle.release();
  }
};

describe("WinRM over HTTPS", () => {
  it("runs a step with Basic authentication, verifying the listener against the configured CA", async () => {
    const result = await run(basic.port, { transport: "https", auth: "basic", ca: certs.ca });
    expect(result).toMatchObject({ exitCode: 0, stdout: "over-tls\n" });
  });

  it("runs a step with NTLM over HTTPS (messages not sealed: TLS protects them)", async () => {
    const result = await run(ntlm.port, { transport: "https", ca: certs.ca });
    expect(result.stdout).toBe("over-tls\n");
  });

  it("refuses a listener whose certificate the CA did not sign, with RW_ERR_CONNECTOR_AUTH reason tls", async () => {
    await expect(
      run(basic.port, { transport: "https", auth: "basic", ca: certs.otherCa }),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_AUTH",
      details: { reason: "tls" },
    });
    // Without a CA the system store is used: the test CA is not in it.
    await expect(run(basic.port, { transport: "https", auth: "basic" })).rejects.toMatchObject({
      details: { reason: "tls" },
    });
  });

  it("verifies the name the certificate was issued for (tls_server_name)", async () => {
    await expect(
      run(basic.port, {
        transport: "https",
        auth: "basic",
        ca: certs.ca,
        tls_server_name: "win-01.example.com",
      }),
    ).rejects.toMatchObject({ details: { reason: "tls" } });
    expect(
      (
        await run(basic.port, {
          transport: "https",
          auth: "basic",
          ca: certs.ca,
          tls_server_name: "localhost",
        })
      ).exitCode,
    ).toBe(0);
  });

  it("connects without verification only when tls_verify is false, and logs a warning", async () => {
    expect((await run(basic.port, { transport: "https", auth: "basic", tls_verify: false })).exitCode).toBe(
      0,
    );
    expect(logs.some((line) => line.includes("verification is off"))).toBe(true);
  });

  it("registers the Basic Authorization value it derives from the password for redaction", async () => {
    const redacted: string[] = [];
    const handle = await instance.open(
      connection(basic.port, { transport: "https", auth: "basic", ca: certs.ca }),
      {
        signal: signal(),
        redact: (value) => redacted.push(value),
      },
    );
    await handle.release();
    const token = Buffer.from(`${USER.domain}\\${USER.username}:${USER.password}`).toString("base64");
    expect(redacted).toEqual([token, `Basic ${token}`]);
  });

  it("maps a refused Basic password to RW_ERR_CONNECTOR_AUTH without echoing it", async () => {
    const error = await run(
      basic.port,
      { transport: "https", auth: "basic", ca: certs.ca },
      { password: "Nope-nope-123" },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH" });
    expect(`${(error as Error).message} ${JSON.stringify(error)} ${logs.join("\n")}`).not.toContain(
      "Nope-nope-123",
    );
  });
});
