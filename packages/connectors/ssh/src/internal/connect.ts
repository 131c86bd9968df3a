/**
 * Opening one SSH connection: TCP (TCP_NODELAY on), optional bastion hop, host key check,
 * authentication from the resolved credential.
 */
import { createHash } from "node:crypto";
import { type Socket, connect as tcpConnect } from "node:net";
import type { Duplex } from "node:stream";
import { parseConnectionOptions } from "@runwarden/connector-kit";
import { type Logger, rwError } from "@runwarden/core";
import { Client, type ConnectConfig } from "ssh2";
import type { SshConfig, SshConnection } from "../config.js";
import { sshConnectionOptionsSchema } from "../config.js";
import { abortError, connectError, hostKeyError, type Target } from "./errors.js";
import {
  type HostKeyPolicy,
  knownHostName,
  readKnownHosts,
  type Verdict,
  verifyHostKey,
} from "./host-keys.js";

interface Auth {
  privateKey?: string;
  passphrase?: string;
  password?: string;
  agent?: string;
}

/** One hop (the target, or the bastion in front of it). */
export interface Hop extends Target {
  username: string;
  auth: Auth;
  fingerprints: string[];
  knownHostsFile: string | undefined;
}

/** Everything needed to open a connection to one target with one credential. */
export interface Settings {
  target: Hop;
  jump: Hop | undefined;
  /** Pool key: target, hops, host key policy and a digest of the credential. */
  key: string;
  /** `user@host:port`, for logs and descriptions. */
  label: string;
}

function authFrom(connection: SshConnection): Auth {
  const credential = connection.credential;
  const value = credential?.value ?? {};
  const auth: Auth = {};
  if (value.private_key) {
    auth.privateKey = value.private_key;
    if (value.passphrase) auth.passphrase = value.passphrase;
  }
  if (value.password) auth.password = value.password;
  // Only a socket the credential names: the server's own SSH_AUTH_SOCK is never used.
  if (value.agent_socket) auth.agent = value.agent_socket;
  if (!auth.privateKey && !auth.password && !auth.agent) {
    throw rwError(
      "RW_ERR_CONNECTOR_AUTH",
      "the SSH credential has no private_key, password or agent_socket",
      {
        details: { reason: "auth", credential: credential?.name ?? null },
      },
    );
  }
  return auth;
}

const asList = (value: string | string[] | undefined): string[] =>
  (value === undefined ? [] : Array.isArray(value) ? value : [value]).map((fp) => fp.replace(/=+$/, ""));

/** Reads the connection's options and credential; throws RW_ERR_CONFIG-free connector errors. */
export function resolveSettings(connection: SshConnection, config: SshConfig): Settings {
  const options = parseConnectionOptions(sshConnectionOptionsSchema, connection, "SSH");
  if (!connection.targetHost) {
    throw rwError("RW_ERR_CONNECTOR_REJECTED", `connection ${connection.name} has no target_host`, {
      details: { connection: connection.name },
    });
  }
  const username = options.username ?? connection.credential?.value.username;
  if (!username) {
    throw rwError(
      "RW_ERR_CONNECTOR_AUTH",
      `connection ${connection.name} has no username (credential field username)`,
      {
        details: { reason: "auth" },
      },
    );
  }
  const auth = authFrom(connection);
  const target: Hop = {
    host: connection.targetHost,
    port: connection.targetPort ?? 22,
    username,
    auth,
    fingerprints: asList(options.host_key_fingerprint),
    knownHostsFile: options.known_hosts ?? config.knownHostsFile,
  };
  const jump: Hop | undefined = options.jump_host && {
    host: options.jump_host.host,
    port: options.jump_host.port,
    username: options.jump_host.username ?? username,
    auth,
    fingerprints: asList(options.jump_host.host_key_fingerprint),
    knownHostsFile: options.jump_host.known_hosts ?? config.knownHostsFile,
  };
  const digest = createHash("sha256");
  digest.update(JSON.stringify([connection.credential?.id ?? null, connection.credential?.value ?? {}]));
  const shape = (hop: Hop) => [
    hop.host,
    hop.port,
    hop.username,
    hop.fingerprints,
    hop.knownHostsFile ?? null,
  ];
  digest.update(JSON.stringify([shape(target), jump ? shape(jump) : null]));
  return {
    target,
    jump,
    key: digest.digest("base64url"),
    label: `${username}@${target.host}:${target.port}`,
  };
}

