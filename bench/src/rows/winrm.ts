import winrmConnector from "@runwarden/connector-winrm";
import type { ConnectorContext, InfrastructureConnector, Logger, ResolvedConnection } from "@runwarden/core";
// The fake WS-Management listener of the connector's tests: NTLM per connection, sealed messages,
// each command really run under sh. No WinRM server runs on Linux.
import { startFakeWsman } from "../../../packages/connectors/winrm/test/fake-wsman.js";
import { defineRows, latencyRow, median, percentile } from "../harness.js";

/** A logger that drops everything (the connector logs only at debug on this path). */
const silent = new Proxy(
  {},
  { get: (_, key) => (key === "child" ? () => silent : () => {}) },
) as unknown as Logger;

/**
 * One `true` PowerShell step over WinRM (NTLM, sealed HTTP) to the fake listener on loopback,
 * median ms per step. Runwarden's step is open + exec + release on the connector's shell pool:
 * Command, Receive, Signal on an authenticated channel. Baseline: a new shell per step, as
 * pywinrm's `Session.run_cmd` does it (a new authenticated channel, Create, Command, Receive,
 * Signal, Delete). Both pay for the command itself (a real `sh` spawned by the fake), which
 * dominates on loopback; pooling saves four of seven round trips, the TCP connect and the NTLM
 * handshake. Goal: ratio <= 0.7.
 */
export default defineRows("WinRM", async ({ quick }) => {
  const user = { username: "bench", password: "bench-winrm-password", domain: "BENCH" };
  const fake = await startFakeWsman({ auth: "ntlm", user });
  const n = quick ? 60 : 300;
  const connection: ResolvedConnection = {
    id: 1,
    name: "bench-winrm",
    connectionType: "winrm",
    targetHost: "127.0.0.1",
    targetPort: fake.port,
    targetService: null,
    environment: "bench",
    options: { transport: "http" },
    credential: {
      id: 1,
      name: "bench",
      credentialType: "winrm",
      environment: "bench",
      value: user,
      secrets: { password: user.password },
    },
  };
  const ctx: ConnectorContext = {
    logger: silent,
    signal: new AbortController().signal,
    now: () => new Date(),
  };
  const config = winrmConnector.configSchema.parse({});
  const pool = (await winrmConnector.create(config, ctx)) as InfrastructureConnector;
  const request = { command: "true", language: "powershell", readOnly: false, signal: ctx.signal };
  try {
    const pooledStep = async () => {
      const handle = await pool.open(connection, { signal: ctx.signal });
      try {
        await handle.exec(request);
      } finally {
        await handle.release();
      }
    };
    const freshStep = async () => {
      const instance = (await winrmConnector.create(config, ctx)) as InfrastructureConnector;
      try {
        const handle = await instance.open(connection, { signal: ctx.signal });
        await handle.exec(request);
        await handle.release();
      } finally {
        await instance.close?.();
      }
    };
    for (let i = 0; i < 5; i++) {
      await pooledStep();
      await freshStep();
    }
    // Alternate the two call by call, so load from other processes hits both alike.
    const pooled: number[] = [];
    const fresh: number[] = [];
    for (let i = 0; i < n; i++) {
      for (const fn of i % 2 === 0 ? [pooledStep, freshStep] : [freshStep, pooledStep]) {
        const start = performance.now();
        await fn();
        (fn === pooledStep ? pooled : fresh).push(performance.now() - start);
      }
    }
    return [
      latencyRow(
        "WinRM step: pooled shell vs new shell per step (NTLM-sealed HTTP, fake listener)",
        "ms/step",
        median(pooled),
        median(fresh),
        0.7,
        `pooled p99 ${percentile(pooled, 99).toFixed(2)} ms; the command runs under sh in both; n=${pooled.length}`,
      ),
    ];
  } finally {
    await pool.close?.();
    await fake.close();
  }
});
