import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createEngine } from "@runwarden/core";
import { createPostgresStorage } from "@runwarden/storage-postgres";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createService, type Service, signToken } from "../src/index.js";
import { freshDatabase } from "./pg.js";

const secretText = "a-test-secret-of-at-least-32-characters!";
const jwtSecret = new TextEncoder().encode(secretText);

const slowRunbook = `---
id: slow-restart
match:
  services: [orders]
  keywords: [stuck]
---
# Restart the stuck worker

## Main Steps
- \`sleep 2 && echo drained-$SERVICE\`
`;

function as(base: string, jwt: string) {
  return async (method: string, path: string, body?: string, type = "application/json") => {
    const res = await fetch(`${base}/ops/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${jwt}`, ...(body === undefined ? {} : { "content-type": type }) },
      ...(body === undefined ? {} : { body }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read JSON answers field by field
    return { status: res.status, body: (await res.json().catch(() => null)) as any };
  };
}

/** Uploads and approves the slow runbook, starts it on a new ticket and waits for its step to run. */
async function startSlowStep(base: string, secret = jwtSecret): Promise<number> {
  const sam = as(base, await signToken({ jwtSecret: secret }, "sam", ["oncall-engineers"]));
  const lena = as(base, await signToken({ jwtSecret: secret }, "lena", ["incident-leads"]));
  const uploaded = await sam("POST", "/runbooks", slowRunbook, "text/markdown");
  expect(uploaded.status).toBe(201);
  const runbookId = uploaded.body.runbook.id as number;
  expect((await lena("POST", `/runbooks/${runbookId}/approve`, "{}")).status).toBe(200);
  const ticket = await sam(
    "POST",
    "/tickets/demo/ticket?auto_execute=false",
    JSON.stringify({ title: "orders worker stuck", severity: "low", service: "orders" }),
  );
  const started = await sam(
    "POST",
    "/executions",
    JSON.stringify({ ticket_id: ticket.body.ticket.id, runbook_id: runbookId }),
  );
  expect(started.status).toBe(201);
  const sessionId = started.body.session.id as number;
  for (let i = 0; i < 200; i++) {
    const detail = await sam("GET", `/executions/${sessionId}`);
    if (detail.body.steps?.some((s: { status: string }) => s.status === "running")) return sessionId;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the step never started");
}

async function stepsAfterwards(url: string, sessionId: number) {
  const engine = await createEngine({ storage: await createPostgresStorage({ connectionString: url }) });
  try {
    return (await engine.executions.get(sessionId)).steps;
  } finally {
    await engine.close();
  }
}

describe("embed-fastify", () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let service: Service;
  let base: string;
  beforeAll(async () => {
    db = await freshDatabase();
    service = await createService({ databaseUrl: db.url, logger: pino({ enabled: false }), jwtSecret });
    base = await service.listen(0);
  });
  afterAll(async () => {
    await service?.shutdown();
    await db?.drop();
  });

  it("serves its own routes next to the API mounted under /ops", async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
    expect((await fetch(`${base}/ops/api/v1/health`)).status).toBe(200);
    const jwt = await signToken({ jwtSecret }, "sam", ["oncall-engineers"]);
    const orders = await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${jwt}` } });
    expect(await orders.json()).toEqual({ orders: [], for: "sam" });
  });

  it("maps the host's JWT groups to Runwarden roles through the auth hook", async () => {
    const lena = as(base, await signToken({ jwtSecret }, "lena", ["incident-leads", "unrelated"]));
    const me = await lena("GET", "/me");
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ actor: "lena", roles: ["operator", "approver"], token_id: null });
    const auditor = as(base, await signToken({ jwtSecret }, "abe", ["auditors"]));
    expect((await auditor("GET", "/tickets")).status).toBe(200);
    expect((await auditor("POST", "/runbooks", slowRunbook, "text/markdown")).status).toBe(403);
  });

  it("refuses a JWT that is expired, signed with another key or for another audience", async () => {
    const expired = await signToken({ jwtSecret }, "sam", ["oncall-engineers"], "-1m");
    const forged = await signToken({ jwtSecret: new TextEncoder().encode("x".repeat(40)) }, "sam", [
      "platform-admins",
    ]);
    const elsewhere = await signToken({ jwtSecret, audience: "billing" }, "sam", ["platform-admins"]);
    for (const jwt of [expired, forged, elsewhere]) {
      expect((await as(base, jwt)("GET", "/me")).status).toBe(401);
    }
  });

  it("still accepts Runwarden API tokens next to the host's JWTs", async () => {
    const { token } = await service.adapter.tokens.create({ actor: "ci-bot", roles: ["viewer"] });
    const me = await as(base, token)("GET", "/me");
    expect(me.body).toMatchObject({ actor: "ci-bot", roles: ["viewer"] });
  });

  it("shutdown() lets the step in flight finish and record its output", async () => {
    const sessionId = await startSlowStep(base);
    await service.shutdown();
    const steps = await stepsAfterwards(db.url, sessionId);
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ status: "succeeded" });
    expect(steps[0]?.stdout).toContain("drained-orders");
  });
});

describe("embed-fastify main.ts", () => {
  it("drains a running step on SIGTERM, then exits 0", async () => {
    const db = await freshDatabase();
    try {
      const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
      const child = spawn(process.execPath, ["--import", "tsx", main], {
        env: { ...process.env, DATABASE_URL: db.url, PORT: "0", JWT_SECRET: secretText },
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (c) => {
        out += String(c);
      });
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setInterval(() => {
          const m = /"url":"([^"]+)"/.exec(out);
          if (m) {
            clearInterval(timer);
            resolve(m[1]!);
          }
        }, 50);
        child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const sessionId = await startSlowStep(url);
      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      expect(code).toBe(0);
      expect(out).toContain("draining steps in flight");
      const steps = await stepsAfterwards(db.url, sessionId);
      expect(steps[0]).toMatchObject({ status: "succeeded" });
      expect(steps[0]?.stdout).toContain("drained-orders");
    } finally {
      await db.drop();
    }
  });
});
