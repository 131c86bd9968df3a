/**
 * Scale-out on PostgreSQL: three engine processes share one database and work through 500 tickets
 * whose runbook writes one ledger row per step (psql from a local step). One process is SIGKILLed
 * halfway. The others take over its sessions once its leases run out; afterwards every step of
 * every session is in the ledger exactly once, except a step that was running in the killed
 * process, which is `interrupted` (and then resolved by a person, as after a single-process crash).
 * A second scenario decides an approval and a cancel on one engine for a session of another.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createEngine, type Engine, localConnector } from "@runwarden/core";
import { createPostgresStorage } from "@runwarden/storage-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

const server = process.env.RUNWARDEN_PG_URL ?? "postgres://postgres@127.0.0.1:5432";
const required = process.env.RUNWARDEN_IT === "1";
const database = `rw_e2e_mi_${randomBytes(5).toString("hex")}`;
const url = `${server}/${database}`;
const ticketCount = 500;
const leaseTtlMs = 3_000;
const steps = ["pre", "main-1", "main-2", "post"] as const;
/** Sessions each engine runs at once: few enough that ingestion keeps ahead of execution on 2 cores. */
const sessionsPerEngine = 4;

async function admin<R>(work: (client: pg.Client) => Promise<R>): Promise<R> {
  const client = new pg.Client({ connectionString: `${server}/postgres`, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const reachable = await admin(async () => true).catch((err: unknown) => {
  if (required)
    throw new Error(`PostgreSQL is required (RUNWARDEN_IT=1) but unreachable at ${server}`, { cause: err });
  return false;
});

/** Inserts the step's ledger row; every ticket value reaches psql as one quoted argument. */
const ledgerStep = (step: string, after = "") =>
  `printf '%s\\n' "INSERT INTO ledger (ticket_id, title, step, instance) VALUES (:'ticket', :'title', '${step}', :'instance')" | psql -qX -v ON_ERROR_STOP=1 -v ticket={{ticket.id}} -v title={{ticket.title}} -v instance="$RW_INSTANCE"${after}`;

const runbook = `---
id: ledger-writer
match:
  services: [ledger]
  environments: [prod]
  sources: [e2e]
  keywords: [ledger]
  title_pattern: '^ledger [0-9]+'
auto_execute: true
---
# Write the ledger

## Prechecks
\`\`\`sh {name=pre}
${ledgerStep("pre")}
\`\`\`

## Main Steps
\`\`\`sh {name=main-1}
${ledgerStep("main-1", " && sleep 1")}
\`\`\`

\`\`\`sh {name=main-2}
${ledgerStep("main-2")}
\`\`\`

## Postchecks
\`\`\`sh {name=post}
${ledgerStep("post")}
\`\`\`
`;

interface Child {
  name: string;
  process: ChildProcessWithoutNullStreams;
  lines: string[];
  stderr: string;
  /** Resolves with the next stdout line that has `key`. */
  next(key: string): Promise<Record<string, unknown>>;
}

function spawnEngine(name: string): Child {
  const child = spawn(
    process.execPath,
    [
      "--conditions=@runwarden/source",
      "--import",
      "tsx",
      join(import.meta.dirname, "fixtures/multi-instance-child.ts"),
      url,
      name,
      String(leaseTtlMs),
      String(sessionsPerEngine),
    ],
    { cwd: import.meta.dirname, stdio: ["pipe", "pipe", "pipe"] },
  );
  const waiters: { key: string; resolve: (v: Record<string, unknown>) => void }[] = [];
  const handle: Child = {
    name,
    process: child,
    lines: [],
    stderr: "",
    next: (key) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name}: no "${key}" line: ${handle.stderr}`)),
          150_000,
        );
        waiters.push({
          key,
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
        });
      }),
  };
  let buffer = "";
  child.stdout.on("data", (chunk) => {
    buffer += chunk;
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
      if (!line.startsWith("{")) continue;
      const message = JSON.parse(line) as Record<string, unknown>;
      const at = waiters.findIndex((w) => w.key in message);
      if (at >= 0) waiters.splice(at, 1)[0]!.resolve(message);
    }
  });
  child.stderr.on("data", (chunk) => {
    handle.stderr = (handle.stderr + chunk).slice(-4_000);
  });
  return handle;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.runIf(reachable)("engines sharing one PostgreSQL", () => {
  let db: pg.Client;
  let children: Child[] = [];
  let api: Engine | undefined;

  beforeAll(async () => {
    await admin((c) => c.query(`CREATE DATABASE ${database}`));
    db = new pg.Client({ connectionString: url });
    await db.connect();
    await db.query(
      `CREATE TABLE ledger (id bigserial PRIMARY KEY, ticket_id bigint NOT NULL, title text NOT NULL,
         step text NOT NULL, instance text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    );
  });
  afterAll(async () => {
    for (const child of children) child.process.kill("SIGKILL");
    await api?.close();
    await db?.end();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  });

  it("runs every step of 500 sessions exactly once when one of three engines is SIGKILLed halfway", async () => {
    // The API node: it stores the runbook, and later a person resolves interrupted steps through it.
    api = await createEngine({
      storage: await createPostgresStorage({ connectionString: url }),
      instanceId: "api",
      vault: { key: Buffer.alloc(32, 7) },
      policy: { leaseTtlMs },
      connectors: [
        {
          connector: localConnector,
          config: {
            env: {
              RW_INSTANCE: "api",
              PGHOST: new URL(url).hostname,
              PGPORT: new URL(url).port || "5432",
              PGUSER: decodeURIComponent(new URL(url).username) || "postgres",
              PGDATABASE: database,
            },
          },
        },
      ],
    });
    const author = { id: "author", roles: ["admin" as const] };
    const created = await api.runbooks.create(runbook, { actor: author, status: "approved" });
    expect(created.warnings ?? []).toEqual([]);

    children = ["engine-a", "engine-b", "engine-c"].map(spawnEngine);
    await Promise.all(children.map((c) => c.next("ready")));

    // A load balancer in front: tickets arrive at the three engines in turn, 25 per request.
    const batches: { child: Child; inputs: Record<string, unknown>[] }[] = [];
    for (let i = 0; i < ticketCount; i += 25) {
      const child = children[(i / 25) % children.length]!;
      const inputs = Array.from({ length: Math.min(25, ticketCount - i) }, (_, j) => {
        const title = `ledger ${i + j}: it's "quoted"; $(rm -rf /) \`id\``;
        return { title, service: "ledger", environment: "prod", source: "e2e", externalId: `t-${i + j}` };
      });
      batches.push({ child, inputs });
    }
    const expectedRows = ticketCount * steps.length;
    const ledgerRows = async () =>
      Number((await db.query("SELECT count(*)::int AS n FROM ledger")).rows[0].n);
    const acks = batches.map(({ child, inputs }) => {
      const ack = child.next("ingested");
      child.process.stdin.write(`${JSON.stringify({ ingest: inputs })}\n`);
      return ack;
    });
    const fedAt = Date.now();
    await Promise.all(acks);
    const feedMs = Date.now() - fedAt;

    await until("half of the ledger", async () => (await ledgerRows()) >= expectedRows / 2, 120_000);

    const victim = children[0]!;
    const exited = new Promise((resolve) => victim.process.once("exit", resolve));
    victim.process.kill("SIGKILL");
    await exited;
    const killedAt = Date.now();
    // What the dead engine held: sessions leased to it and not finished.
    const held = (
      await db.query<{ id: string }>(
        "SELECT id FROM rw_sessions WHERE lease_owner = $1 AND data->>'status' IN ('pending', 'running')",
        [victim.name],
      )
    ).rows.map((r) => Number(r.id));

    // Every session ends up finished or interrupted; nothing is left pending or running.
    const statusCounts = async () =>
      (
        await db.query<{ status: string; n: number }>(
          "SELECT data->>'status' AS status, count(*)::int AS n FROM rw_sessions GROUP BY 1",
        )
      ).rows;
    await until(
      "every session to settle",
      async () => {
        const counts = await statusCounts();
        const settled = counts
          .filter((c) => c.status === "succeeded" || c.status === "interrupted")
          .reduce((sum, c) => sum + c.n, 0);
        return settled === ticketCount;
      },
      120_000,
    );
    const settledAfterMs = Date.now() - killedAt;

    const sessions = (
      await db.query<{ id: number; ticket_id: number; status: string; title: string }>(
        `SELECT s.id, (s.data->>'ticketId')::bigint AS ticket_id, s.data->>'status' AS status, t.data->>'title' AS title
             FROM rw_sessions s JOIN rw_tickets t ON t.id = (s.data->>'ticketId')::bigint`,
      )
    ).rows.map((r) => ({ ...r, id: Number(r.id), ticket_id: Number(r.ticket_id) }));
    // No ticket lost, none run twice: one session per ticket.
    expect(sessions).toHaveLength(ticketCount);
    expect(new Set(sessions.map((s) => s.ticket_id)).size).toBe(ticketCount);
    expect(Number((await db.query("SELECT count(*)::int AS n FROM rw_tickets")).rows[0].n)).toBe(ticketCount);

    const rows = (
      await db.query<{ ticket_id: string; step: string; instance: string; title: string }>(
        "SELECT ticket_id, step, instance, title FROM ledger",
      )
    ).rows;
    const ledger = new Map<string, { instance: string; title: string }[]>();
    for (const row of rows) {
      const key = `${row.ticket_id}/${row.step}`;
      ledger.set(key, [...(ledger.get(key) ?? []), row]);
    }
    const stepRows = (
      await db.query<{ session_id: string; name: string; status: string; idx: number }>(
        `SELECT data->>'sessionId' AS session_id, data->>'name' AS name, data->>'status' AS status,
                  (data->>'index')::int AS idx FROM rw_steps ORDER BY 1, idx`,
      )
    ).rows;
    const stepsOf = new Map<number, typeof stepRows>();
    for (const step of stepRows) {
      const id = Number(step.session_id);
      stepsOf.set(id, [...(stepsOf.get(id) ?? []), step]);
    }

    const interrupted: { sessionId: number; ticketId: number; step: string; rowWritten: boolean }[] = [];
    for (const session of sessions) {
      const own = stepsOf.get(session.id) ?? [];
      expect(own.map((s) => s.name)).toEqual([...steps]);
      // The title went through the shell and psql untouched.
      for (const row of rows.filter((r) => Number(r.ticket_id) === session.ticket_id))
        expect(row.title).toBe(session.title);
      for (const step of own) {
        const written = ledger.get(`${session.ticket_id}/${step.name}`) ?? [];
        if (step.status === "succeeded") {
          expect(written, `${session.ticket_id}/${step.name}`).toHaveLength(1);
        } else if (step.status === "interrupted") {
          // It was running when its engine died: it may or may not have written its row.
          expect(session.status).toBe("interrupted");
          expect(written.length).toBeLessThanOrEqual(1);
          expect(written.every((w) => w.instance === victim.name)).toBe(true);
          interrupted.push({
            sessionId: session.id,
            ticketId: session.ticket_id,
            step: step.name,
            rowWritten: written.length === 1,
          });
        } else {
          // After an interrupted step: not run yet.
          expect(session.status).toBe("interrupted");
          expect(step.status).toBe("pending");
          expect(written).toHaveLength(0);
        }
      }
    }
    // It was really mid-step, and the others finished every session it held that was not.
    expect(held.length).toBeGreaterThan(interrupted.length);
    for (const id of held) {
      const session = sessions.find((s) => s.id === id)!;
      if (session.status === "interrupted") continue;
      expect(session.status).toBe("succeeded");
      const after = rows.filter(
        (r) => Number(r.ticket_id) === session.ticket_id && r.instance !== victim.name,
      );
      expect(after.length, `session ${id} taken over`).toBeGreaterThan(0);
    }
    expect(interrupted.length).toBeGreaterThan(0);
    expect(interrupted.length).toBeLessThanOrEqual(sessionsPerEngine);
    expect(sessions.filter((s) => s.status === "interrupted")).toHaveLength(interrupted.length);

    // A person resolves each interrupted step through the API node (now a fourth engine):
    // skip it if its row is in, run it again if not.
    await api.start();
    const operator = { id: "operator", roles: ["operator" as const, "approver" as const] };
    for (const stop of interrupted) {
      const detail = await api.executions.get(stop.sessionId);
      const step = detail.steps.find((s) => s.name === stop.step)!;
      await api.executions.resolveInterrupted(stop.sessionId, step.id, stop.rowWritten ? "skip" : "retry", {
        actor: operator,
      });
    }
    for (const stop of interrupted) {
      expect((await api.executions.settled(stop.sessionId, { timeoutMs: 30_000 })).status).toBe("succeeded");
    }

    // Now every step of every session is in the ledger exactly once.
    const { rows: dupes } = await db.query(
      "SELECT ticket_id, step, count(*) FROM ledger GROUP BY 1, 2 HAVING count(*) <> 1",
    );
    expect(dupes).toEqual([]);
    expect(await ledgerRows()).toBe(expectedRows);
    const byInstance = (
      await db.query<{ instance: string; n: number }>(
        "SELECT instance, count(*)::int AS n FROM ledger GROUP BY 1 ORDER BY 1",
      )
    ).rows;
    console.info(
      JSON.stringify({
        byInstance,
        held: held.length,
        interrupted: interrupted.length,
        feedMs,
        settledAfterMs,
      }),
    );
  }, 300_000);

  it("applies an approval and a cancel made on another engine within a second", async () => {
    const engine = async (instanceId: string) =>
      createEngine({
        storage: await createPostgresStorage({ connectionString: url }),
        instanceId,
        vault: { key: Buffer.alloc(32, 7) },
      });
    const [x, y] = [await engine("x"), await engine("y")];
    try {
      await Promise.all([x.start(), y.start()]);
      const author = { id: "author", roles: ["admin" as const] };
      const alice = { id: "alice", roles: ["operator" as const, "approver" as const] };
      const gated = await x.runbooks.create(
        "# Gated\n\n## Main Steps\n- `echo approved ran` (name: gated, requires_approval: true)\n",
        { actor: author, status: "approved" },
      );
      const long = await x.runbooks.create("# Long\n\n## Main Steps\n- `sleep 30` (name: long)\n", {
        actor: author,
        status: "approved",
      });
      const ticket = async (title: string) =>
        (
          await x.tickets.ingest(
            { title, service: "gate", environment: "prod", source: "e2e" },
            { autoExecute: false },
          )
        ).ticket.id;

      // Started on x, approved on y: y claims the session and runs the step at once.
      const started = await x.executions.start(await ticket("gated"), gated.runbook.id, { actor: alice });
      const paused = await x.executions.settled(started.session.id);
      expect(paused.status).toBe("awaiting_approval");
      const [approval] = (await y.approvals.list({ sessionId: paused.id, status: "pending" })).items;
      const t0 = Date.now();
      await y.approvals.approve(approval!.id, { actor: { id: "bob", roles: ["approver"] } });
      const done = await y.executions.settled(paused.id, { timeoutMs: 10_000 });
      expect(done.status).toBe("succeeded");
      expect(Date.now() - t0).toBeLessThan(1_000);
      expect((await y.executions.get(paused.id)).steps[0]).toMatchObject({
        status: "succeeded",
        stdout: "approved ran\n",
      });

      // Running on x, cancelled on y: x kills the step as soon as the NOTIFY arrives.
      const running = await x.executions.start(await ticket("long"), long.runbook.id, { actor: alice });
      await vi.waitFor(async () =>
        expect((await y.executions.get(running.session.id)).steps[0]?.status).toBe("running"),
      );
      const t1 = Date.now();
      await y.executions.cancel(running.session.id, { actor: alice, reason: "wrong host" });
      const cancelled = await x.executions.settled(running.session.id, { timeoutMs: 10_000 });
      expect(cancelled.status).toBe("cancelled");
      expect(Date.now() - t1).toBeLessThan(1_000);
      expect((await x.executions.get(running.session.id)).steps[0]?.status).toBe("cancelled");
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });
});