function openSocket(target: Target, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError("SSH connect", signal.reason));
    const socket = tcpConnect({ host: target.host, port: target.port });
    socket.setNoDelay(true); // Nagle + delayed ACK cost ~40 ms per exec otherwise.
    const onAbort = () => {
      socket.destroy();
      reject(abortError("SSH connect", signal.reason));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      signal.removeEventListener("abort", onAbort);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(connectError(error, target));
    });
  });
}

async function loadKnownHosts(path: string) {
  try {
    return await readKnownHosts(path);
  } catch (error) {
    throw rwError("RW_ERR_CONNECTOR_REJECTED", `cannot read the known_hosts file ${path}`, {
      cause: error,
      details: { reason: "host key", knownHosts: path },
    });
  }
}

async function handshake(
  sock: Duplex,
  hop: Hop,
  signal: AbortSignal,
  config: SshConfig,
  logger: Logger,
): Promise<Client> {
  const policy: HostKeyPolicy = {
    fingerprints: hop.fingerprints,
    knownHosts:
      hop.fingerprints.length === 0 && hop.knownHostsFile
        ? await loadKnownHosts(hop.knownHostsFile)
        : undefined,
    hostPattern: knownHostName(hop.host, hop.port),
  };
  const client = new Client();
  let verdict: Verdict | undefined;
  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (error === undefined) return resolve(client);
      client.destroy();
      sock.destroy();
      reject(error);
    };
    const onAbort = () => finish(abortError("SSH handshake", signal.reason));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    client.once("ready", () => finish());
    client.on("error", (error) => {
      if (!settled) {
        finish(verdict && !verdict.ok ? hostKeyError(hop, verdict, error) : connectError(error, hop));
      } else {
        logger.debug(
          { err: { message: error.message, level: (error as { level?: string }).level }, host: hop.host },
          "ssh connection error",
        );
      }
    });
    client.once("close", () =>
      finish(connectError(Object.assign(new Error("connection closed"), { code: "ECONNRESET" }), hop)),
    );
    const connectConfig: ConnectConfig = {
      sock: sock as ConnectConfig["sock"],
      username: hop.username,
      ...hop.auth,
      hostVerifier: (key: Buffer) => {
        verdict = verifyHostKey(policy, key);
        return verdict.ok;
      },
      readyTimeout: 0,
      keepaliveInterval: config.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      tryKeyboard: false,
    };
    try {
      client.connect(connectConfig);
    } catch (error) {
      finish(connectError(error, hop));
    }
  });
}

function forward(jump: Client, target: Target): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    jump.forwardOut("127.0.0.1", 0, target.host, target.port, (error, stream) => {
      if (error) {
        reject(
          rwError(
            "RW_ERR_CONNECTOR_UNREACHABLE",
            `the bastion could not reach ${target.host}:${target.port}`,
            {
              cause: error,
              details: { reason: "unreachable", host: target.host, port: target.port, via: "jump_host" },
            },
          ),
        );
      } else resolve(stream);
    });
  });
}

/**
 * Opens and authenticates one connection, through the bastion when one is set. Fails with a
 * connector code; `details.reason` says why (DNS, refused, auth, host key, timeout…).
 */
export async function openClient(
  settings: Settings,
  config: SshConfig,
  signal: AbortSignal,
  logger: Logger,
): Promise<Client> {
  const timeout = AbortSignal.timeout(config.connectTimeoutMs);
  const combined = AbortSignal.any([signal, timeout]);
  try {
    let jumpClient: Client | undefined;
    let sock: Duplex;
    if (settings.jump) {
      jumpClient = await handshake(
        await openSocket(settings.jump, combined),
        settings.jump,
        combined,
        config,
        logger,
      );
      try {
        sock = await forward(jumpClient, settings.target);
      } catch (error) {
        jumpClient.end();
        throw error;
      }
    } else {
      sock = await openSocket(settings.target, combined);
    }
    try {
      const client = await handshake(sock, settings.target, combined, config, logger);
      if (jumpClient) {
        const bastion = jumpClient;
        client.once("close", () => bastion.end());
      }
      return client;
    } catch (error) {
      jumpClient?.end();
      throw error;
    }
  } catch (error) {
    if (timeout.aborted && !signal.aborted) {
      const hop = settings.target;
      throw rwError(
        "RW_ERR_CONNECTOR_TIMEOUT",
        `SSH connection to ${hop.host}:${hop.port} timed out after ${config.connectTimeoutMs} ms`,
        {
          cause: error,
          details: { reason: "timeout", host: hop.host, port: hop.port },
        },
      );
    }
    throw error;
  }
}
