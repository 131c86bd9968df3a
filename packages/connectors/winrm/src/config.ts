import { type CredentialOf, type ResolvedConnection, secret } from "@runwarden/core";
import { z } from "zod";

/** The connector's configuration: timeouts, limits and the shell pool, shared by every connection. */
export const winrmConfigSchema = z.strictObject({
  /** WS-Man OperationTimeout: how long the server holds a Receive open waiting for output. Default 20 s. */
  operationTimeoutSec: z.number().int().min(1).max(600).default(20),
  /** TCP connect plus TLS handshake. Default 10 s. */
  connectTimeoutMs: z.number().int().positive().default(10_000),
  /** A command's timeout when the step sets none. Default 5 minutes. */
  commandTimeoutMs: z.number().int().positive().default(300_000),
  /** stdout and stderr are each kept up to this many bytes; the rest is dropped. Default 1 MiB. */
  maxOutputBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** w:MaxEnvelopeSize sent with every request (Windows' default limit is 500 KB). Default 153600. */
  maxEnvelopeSize: z
    .number()
    .int()
    .min(8192)
    .max(4 * 1024 * 1024)
    .default(153_600),
  pool: z
    .strictObject({
      /** Shells kept open per target and credential; each runs one command at a time. Default 4. */
      maxShellsPerTarget: z.number().int().min(1).max(32).default(4),
      /** A shell unused for this long is deleted on the server. Default 60 s. */
      idleTimeoutMs: z.number().int().positive().default(60_000),
      /**
       * A shell idle for longer than this gets a new, freshly authenticated connection before its
       * next step, so a Command is never sent on a socket the server or a proxy may have closed
       * (a Command lost that way cannot safely be sent again). Default 30 s.
       */
      healthCheckAfterMs: z.number().int().nonnegative().default(30_000),
    })
    .prefault({}),
});

/** The parsed configuration. */
export type WinrmConfig = z.output<typeof winrmConfigSchema>;

/**
 * Per-connection options (the connection's `options`, snake_case as the REST API takes them).
 * HTTPS (5986) by default; plain HTTP (5985) only with NTLM, whose session security then encrypts
 * every message. Basic authentication only over HTTPS.
 */
export const winrmConnectionOptionsSchema = z
  .object({
    /** `https` (default, port 5986) or `http` (port 5985, NTLM-sealed messages). */
    transport: z.enum(["https", "http"]).default("https"),
    /** `ntlm` (default) or `basic` (local accounts, HTTPS only). Kerberos is not supported. */
    auth: z.enum(["ntlm", "basic"]).default("ntlm"),
    /** PEM CA certificate(s) that sign the listener's certificate, instead of the system store. */
    ca: z.string().min(1).optional(),
    /** Verify the listener's TLS certificate (default true). Turning it off is logged as a warning. */
    tls_verify: z.boolean().default(true),
    /** The name to verify the certificate against, when it differs from the target host. */
    tls_server_name: z.string().min(1).optional(),
    /** The listener's URL path. Default `/wsman`. */
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]*$/, "a URL path such as /wsman")
      .default("/wsman"),
    /** WINRS_CODEPAGE: 65001 (UTF-8, default) or another Windows code page. */
    codepage: z.number().int().positive().default(65001),
  })
  .refine((o) => !(o.auth === "basic" && o.transport === "http"), {
    message: "Basic authentication sends the password in clear: use transport https, or auth ntlm",
    path: ["auth"],
  });

/** The connection options, parsed. */
export type WinrmConnectionOptions = z.output<typeof winrmConnectionOptionsSchema>;

/** The `winrm` credential: a Windows account (local, or a domain one with `domain` or `DOMAIN\\user`). */
export const winrmCredential = z
  .object({
    username: z.string().min(1).describe("The account: user, DOMAIN\\user or user@domain"),
    password: secret(z.string().min(1)).describe("The account's password"),
    domain: z.string().min(1).optional().describe("The NetBIOS domain, when not part of the username"),
  })
  .describe("A Windows account for WinRM (NTLM or Basic)");

/** The credential types the WinRM connector accepts. */
export const winrmCredentialTypes = { winrm: winrmCredential };

/** A connection as the WinRM connector receives it, its credential typed. */
export type WinrmConnection = ResolvedConnection<CredentialOf<typeof winrmCredentialTypes>>;
