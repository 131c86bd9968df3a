/**
 * The Kubernetes connector: read a deployment's status and a pod's logs, restart the deployment
 * (after approval) the way `kubectl rollout restart` does, and wait for the rollout.
 *
 *   npx tsx --conditions=@runwarden/source examples/connectors/src/kubernetes.ts
 *
 * Environment: RW_K8S_SERVER (the API server URL), RW_K8S_TOKEN (a ServiceAccount token with the
 * RBAC rules in the connector's README), RW_K8S_CA_FILE (the server's CA, PEM), RW_K8S_NAMESPACE,
 * RW_K8S_DEPLOYMENT and RW_K8S_POD. Without RW_K8S_SERVER the script starts the fake API server of
 * the connector's tests on loopback (namespace shop, deployment checkout) and calls that.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import kubernetes from "@runwarden/connector-kubernetes";
import { createEngine } from "@runwarden/core";
import { startFakeApiServer } from "../../../packages/connectors/kubernetes/test/fake-api-server.js";
import { operator, runExample } from "./run-example.js";

const fake = process.env.RW_K8S_SERVER ? undefined : await startFakeApiServer();
const server = new URL(process.env.RW_K8S_SERVER ?? fake!.url);

const engine = await createEngine({
  connectors: [{ connector: kubernetes, config: { pollIntervalMs: 500 } }],
  // The memory store is gone when the script exits, so a throwaway vault key is enough here.
  vault: { key: process.env.RUNWARDEN_MASTER_KEY ?? randomBytes(32) },
});
await engine.start();

const credential = await engine.credentials.create(
  {
    name: "example-cluster-token",
    credentialType: "k8s_token",
    environment: "example",
    // Sealed by the vault; sent as `Authorization: Bearer …` to this API server only.
    token: process.env.RW_K8S_TOKEN ?? fake!.token,
  },
  { actor: operator },
);
await engine.connections.create(
  {
    name: "example-cluster",
    connectionType: "kubernetes",
    credentialId: credential.id,
    targetHost: server.hostname,
    targetPort: server.port ? Number(server.port) : 443,
    environment: "example",
    options: {
      scheme: server.protocol.replace(":", ""),
      namespace: process.env.RW_K8S_NAMESPACE ?? "shop",
      ...(process.env.RW_K8S_CA_FILE ? { ca_data: readFileSync(process.env.RW_K8S_CA_FILE, "utf8") } : {}),
    },
  },
  { actor: operator },
);

try {
  await runExample(
    engine,
    `---
connection: example-cluster
---
# Restart a deployment

## Prechecks
\`\`\`k8s {name=status-before severity=safe on_failure=continue}
action: status
kind: deployment
name: {{ticket.service}}
\`\`\`

\`\`\`k8s {name=recent-logs severity=safe}
action: logs
pod: {{ticket.meta_data.pod}}
tail: 5
\`\`\`

## Main Steps
\`\`\`k8s {name=rollout-restart requires_approval=true severity=medium_risk}
action: rollout-restart
kind: deployment
name: {{ticket.service}}
\`\`\`

## Postchecks
\`\`\`k8s {name=wait-for-rollout severity=safe}
action: rollout-status
kind: deployment
name: {{ticket.service}}
timeout: 2m
\`\`\`
`,
    {
      title: "checkout pods in CrashLoopBackOff",
      service: process.env.RW_K8S_DEPLOYMENT ?? "checkout",
      environment: "example",
      severity: "high",
      metaData: { pod: process.env.RW_K8S_POD ?? "checkout-7d9f-abcde" },
    },
  );
} finally {
  await fake?.close();
}
