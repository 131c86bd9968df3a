import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sshConnector from "@runwarden/connector-ssh";
import type { ConnectorContext, InfrastructureConnector, Logger, ResolvedConnection } from "@runwarden/core";
import { Client } from "ssh2";
import { startDurableStep } from "../durable-step.js";
import { defineRows, interleave, interleavedRow, latencyRow, median, percentile } from "../harness.js";

/** A logger that drops everything (the connector logs only at debug on this path). */
const silent = new Proxy(
  {},
  { get: (_, key) => (key === "child" ? () => silent : () => {}) },
) as unknown as Logger;

function sshdEnv(): Record<string, string> {
  const file = `${process.env.RW_SSHD_DIR ?? "/tmp/runwarden-sshd"}/env`;
  if (!existsSync(file)) throw new Error(`no ${file}: run scripts/services/sshd.sh first`);
  return Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

function rawExec(client: Client, command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, stream) => {
      if (error) return reject(error);
      stream.on("close", () => resolve());
      stream.resume();
      stream.stderr.resume();
      stream.end();
    });
  });
}

function rawConnect(env: Record<string, string>, key: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: env.RW_SSH_HOST, port: Number(env.RW_SSH_PORT) });
    sock.setNoDelay(true);
    sock.once("error", reject);
    sock.once("connect", () => {
      const client = new Client();
      client.once("ready", () => resolve(client)).once("error", reject);
      client.connect({ sock, username: env.RW_SSH_USER, privateKey: key, hostVerifier: () => true });
    });
  });
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}`))));
  });
}

async function timeEach(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(5, n); i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times;
}

/**
 * One `true` step over SSH to the loopback test sshd (scripts/services/sshd.sh), median ms per
 * step. Runwarden's step is open + exec + release on the connector's pool (TCP_NODELAY set).
 * Baselines: ssh2's raw exec on an already open connection with TCP_NODELAY (goal <= 1.2×);
 * OpenSSH reusing a ControlMaster connection (goal: faster, <= 1); a new ssh2 connection per
 * step (goal: pooled >= 10× faster, ratio <= 0.1). Last, a durable step through the executor (an
 * engine on SQLite, the connection created through its API, an approved one-step runbook `true` on
 * it; ticket → session finished, every transition persisted) against the same connector call,
 * one sample each interleaved (goal: median <= 2×, the bookkeeping costs at most one more SSH
 * round trip).
 */
export default defineRows("SSH", async ({ quick }) => {
  const env = sshdEnv();
  const key = readFileSync(env.RW_SSH_KEY!, "utf8");
  const n = quick ? 100 : 400;
  const connection: ResolvedConnection = {
    id: 1,
    name: "bench-sshd",
    connectionType: "ssh",
    targetHost: env.RW_SSH_HOST!,
    targetPort: Number(env.RW_SSH_PORT),
    targetService: null,
    environment: "bench",
    options: { host_key_fingerprint: env.RW_SSH_HOST_KEY_FINGERPRINT },
    credential: {
      id: 1,
      name: "bench",
      credentialType: "ssh",
      environment: "bench",
      value: { username: env.RW_SSH_USER, private_key: key },
      secrets: { private_key: key },
    },
  };
  const ctx: ConnectorContext = {
    logger: silent,
    signal: new AbortController().signal,
    now: () => new Date(),
  };
  const instance = (await sshConnector.create(
    sshConnector.configSchema.parse({}),
    ctx,
  )) as InfrastructureConnector;
  const raw = await rawConnect(env, key);
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-ssh-"));
  const control = join(dir, "cm");
  const sshArgs = [
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${env.RW_SSH_KNOWN_HOSTS}`,
    "-o",
    "ControlMaster=auto",
    "-o",
    `ControlPath=${control}`,
    "-o",
    "ControlPersist=60",
    "-i",
    env.RW_SSH_KEY!,
    "-p",
    env.RW_SSH_PORT!,
    `${env.RW_SSH_USER}@${env.RW_SSH_HOST}`,
  ];
  try {
    const step = async () => {
      const handle = await instance.open(connection, { signal: ctx.signal });
      try {
        await handle.exec({ command: "true", language: "sh", readOnly: false, signal: ctx.signal });
      } finally {
        await handle.release();
      }
    };
    // Alternate the two in-process measurements call by call, so load from other processes on
    // a shared machine hits both alike.
    const pooled: number[] = [];
    const rawTimes: number[] = [];
    const rawStep = () => rawExec(raw, "true");
    await timeEach(10, step);
    for (let i = 0; i < n; i++) {
      for (const fn of i % 2 === 0 ? [step, rawStep] : [rawStep, step]) {
        const start = performance.now();
        await fn();
        (fn === step ? pooled : rawTimes).push(performance.now() - start);
      }
    }
    const master = await timeEach(quick ? 30 : 100, () => run("ssh", [...sshArgs, "true"]));
    const fresh = await timeEach(quick ? 15 : 40, async () => {
      const client = await rawConnect(env, key);
      await rawExec(client, "true");
      client.end();
    });
    // Through the executor, against the bare connector call, one sample each in turn.
    const durableSamples = quick ? 60 : 300;
    const durable = await startDurableStep({
      connector: sshConnector,
      credential: {
        name: "bench-ssh",
        credentialType: "ssh",
        username: env.RW_SSH_USER,
        private_key: key,
      } as Parameters<typeof startDurableStep>[0]["credential"],
      connection: {
        connectionType: "ssh",
        targetHost: env.RW_SSH_HOST!,
        targetPort: Number(env.RW_SSH_PORT),
        options: { host_key_fingerprint: env.RW_SSH_HOST_KEY_FINGERPRINT },
      },
      step: "`true`",
      sessions: durableSamples + 10,
    });
    let viaExecutor: Awaited<ReturnType<typeof interleave>>;
    try {
      viaExecutor = await interleave(
        () => durable.run(),
        async () => {
          const start = performance.now();
          await step();
          return performance.now() - start;
        },
        { rounds: durableSamples, warmup: 10 },
      );
    } finally {
      await durable.close();
    }
    const p = median(pooled);
    const note = `pooled p99 ${percentile(pooled, 99).toFixed(2)} ms, n=${pooled.length}`;
    return [
      latencyRow(
        "SSH step: pooled vs ssh2 raw exec (open conn, nodelay)",
        "ms/step",
        p,
        median(rawTimes),
        1.2,
        note,
      ),
      latencyRow(
        "SSH step: pooled vs OpenSSH ControlMaster reuse",
        "ms/step",
        p,
        median(master),
        1,
        `ssh -o ControlMaster=auto, n=${master.length}`,
      ),
      latencyRow(
        "SSH step: pooled vs new connection per step",
        "ms/step",
        p,
        median(fresh),
        0.1,
        `goal: pooled >= 10x faster, n=${fresh.length}`,
      ),
      interleavedRow(
        "latency",
        "SSH durable step via executor (SQLite) vs connector call",
        "ms/step",
        viaExecutor,
        2,
        {
          note: `ticket → session finished, 1 in flight; p99 ${percentile(viaExecutor.ours, 99).toFixed(2)} vs ${percentile(viaExecutor.baseline, 99).toFixed(2)} ms`,
        },
      ),
    ];
  } finally {
    raw.end();
    await instance.close?.();
    await run("ssh", ["-o", `ControlPath=${control}`, "-O", "exit", "x"]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
