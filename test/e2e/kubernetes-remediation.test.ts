/**
 * Issue 18, end to end: the sample runbook examples/runbooks/restart-kubernetes-deployment.md
 * (k8s fences) runs through the engine and the Kubernetes connector against the connector tests'
 * fake API server: prechecks read status and logs, the approved main step restarts the deployment
 * with the same patch kubectl sends, the postcheck waits for the rollout. A hostile service name
 * in a ticket stays one quoted field and is refused as a Kubernetes name: nothing reaches the API.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import kubernetes from "@runwarden/connector-kubernetes";
import { type Actor, createEngine, type Engine } from "@runwarden/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type FakeApiServer,
  startFakeApiServer,
} from "../../packages/connectors/kubernetes/test/fake-api-server.js";

const runbookMarkdown = readFileSync(
  join(import.meta.dirname, "../../examples/runbooks/restart-kubernetes-deployment.md"),
  "utf8",
);
const sreLead: Actor = { id: "sre-lead", roles: ["admin"] };
const alice: Actor = { id: "alice", roles: ["operator", "approver"] };
const bob: Actor = { id: "bob", roles: ["approver"] };

describe("Kubernetes remediation (engine → k8s connector → API server)", () => {
  let fake: FakeApiServer;
  let engine: Engine;

  beforeAll(async () => {
    fake = await startFakeApiServer();
  });
  afterAll(() => fake.close());

  beforeEach(async () => {
    engine = await createEngine({ vault: { key: randomBytes(32) }, connectors: [kubernetes] });
    await engine.start();
    const credential = await engine.credentials.create(
      { name: "prod-cluster-sa", credentialType: "k8s_token", environment: "prod", token: fake.token },
      { actor: sreLead },
    );
    await engine.connections.create(
      {
        name: "prod-cluster",
        connectionType: "kubernetes",
        credentialId: credential.id,
        targetHost: "127.0.0.1",
        targetPort: fake.port,
        environment: "prod",
        options: { scheme: "http", namespace: "shop" },
      },
      { actor: sreLead },
    );
    fake.requests.length = 0;
  });

  afterEach(() => engine.close());

  it("restarts the deployment named by the ticket after approval and waits for the rollout", async () => {
    const { runbook } = await engine.runbooks.create(runbookMarkdown, { actor: sreLead, status: "approved" });
    const { ticket } = await engine.tickets.ingest({
      title: "checkout pods keep restarting (CrashLoopBackOff)",
      severity: "high",
      environment: "prod",
      service: "checkout",
      source: "prometheus",
      externalId: "k8s-e2e-1",
      metaData: { pod: "checkout-7d9f-abcde" },
    });
    const { session } = await engine.executions.start(ticket.id, runbook.id, { actor: alice });
    expect((await engine.executions.settled(session.id)).status).toBe("awaiting_approval");
    const [approval] = (await engine.approvals.list({ status: "pending", sessionId: session.id })).items;
    expect(approval).toMatchObject({ stepName: "rollout-restart", risk: "medium_risk" });
    expect(approval?.renderedCommand).toBe(
      'action: rollout-restart\nkind: deployment\nnamespace: shop\nname: "checkout"',
    );
    expect(approval?.target).toContain("prod-cluster");

    await engine.approvals.approve(approval!.id, { actor: bob, comment: "restart it" });
    const done = await engine.executions.settled(session.id);
    expect(done.status).toBe("succeeded");
    const detail = await engine.executions.get(session.id);
    expect(detail.steps.map((s) => [s.phase, s.name, s.status, s.exitCode])).toEqual([
      ["prechecks", "deployment-status", "succeeded", 0],
      ["prechecks", "recent-logs", "succeeded", 0],
      ["main", "rollout-restart", "succeeded", 0],
      ["postchecks", "wait-for-rollout", "succeeded", 0],
    ]);
    expect(detail.steps[1]?.stdout).toContain("checkout log line 50");
    const patch = fake.requests.find((r) => r.method === "PATCH");
    expect(patch).toMatchObject({
      path: "/apis/apps/v1/namespaces/shop/deployments/checkout",
      contentType: "application/strategic-merge-patch+json",
    });
    expect(JSON.stringify(detail)).not.toContain(fake.token);
  });

  it("refuses a hostile service name as a Kubernetes name: no request reaches the API", async () => {
    const { runbook } = await engine.runbooks.create(runbookMarkdown, { actor: sreLead, status: "approved" });
    const { ticket } = await engine.tickets.ingest({
      title: "checkout CrashLoopBackOff",
      severity: "high",
      environment: "prod",
      service: 'checkout" kind: node',
      source: "prometheus",
      externalId: "k8s-e2e-2",
      metaData: { pod: "x; kubectl delete ns shop" },
    });
    const { session } = await engine.executions.start(ticket.id, runbook.id, { actor: alice });
    const settled = await engine.executions.settled(session.id);
    expect(settled.status).not.toBe("succeeded");
    expect(fake.requests.filter((r) => r.method !== "GET")).toEqual([]);
    expect(fake.requests.some((r) => r.path.includes("kubectl"))).toBe(false);
    const detail = await engine.executions.get(session.id);
    expect(JSON.stringify(detail.steps)).toContain("RFC 1123");
  });
});
