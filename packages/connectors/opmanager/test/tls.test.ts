/**
 * TLS towards OpManager against a real HTTPS server on loopback with a self-signed certificate
 * (made with openssl for this run), as OpManager's 8061 usually has: refused without its CA,
 * accepted with it, accepted with verification off only when configured so.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestContext } from "@runwarden/connector-testkit";
import type { MonitoringConnector } from "@runwarden/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import opmanager from "../src/index.js";
import { collect } from "./support.js";

const API_KEY = "tls-test-api-key-123";
let server: Server;
let url: string;
let cert: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rw-opm-tls-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=orion.example.com",
      "-addext",
      "subjectAltName=DNS:orion.example.com",
    ],
    { stdio: "ignore" },
  );
  cert = readFileSync(join(dir, "cert.pem"), "utf8");
  server = createServer({ key: readFileSync(join(dir, "key.pem")), cert }, (req, res) => {
    const ok = req.headers.apikey === API_KEY;
    req.resume();
    req.on("end", () => {
      res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
      res.end(JSON.stringify(ok ? [] : { error: { message: "Invalid API key" } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function create(tls: Record<string, unknown>) {
  const { ctx, logs } = createTestContext();
  const instance = opmanager.create(
    opmanager.configSchema.parse({ webhookAuth: { type: "none" }, url, apiKey: API_KEY, tls }),
    ctx,
  ) as MonitoringConnector;
  return { instance, logs };
}

const signal = () => AbortSignal.timeout(5_000);

describe("TLS to OpManager", () => {
  it("refuses a self-signed certificate it was not given, as an auth failure with reason tls", async () => {
    const { instance } = create({});
    expect(await instance.healthCheck!({ signal: signal() })).toMatchObject({ ok: false, reason: "tls" });
    await expect(collect(instance.pull!({ signal: signal() }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_AUTH",
      details: { reason: "tls" },
    });
    await instance.close?.();
  });

  it("trusts the configured CA and checks the name it is given", async () => {
    const named = create({ ca: cert, servername: "orion.example.com" });
    expect(await named.instance.healthCheck!({ signal: signal() })).toMatchObject({ ok: true });
    await named.instance.close?.();
    // The certificate is for orion.example.com, not 127.0.0.1: the name check still holds.
    const unnamed = create({ ca: cert });
    expect(await unnamed.instance.healthCheck!({ signal: signal() })).toMatchObject({
      ok: false,
      reason: "tls",
    });
    await unnamed.instance.close?.();
  });

  it("skips verification only when verify is false, and says so in the log", async () => {
    const { instance, logs } = create({ verify: false });
    expect(await instance.healthCheck!({ signal: signal() })).toMatchObject({ ok: true });
    expect(JSON.stringify(logs)).toContain("TLS verification is off");
    await instance.close?.();
  });
});
