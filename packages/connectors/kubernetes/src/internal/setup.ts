/**
 * The cluster-side set-up, for the Connectors tab: a ServiceAccount with the RBAC rules the
 * actions need (a Role in the workloads' namespace, a ClusterRole for nodes and drain), and a
 * token for the `k8s_token` credential.
 */
import type { VendorSetupStep } from "@runwarden/core";

const rbac = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: runwarden
  namespace: shop
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: runwarden
  namespace: shop
rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list, delete]
  - apiGroups: [""]
    resources: [pods/log]
    verbs: [get]
  - apiGroups: [""]
    resources: [pods/exec]
    verbs: [create, get]
  - apiGroups: [apps]
    resources: [deployments, statefulsets, daemonsets]
    verbs: [get, patch]
  - apiGroups: [apps]
    resources: [deployments/scale, statefulsets/scale]
    verbs: [get, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: runwarden
  namespace: shop
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: runwarden
subjects:
  - kind: ServiceAccount
    name: runwarden
    namespace: shop
`;

const nodes = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: runwarden-nodes
rules:
  - apiGroups: [""]
    resources: [nodes]
    verbs: [get, patch]
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list]
  - apiGroups: [""]
    resources: [pods/eviction]
    verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: runwarden-nodes
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: runwarden-nodes
subjects:
  - kind: ServiceAccount
    name: runwarden
    namespace: shop
`;

/** The steps, in order. */
export function kubernetesSetup(): readonly VendorSetupStep[] {
  return [
    {
      title: "Create a ServiceAccount and grant it what the steps need",
      text: "Apply this in the namespace your runbooks act on (here shop); drop the rules of actions you do not use. The connection's Test asks the API server (SelfSubjectAccessReview) for exactly these permissions.",
      snippet: { language: "yaml", content: rbac },
    },
    {
      title: "Only for cordon, uncordon and drain: allow node changes and evictions cluster-wide",
      snippet: { language: "yaml", content: nodes },
    },
    {
      title: "Create a token and store it as a k8s_token credential",
      text: "Paste the token into a credential of type k8s_token, then create a kubernetes connection with the API server's host and port and its CA certificate in options.ca_data.",
      snippet: {
        language: "text",
        content: "kubectl -n shop create token runwarden --duration=8760h",
      },
    },
  ];
}
