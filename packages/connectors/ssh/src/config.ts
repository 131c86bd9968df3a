import { type CredentialOf, type ResolvedConnection, secret } from "@runwarden/core";
import { z } from "zod";

const fingerprint = z
  .string()
  .regex(
    /^SHA256:[A-Za-z0-9+/]{43}=?$/,
    'a host key fingerprint looks like "SHA256:" and 43 base64 characters',
  );

/** The connector's configuration: pool sizes, timeouts and limits shared by every connection. */
export const sshConfigSchema = z.strictObject({
  /** TCP connect plus SSH handshake and authentication. Default 10 s. */
  connectTimeoutMs: z.number().int().positive().default(10_000),
  /** SSH keepalive on pooled connections (0 turns it off). Default 15 s; 3 missed ones drop it. */
  keepaliveIntervalMs: z.number().int().nonnegative().default(15_000),
  /** A command's timeout when the step sets none. Default 5 minutes. */
  commandTimeoutMs: z.number().int().positive().default(300_000),
  /** After TERM, how long a timed-out command gets before KILL and channel close. Default 2 s. */
  killGraceMs: z.number().int().nonnegative().default(2_000),
  /** stdout and stderr are each kept up to this many bytes; the rest is dropped. Default 1 MiB. */
  maxOutputBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** known_hosts file for connections that pin neither a fingerprint nor a file of their own. */
  knownHostsFile: z.string().min(1).optional(),
  pool: z
    .strictObject({
      /** Connections kept per target and credential. Default 4. */
      maxConnectionsPerTarget: z.number().int().min(1).max(64).default(4),
      /** Channels (commands) at once on one connection; keep below sshd's MaxSessions (10). Default 8. */
      maxChannelsPerConnection: z.number().int().min(1).max(64).default(8),
      /** A connection with no channel for this long is closed. Default 60 s. */
      idleTimeoutMs: z.number().int().positive().default(60_000),
    })
    .prefault({}),
});

/** The parsed configuration. */
export type SshConfig = z.output<typeof sshConfigSchema>;

const hostKeyOptions = {
  /** Pinned host key fingerprint(s), as `ssh-keygen -l -E sha256` prints them. */
  host_key_fingerprint: z.union([fingerprint, z.array(fingerprint).min(1)]).optional(),
  /** A known_hosts file to verify the host key against. */
  known_hosts: z.string().min(1).optional(),
};

/**
 * Per-connection options (the connection's `options`, snake_case as the REST API takes them).
 * Without a pinned fingerprint or a known_hosts file the host is unknown and refused.
 */
export const sshConnectionOptionsSchema = z.object({
  ...hostKeyOptions,
  /** Overrides the credential's `username`. */
  username: z.string().min(1).optional(),
  /** Reach the target through this bastion (same credential unless `username` is given). */
  jump_host: z
    .object({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(22),
      username: z.string().min(1).optional(),
      ...hostKeyOptions,
    })
    .optional(),
});

/** The connection options, parsed. */
export type SshConnectionOptions = z.output<typeof sshConnectionOptionsSchema>;

/**
 * The `ssh` credential: a user with a private key (and its passphrase), a password, or an
 * ssh-agent socket named explicitly. The server's own `SSH_AUTH_SOCK` is never used.
 */
export const sshCredential = z
  .object({
    username: z
      .string()
      .min(1)
      .optional()
      .describe("The login user (a connection's options.username overrides it)"),
    private_key: secret(z.string().min(1)).optional().describe("An OpenSSH or PEM private key"),
    passphrase: secret(z.string().min(1)).optional().describe("The private key's passphrase"),
    password: secret(z.string().min(1)).optional().describe("The user's password"),
    agent_socket: z
      .string()
      .min(1)
      .optional()
      .describe("Path of an ssh-agent socket to authenticate with (off unless given)"),
  })
  .describe("An SSH login: private key, password or an explicit agent socket");

/** The credential types the SSH connector accepts. */
export const sshCredentialTypes = { ssh: sshCredential };

/** A connection as the SSH connector receives it, its credential typed. */
export type SshConnection = ResolvedConnection<CredentialOf<typeof sshCredentialTypes>>;
