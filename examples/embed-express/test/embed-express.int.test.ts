import { spawn } from "node:child_process";
import { once } from "node:events";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createEngine } from "@runwarden/core";
import { createPostgresStorage } from "@runwarden/storage-postgres";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createService, type Service } from "../src/index.js";
import { freshDatabase } from "./pg.js";

const users = [
  { name: "sam", password: "pw-sam", role: "sre" as const },
  { name: "lena", password: "pw-lena", role: "lead" as const },
  { name: "abe", password: "pw-abe", role: "auditor" as const },
];

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

async function login(base: string, name: string, password: string): Promise<string> {
  const res = await fetch(`${base}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, password }),
  });
  expect(res.status).toBe(200);
  return /sid=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")![1]!;
}

function as(base: string, sid: string) {
  return async (method: string, path: string, body?: string, type = "application/json") => {
    const res = await fetch(`${base}/ops/api/v1${path}`, {
      method,
      headers: { cookie: `sid=${sid}`, ...(body === undefined ? {} : { "content-type": type }) },
      ...(body === undefined ? {} : { body }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read JSON answers field by field
    return { status: res.status, body: (await res.json().catch(() => null)) as any };
  };
}

/** Uploads and approves the slow runbook and starts it on a new ticket: the session's id. */
async function startSlowStep(base: string): Promise<number> {
  const sam = as(base, await login(base, "sam", "pw-sam"));
  const lena = as(base, await login(base, "lena", "pw-lena"));
  const uploaded = await sam("POST", "/runbooks", slowRunbook, "text/markdown");
  expect(uploaded.status).toBe(201);
  const runbookId = uploaded.body.runbook.id as number;
  expect((await lena("POST", `/runbooks/${runbookId}/approve`, "{}")).status).toBe(200);
  const ticket = await sam(
    "POST",
    "/tickets/demo/ticket?auto_execute=false",
    JSON.stringify({ title: "orders worker stuck", severity: "low", service: "orders" }),
  );
  expect(ticket.status).toBe(201);
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

async function sessionAfterwards(url: string, sessionId: number) {
  const engine = await createEngine({ storage: await createPostgresStorage({ connectionString: url }) });
  try {
    return await engine.executions.get(sessionId);
  } finally {
    await engine.close();
  }
}

describe("embed-express", () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let service: Service;
  let base: string;
  const lines: string[] = [];
  beforeAll(async () => {
    db = await freshDatabase();
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    service = await createService({ databaseUrl: db.url, logger: pino({ level: "info" }, sink), users });
    base = await service.listen(0);
  });
  afterAll(async () => {
    await service?.shutdown();
    await db?.drop();
  });

  it("serves its own routes next to the API mounted under /ops", async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
    const health = await fetch(`${base}/ops/api/v1/health`);
    expect(health.status).toBe(200);
    expect((await fetch(`${base}/api/v1/health`)).status).toBe(404);
  });

  it("lets its own session through the auth hook, with the mapped roles", async () => {
    expect((await fetch(`${base}/ops/api/v1/me`)).status).toBe(401);
    expect((await fetch(`${base}/ops/api/v1/me`, { headers: { cookie: "sid=forged" } })).status).toBe(401);
    const lena = as(base, await login(base, "lena", "pw-lena"));
    const me = await lena("GET", "/me");
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ actor: "lena", roles: ["operator", "approver"] });
  });

  it("refuses what the mapped role does not allow (an auditor is a viewer)", async () => {
    const abe = as(base, await login(base, "abe", "pw-abe"));
    expect((await abe("GET", "/tickets")).status).toBe(200);
    expect((await abe("POST", "/runbooks", slowRunbook, "text/markdown")).status).toBe(403);
  });

  it("refuses a wrong password on its own login", async () => {
    const res = await fetch(`${base}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "sam", password: "nope" }),
    });
    expect(res.status).toBe(401);
  });

  it("logs through the host's pino logger", () => {
    expect(lines.some((l) => l.includes('"component":"http"') || l.includes('"component"'))).toBe(true);
  });

  it("shutdown() lets the step in flight finish and record its output; the next start resumes the session", async () => {
    const sessionId = await startSlowStep(base);
    await service.shutdown();
    const left = await sessionAfterwards(db.url, sessionId);
    expect(left.steps).toHaveLength(1);
    expect(left.steps[0]).toMatchObject({ status: "succeeded" });
    expect(left.steps[0]?.stdout).toContain("drained-orders");
    // The session is left for the next instance, which resumes it without running the step again.
    const next = await createService({ databaseUrl: db.url, logger: pino({ enabled: false }), users });
    try {
      expect((await next.engine.executions.settled(sessionId, { timeoutMs: 10_000 })).status).toBe(
        "succeeded",
      );
      expect((await next.engine.executions.get(sessionId)).steps).toHaveLength(1);
    } finally {
      await next.shutdown();
    }
  });
});

describe("embed-express main.ts", () => {
  it("drains a running step on SIGTERM, then exits 0", async () => {
    const db = await freshDatabase();
    try {
      const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
      const child = spawn(process.execPath, ["--import", "tsx", main], {
        env: { ...process.env, DATABASE_URL: db.url, PORT: "0", DEMO_PASSWORD: "pw" },
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
      const sam = as(url, await loginPw(url, "sam"));
      const lena = as(url, await loginPw(url, "lena"));
      const uploaded = await sam("POST", "/runbooks", slowRunbook, "text/markdown");
      const runbookId = uploaded.body.runbook.id as number;
      await lena("POST", `/runbooks/${runbookId}/approve`, "{}");
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
      const sessionId = started.body.session.id as number;
      for (let i = 0; i < 200; i++) {
        const detail = await sam("GET", `/executions/${sessionId}`);
        if (detail.body.steps?.some((s: { status: string }) => s.status === "running")) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      expect(code).toBe(0);
      expect(out).toContain("draining steps in flight");
      const left = await sessionAfterwards(db.url, sessionId);
      expect(left.steps[0]).toMatchObject({ status: "succeeded" });
      expect(left.steps[0]?.stdout).toContain("drained-orders");
    } finally {
      await db.drop();
    }
  });
});

async function loginPw(base: string, name: string): Promise<string> {
  return login(base, name, "pw");
}
