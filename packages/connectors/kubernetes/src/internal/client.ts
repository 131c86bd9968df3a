/**
 * Builds the client's KubeConfig for a connection: from its typed credential (token, client
 * certificate, or a kubeconfig kept in the vault), its options (server, namespace, context, CA)
 * or the pod's service account. Kubeconfig users that would run a program or read a file on the
 * engine's host (exec plugins, auth providers, token/cert/key files) are refused.
 */
import {
  AppsV1Api,
  AuthorizationV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  KubeConfig,
  Observable,
  type RequestContext,
  type ResponseContext,
  VersionApi,
} from "@kubernetes/client-node";
import { parseConnectionOptions } from "@runwarden/connector-kit";
import { rwError } from "@runwarden/core";
import {
  type KubernetesConnection,
  type KubernetesConnectionOptions,
  kubernetesConnectionOptionsSchema,
} from "../config.js";

/** What the connector keeps for an open connection. */
export interface Cluster {
  kc: KubeConfig;
  server: string;
  namespace: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  authz: AuthorizationV1Api;
  version: VersionApi;
  /** How the connection authenticates, for descriptions: "bearer token", "client certificate", … */
  authKind: string;
}

function rejected(connection: Pick<KubernetesConnection, "name">, message: string): never {
  throw rwError("RW_ERR_CONNECTOR_REJECTED", `connection ${connection.name}: ${message}`, {
    details: { reason: "connection" },
  });
}

function b64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

/** The server URL from the options or the connection's target host and port. */
export function serverOf(
  connection: KubernetesConnection,
  options: KubernetesConnectionOptions,
): string | undefined {
  if (options.server) return options.server.replace(/\/+$/, "");
  if (!connection.targetHost) return undefined;
  const host =
    connection.targetHost.includes(":") && !connection.targetHost.startsWith("[")
      ? `[${connection.targetHost}]`
      : connection.targetHost;
  return `${options.scheme}://${host}${connection.targetPort ? `:${connection.targetPort}` : ""}`;
}

/** Parses the options and builds the KubeConfig; throws RW_ERR_CONNECTOR_REJECTED or _AUTH. */
export function buildKubeConfig(connection: KubernetesConnection): {
  kc: KubeConfig;
  options: KubernetesConnectionOptions;
  namespace: string;
  authKind: string;
} {
  const options = parseConnectionOptions(kubernetesConnectionOptionsSchema, connection, "Kubernetes");
  const kc = new KubeConfig();
  const credential = connection.credential;
  const server = serverOf(connection, options);
  let namespace = options.namespace;
  let authKind: string;

  if (credential?.credentialType === "kubeconfig") {
    try {
      kc.loadFromString(credential.value.kubeconfig);
    } catch {
      // The YAML's text is a secret: never quote it.
      throw rwError("RW_ERR_CONNECTOR_AUTH", `connection ${connection.name}: the kubeconfig does not parse`, {
        details: { reason: "kubeconfig" },
      });
    }
    if (options.context) {
      if (!kc.getContextObject(options.context))
        rejected(connection, `the kubeconfig has no context named ${JSON.stringify(options.context)}`);
      kc.setCurrentContext(options.context);
    }
    const context = kc.getContextObject(kc.getCurrentContext());
    if (!context) rejected(connection, "the kubeconfig has no current context: set options.context");
    const user = kc.getCurrentUser();
    if (user?.exec || user?.authProvider)
      rejected(
        connection,
        "the kubeconfig's user runs an exec plugin or auth provider, which would run a program on the engine's host: use a token or client certificate",
      );
    if (user?.certFile || user?.keyFile || (user as { tokenFile?: string } | null)?.["tokenFile"])
      rejected(connection, "the kubeconfig's user reads files from the engine's host: inline the data");
    namespace ??= context.namespace;
    authKind = user?.token
      ? "kubeconfig token"
      : user?.certData
        ? "kubeconfig client certificate"
        : "kubeconfig";
    if (server) {
      const cluster = kc.getCurrentCluster();
      if (cluster) (cluster as { server: string }).server = server;
    }
  } else if (options.in_cluster && !credential) {
    try {
      kc.loadFromCluster();
    } catch (error) {
      throw rwError(
        "RW_ERR_CONNECTOR_AUTH",
        `connection ${connection.name}: no in-cluster service account here`,
        {
          cause: error,
          details: { reason: "in-cluster" },
        },
      );
    }
    if (!kc.getCurrentCluster()?.server || kc.getCurrentCluster()?.server === "https://undefined:undefined")
      rejected(connection, "KUBERNETES_SERVICE_HOST is not set: in_cluster works only inside a pod");
    authKind = "in-cluster service account";
  } else {
    if (!server) rejected(connection, "no API server: set target_host (and target_port) or options.server");
    const user: Record<string, unknown> = { name: "runwarden" };
    if (credential?.credentialType === "k8s_token") {
      user.token = credential.value.token;
      authKind = "bearer token";
    } else if (credential?.credentialType === "k8s_client_cert") {
      user.certData = b64(credential.value.client_certificate);
      user.keyData = b64(credential.value.client_key);
      authKind = "client certificate";
    } else if (!credential) {
      authKind = "no credential";
    } else {
      throw rwError("RW_ERR_CONNECTOR_AUTH", `connection ${connection.name}: unsupported credential type`, {
        details: { reason: "credential-type" },
      });
    }
    kc.loadFromOptions({
      clusters: [
        {
          name: "cluster",
          server,
          skipTLSVerify: !options.tls_verify,
          ...(options.ca_data ? { caData: b64(options.ca_data) } : {}),
          ...(options.tls_server_name ? { tlsServerName: options.tls_server_name } : {}),
        },
      ],
      users: [user],
      contexts: [{ name: "runwarden", cluster: "cluster", user: "runwarden" }],
      currentContext: "runwarden",
    });
  }
  const cluster = kc.getCurrentCluster();
  // Plain http has no TLS to verify; the client refuses http unless verification is off.
  if (cluster && (!options.tls_verify || cluster.server.startsWith("http://")))
    (cluster as { skipTLSVerify: boolean }).skipTLSVerify = true;
  return { kc, options, namespace: namespace ?? "default", authKind };
}

/** Opens the API clients of a connection (no I/O). */
export function openCluster(connection: KubernetesConnection): Cluster {
  const { kc, namespace, authKind } = buildKubeConfig(connection);
  const server = kc.getCurrentCluster()?.server;
  if (!server) rejected(connection, "the kubeconfig's context names no cluster server");
  return {
    kc,
    server,
    namespace,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    authz: kc.makeApiClient(AuthorizationV1Api),
    version: kc.makeApiClient(VersionApi),
    authKind,
  };
}

/** Per-call options: the call's signal on the request, and optionally a Content-Type. */
export function callOptions(signal: AbortSignal, contentType?: string): ConfigurationOptions {
  return {
    middleware: [
      {
        pre(request: RequestContext) {
          request.setSignal(signal);
          if (contentType) request.setHeaderParam("Content-Type", contentType);
          return new Observable(Promise.resolve(request));
        },
        post(response: ResponseContext) {
          return new Observable(Promise.resolve(response));
        },
      },
    ],
    middlewareMergeStrategy: "append",
  };
}
