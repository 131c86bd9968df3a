import { type CredentialOf, type ResolvedConnection, secret } from "@runwarden/core";
import { z } from "zod";

/** The connector's configuration: timeouts and limits shared by every connection. */
export const kubernetesConfigSchema = z.strictObject({
  /** One API request (a patch, a read, a list) when the step sets no timeout. Default 30 s. */
  requestTimeoutMs: z.number().int().positive().default(30_000),
  /** An `exec` step's timeout when the step sets none. Default 5 minutes. */
  execTimeoutMs: z.number().int().positive().default(300_000),
  /** `rollout-status` and `drain` wait at most this long when the step sets no `timeout`. Default 5 minutes. */
  waitTimeoutMs: z.number().int().positive().default(300_000),
  /** How often `rollout-status` and `drain` poll the API server. Default 1 s. */
  pollIntervalMs: z.number().int().positive().default(1_000),
  /** stdout and stderr of an exec are each kept up to this many bytes; the rest is dropped. Default 1 MiB. */
  maxOutputBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** `logs` reads at most this many lines, whatever the step asks. Default 5,000. */
  maxLogLines: z.number().int().positive().default(5_000),
});

/** The parsed configuration. */
export type KubernetesConfig = z.output<typeof kubernetesConfigSchema>;

/** An RFC 1123 label (namespace, container names): lower-case alphanumerics and `-`, at most 63. */
export const rfc1123Label = z
  .string()
  .max(63)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    "must be an RFC 1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit",
  );

/** An RFC 1123 subdomain (pod, deployment and node names): labels joined by `.`, at most 253. */
export const rfc1123Name = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    "must be an RFC 1123 name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
  );

/** The step actions (`action:` in a k8s step). */
export const kubernetesActions = [
  "exec",
  "rollout-restart",
  "scale",
  "delete-pod",
  "cordon",
  "uncordon",
  "drain",
  "logs",
  "status",
  "rollout-status",
] as const;

/** A step action. */
export type KubernetesAction = (typeof kubernetesActions)[number];

/**
 * Per-connection options (the connection's `options`, snake_case as the REST API takes them).
 * The API server is `server`, else `<scheme>://<target_host>[:<target_port>]`, else the
 * kubeconfig's cluster, else (with `in_cluster`) the pod's service account.
 */
export const kubernetesConnectionOptionsSchema = z.object({
  /** The API server URL, e.g. `https://10.0.0.1:6443`. */
  server: z.url({ protocol: /^https?$/ }).optional(),
  /** Scheme for a server built from target_host/target_port. Default https. */
  scheme: z.enum(["https", "http"]).default("https"),
  /** The namespace steps use when they name none. Default: the kubeconfig context's, else `default`. */
  namespace: rfc1123Label.optional(),
  /** The kubeconfig context to use (with a `kubeconfig` credential). Default: its current-context. */
  context: z.string().min(1).optional(),
  /** Use the pod's service account (token and CA under /var/run/secrets/kubernetes.io/serviceaccount). */
  in_cluster: z.boolean().default(false),
  /** PEM CA bundle the API server's certificate must chain to (token and client-cert credentials). */
  ca_data: z.string().min(1).optional(),
  /** Verify the API server's TLS certificate. Default true. */
  tls_verify: z.boolean().default(true),
  /** The TLS server name to verify when it differs from the host. */
  tls_server_name: z.string().min(1).optional(),
  /**
   * The actions this connection's steps use: the health check asks the API server
   * (SelfSubjectAccessReview) whether the credential may do each of them. Default: all.
   */
  actions: z.array(z.enum(kubernetesActions)).min(1).optional(),
});

/** The connection options, parsed. */
export type KubernetesConnectionOptions = z.output<typeof kubernetesConnectionOptionsSchema>;

/**
 * The credential types the Kubernetes connector accepts: a bearer token (a service account's),
 * a client certificate and key, or a whole kubeconfig kept in the vault. A connection with
 * `in_cluster: true` needs none.
 */
export const kubernetesCredentialTypes = {
  k8s_token: z
    .object({
      token: secret(z.string().min(1)).describe("A bearer token, e.g. a ServiceAccount token"),
    })
    .describe("A Kubernetes bearer token"),
  k8s_client_cert: z
    .object({
      client_certificate: z.string().min(1).describe("The client certificate, PEM"),
      client_key: secret(z.string().min(1)).describe("The client certificate's private key, PEM"),
    })
    .describe("A Kubernetes client certificate and key"),
  kubeconfig: z
    .object({
      kubeconfig: secret(z.string().min(1)).describe(
        "A kubeconfig file's YAML (token or client-cert users; exec plugins are refused)",
      ),
    })
    .describe("A kubeconfig, kept whole in the vault"),
};

/** A connection as the Kubernetes connector receives it, its credential typed. */
export type KubernetesConnection = ResolvedConnection<CredentialOf<typeof kubernetesCredentialTypes>>;
