/**
 * The health check: the API server answers `GET /version`, and a SelfSubjectAccessReview per
 * permission the connection's actions need says the credential holds it (in the connection's
 * namespace; nodes are cluster-scoped).
 */
import { parseConnectionOptions } from "@runwarden/connector-kit";
import {
  type KubernetesAction,
  type KubernetesConnection,
  kubernetesActions,
  kubernetesConnectionOptionsSchema,
} from "../config.js";
import { type Cluster, callOptions } from "./client.js";
import { apiError } from "./errors.js";

interface Permission {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespaced: boolean;
}

const pods = (verb: string, subresource?: string): Permission => ({
  verb,
  group: "",
  resource: "pods",
  namespaced: true,
  ...(subresource ? { subresource } : {}),
});
const apps = (verb: string, resource: string, subresource?: string): Permission => ({
  verb,
  group: "apps",
  resource,
  namespaced: true,
  ...(subresource ? { subresource } : {}),
});
const nodes = (verb: string): Permission => ({ verb, group: "", resource: "nodes", namespaced: false });

/** What each action needs (RBAC rules the README lists too). */
export const permissionsOf: Record<KubernetesAction, readonly Permission[]> = {
  exec: [pods("create", "exec")],
  "rollout-restart": [apps("patch", "deployments")],
  scale: [apps("patch", "deployments", "scale")],
  "delete-pod": [pods("delete")],
  cordon: [nodes("patch")],
  uncordon: [nodes("patch")],
  drain: [nodes("patch"), { ...pods("list"), namespaced: false }, pods("create", "eviction")],
  logs: [pods("get", "log")],
  status: [apps("get", "deployments")],
  "rollout-status": [apps("get", "deployments")],
};

function label(p: Permission, namespace: string): string {
  const resource = `${p.resource}${p.subresource ? `/${p.subresource}` : ""}${p.group ? `.${p.group}` : ""}`;
  return `${p.verb} ${resource}${p.namespaced ? ` in ${namespace}` : ""}`;
}

/** Checks reachability and permissions; returns the permissions denied (empty when all are held). */
export async function checkAccess(
  cluster: Cluster,
  connection: KubernetesConnection,
  signal: AbortSignal,
  requestTimeoutMs: number,
): Promise<string[]> {
  const options = parseConnectionOptions(kubernetesConnectionOptionsSchema, connection, "Kubernetes");
  const callSignal = () => AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]);
  try {
    await cluster.version.getCode(callOptions(callSignal()));
  } catch (error) {
    throw apiError(error, "read the API server version", cluster.server);
  }
  const wanted = new Map<string, Permission>();
  for (const action of options.actions ?? kubernetesActions)
    for (const p of permissionsOf[action]) wanted.set(label(p, cluster.namespace), p);
  const denied: string[] = [];
  for (const [text, p] of wanted) {
    let allowed: boolean;
    try {
      const review = await cluster.authz.createSelfSubjectAccessReview(
        {
          body: {
            apiVersion: "authorization.k8s.io/v1",
            kind: "SelfSubjectAccessReview",
            spec: {
              resourceAttributes: {
                verb: p.verb,
                group: p.group,
                resource: p.resource,
                ...(p.subresource ? { subresource: p.subresource } : {}),
                ...(p.namespaced ? { namespace: cluster.namespace } : {}),
              },
            },
          },
        },
        callOptions(callSignal()),
      );
      allowed = review.status?.allowed === true;
    } catch (error) {
      throw apiError(error, "ask the API server for the credential's permissions", cluster.server);
    }
    if (!allowed) denied.push(text);
  }
  return denied;
}
