import { sshConfigSchema } from "@runwarden/connector-ssh";
import { type CredentialOf, type ResolvedConnection, secret } from "@runwarden/core";
import { z } from "zod";

/** A Compute Engine resource name (RFC 1035: lowercase letter, then letters, digits, hyphens). */
export const gceName = z
  .string()
  .regex(
    /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/,
    "a Compute Engine name: lowercase letters, digits and hyphens, starting with a letter",
  );

/** A project id (6–30 characters) as GCP allows them. */
export const projectId = z
  .string()
  .regex(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/, "a GCP project id: 6 to 30 lowercase letters, digits and hyphens");

/** A zone such as `europe-west1-b`. */
export const zoneName = z.string().regex(/^[a-z]+-[a-z]+\d+-[a-z]$/, "a zone such as europe-west1-b");

const fingerprint = z
  .string()
  .regex(
    /^SHA256:[A-Za-z0-9+/]{43}=?$/,
    'a host key fingerprint looks like "SHA256:" and 43 base64 characters',
  );

const httpsOrLoopback = z
  .string()
  .url()
  .refine((value) => {
    const url = new URL(value);
    return url.protocol === "https:" || ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  }, "an https:// URL (plain http only on loopback)");

/** The connector's configuration. */
export const gcpConfigSchema = z.strictObject({
  /**
   * API endpoints, for Private Service Connect or restricted VIPs (and for tests). Defaults are
   * Google's public endpoints.
   */
  endpoints: z
    .strictObject({
      compute: httpsOrLoopback.default("https://compute.googleapis.com/compute/v1"),
      oslogin: httpsOrLoopback.default("https://oslogin.googleapis.com/v1"),
      token: httpsOrLoopback.default("https://oauth2.googleapis.com/token"),
    })
    .prefault({}),
  /** Lifetime of the SSH key imported into OS Login for a run (60 s – 1 h). Default 10 minutes. */
  keyLifetimeSeconds: z.number().int().min(60).max(3600).default(600),
  /** How long reset/stop/start waits for its operation. Default 5 minutes. */
  operationTimeoutMs: z.number().int().positive().default(300_000),
  /** Poll interval while an operation runs. Default 2 s. */
  pollIntervalMs: z.number().int().positive().default(2_000),
  /** One API request's timeout. Default 30 s. */
  requestTimeoutMs: z.number().int().positive().default(30_000),
  /** The SSH transport's settings (the ssh connector's configuration). */
  ssh: sshConfigSchema.prefault({}),
});

/** The parsed configuration. */
export type GcpConfig = z.output<typeof gcpConfigSchema>;

/**
 * Per-connection options. The instance is the connection's `target_host` unless `instance` is
 * given. SSH goes to the instance's external IP (or its internal one with `use_internal_ip`).
 */
export const gcpConnectionOptionsSchema = z.strictObject({
  project: projectId,
  zone: zoneName,
  /** The VM (defaults to the connection's target_host). */
  instance: gceName.optional(),
  /** SSH to the instance's internal IP (from inside its VPC) instead of its external one. */
  use_internal_ip: z.boolean().default(false),
  /** The instance's SSH port. Default 22. */
  ssh_port: z.number().int().min(1).max(65535).default(22),
  /** Pinned SSH host key fingerprint(s) of the VM (`gcloud compute instances get-guest-attributes`). */
  host_key_fingerprint: z.union([fingerprint, z.array(fingerprint).min(1)]).optional(),
  /** Or a known_hosts file to verify the VM's host key against. */
  known_hosts: z.string().min(1).optional(),
});

/** The connection options, parsed. */
export type GcpConnectionOptions = z.output<typeof gcpConnectionOptionsSchema>;

/** A service-account key (the JSON file IAM gives), kept in the vault. */
export const gcpServiceAccountCredential = z
  .object({
    key_json: secret(z.string().min(2)).describe("The service account's JSON key file, whole"),
  })
  .describe("A Google Cloud service-account key (JSON)");

/** Workload identity / the metadata server when Runwarden runs on GCP: no secret stored. */
export const gcpWorkloadIdentityCredential = z
  .object({
    service_account_email: z
      .string()
      .email()
      .describe("The service account the server runs as (its OS Login user)"),
  })
  .describe("Application default credentials (workload identity or the VM's service account)");

/** The credential types the GCP connector accepts. */
export const gcpCredentialTypes = {
  gcp_service_account: gcpServiceAccountCredential,
  gcp_workload_identity: gcpWorkloadIdentityCredential,
};

/** A connection as the GCP connector receives it. */
export type GcpConnection = ResolvedConnection<CredentialOf<typeof gcpCredentialTypes>>;
