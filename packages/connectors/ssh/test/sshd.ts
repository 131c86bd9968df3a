/**
 * Facts about the test sshd started by scripts/services/sshd.sh, read from the env file it
 * writes. With RUNWARDEN_IT=1 a missing server fails the run; otherwise the suite is skipped.
 */
import { existsSync, readFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { ResolvedConnection } from "@runwarden/core";

export interface Sshd {
  host: string;
  port: number;
  user: string;
  password: string;
  key: string;
  passphraseKeyFile: string;
  passphrase: string;
  fingerprint: string;
  knownHosts: string;
}

const envFile = `${process.env.RW_SSHD_DIR ?? "/tmp/runwarden-sshd"}/env`;

function readEnv(): Sshd | undefined {
  if (!existsSync(envFile)) return undefined;
  const env: Record<string, string> = Object.fromEntries(
    readFileSync(envFile, "utf8")
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  const get = (name: string): string => {
    const value = env[name];
    if (value === undefined) throw new Error(`${envFile} has no ${name}: re-run scripts/services/sshd.sh`);
    return value;
  };
  return {
    host: get("RW_SSH_HOST"),
    port: Number(get("RW_SSH_PORT")),
    user: get("RW_SSH_USER"),
    password: get("RW_SSH_PASSWORD"),
    key: get("RW_SSH_KEY"),
    passphraseKeyFile: get("RW_SSH_KEY_PASSPHRASE_FILE"),
    passphrase: get("RW_SSH_KEY_PASSPHRASE"),
    fingerprint: get("RW_SSH_HOST_KEY_FINGERPRINT"),
    knownHosts: get("RW_SSH_KNOWN_HOSTS"),
  };
}

async function answersBanner(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once("data", (chunk) => done(chunk.toString("latin1").startsWith("SSH-")));
    socket.once("error", () => done(false));
  });
}

const candidate = readEnv();
/** The running test sshd, or undefined when it is not there. */
export const sshd: Sshd | undefined =
  candidate && (await answersBanner(candidate.host, candidate.port)) ? candidate : undefined;
/** Skip only outside CI: with RUNWARDEN_IT=1 the suite runs and fails on the missing server. */
export const skipSshd = !sshd && process.env.RUNWARDEN_IT !== "1";

/** The sshd facts, or a clear failure (RUNWARDEN_IT=1 with no server). */
export function requireSshd(): Sshd {
  if (!sshd)
    throw new Error(
      `the test sshd is not running (no SSH banner, or no ${envFile}): run scripts/services/sshd.sh`,
    );
  return sshd;
}

let nextId = 1;
/** A connection to the test sshd; `secrets`/`fields`/`options` override the defaults. */
export function connectionTo(
  server: Sshd,
  parts: {
    secrets?: Record<string, string>;
    fields?: Record<string, unknown>;
    options?: Record<string, unknown>;
    host?: string;
    port?: number;
  } = {},
): ResolvedConnection {
  const id = nextId++;
  return {
    id,
    name: `sshd-${id}`,
    connectionType: "ssh",
    targetHost: parts.host ?? server.host,
    targetPort: parts.port ?? server.port,
    targetService: null,
    environment: "test",
    options: parts.options ?? { host_key_fingerprint: server.fingerprint },
    credential: {
      id,
      name: `cred-${id}`,
      credentialType: "ssh",
      environment: "test",
      value: {
        username: server.user,
        ...parts.fields,
        ...(parts.secrets ?? { private_key: readFileSync(server.key, "utf8") }),
      },
      secrets: parts.secrets ?? { private_key: readFileSync(server.key, "utf8") },
    },
  };
}

/** A TCP proxy in front of the sshd, to count connections and to cut them like a network would. */
export interface Proxy {
  port: number;
  /** Connections open now. */
  open(): number;
  /** Connections accepted so far. */
  total(): number;
  /** Resets every open connection (a network drop). */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startProxy(target: { host: string; port: number }): Promise<Proxy> {
  const sockets = new Set<Socket>();
  let total = 0;
  const server: Server = createServer((client) => {
    total++;
    const upstream = connect({ host: target.host, port: target.port });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    const end = () => {
      sockets.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    open: () => sockets.size,
    total: () => total,
    dropAll: () => {
      for (const socket of sockets) socket.resetAndDestroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
