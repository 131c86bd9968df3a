import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type BatchWrite,
  createMemoryStorage,
  defineConnector,
  type EngineOptions,
  type ExecRequest,
} from "../../src/index.js";
import { alice, bob, type Harness, harness } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function run(
  markdown: string,
  ticketFields: Record<string, unknown> = {},
  options: EngineOptions = {},
) {
  h = await harness(options);
  const ticket = await h.ticket(ticketFields);
  const runbookId = await h.runbook(markdown);
  const started = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
  await h.engine.executions.settled(started.session.id);
  const detail = await h.engine.executions.get(started.session.id);
  const byName = Object.fromEntries(detail.steps.map((s) => [s.name, s]));
  return { ...detail, byName, ticket: await h.engine.tickets.get(ticket.id), started };
}

describe("session runner", () => {
  it("runs prechecks, main steps and postchecks in order and resolves the ticket", async () => {
    const { session, steps, ticket } = await run(
      "# Order\n\n## Prechecks\n- `echo pre` (name: pre)\n\n## Main Steps\n- `echo main` (name: main)\n\n## Postchecks\n- `echo post` (name: post)\n",
    );
    expect(session.status).toBe("succeeded");
    expect(steps.map((s) => [s.name, s.status, s.stdout])).toEqual([
      ["pre", "succeeded", "pre\n"],
      ["main", "succeeded", "main\n"],
      ["post", "succeeded", "post\n"],
    ]);
    expect(Date.parse(steps[0]!.finishedAt!)).toBeLessThanOrEqual(Date.parse(steps[1]!.startedAt!));
    expect(ticket).toMatchObject({ status: "resolved", statusReason: 'runbook "Order" succeeded' });
  });

  it("aborts before anything changes when a precheck fails", async () => {
    h = undefined as never;
    const { session, byName, ticket } = await run(
      "# Pre\n\n## Prechecks\n- `exit 4` (name: check)\n\n## Main Steps\n- `echo changed` (name: change)\n\n## Rollback\n- `echo undo` (name: undo)\n",
    );
    expect(session.status).toBe("failed");
    expect(session.error).toContain('precheck "check" failed: exit code 4, expected 0; nothing was changed');
    expect(byName.change?.status).toBe("skipped");
    expect(byName.undo?.status).toBe("skipped");
    expect(ticket.status).toBe("failed");
  });

  it("runs the rollback phase when a main step fails", async () => {
    const { session, byName, ticket } = await run(
      "# RB\n\n## Main Steps\n- `echo one` (name: one)\n- `false` (name: two)\n- `echo three` (name: three)\n\n## Postchecks\n- `echo post` (name: post)\n\n## Rollback\n- `echo undo-one` (name: undo)\n",
    );
    expect(session.status).toBe("rolled_back");
    expect(byName.one?.status).toBe("succeeded");
    expect(byName.two?.status).toBe("failed");
    expect(byName.three?.status).toBe("skipped");
    expect(byName.post?.status).toBe("skipped");
    expect(byName.undo).toMatchObject({ status: "succeeded", stdout: "undo-one\n" });
    expect(ticket.status).toBe("failed");
    expect(ticket.statusReason).toContain("rolled back");
  });

  it("runs the rollback phase when a postcheck fails, and fails when the rollback fails", async () => {
    const { session, byName } = await run(
      "# RB2\n\n## Main Steps\n- `echo one` (name: one)\n\n## Postchecks\n- `false` (name: verify)\n\n## Rollback\n- `exit 9` (name: undo)\n- `echo never` (name: after)\n",
    );
    expect(byName.verify?.status).toBe("failed");
    expect(byName.undo?.status).toBe("failed");
    expect(byName.after?.status).toBe("skipped");
    expect(session).toMatchObject({ status: "failed" });
    expect(session.error).toMatch(/^rollback rollback step "undo" failed/);
  });

  it("carries on after a step marked on_failure: continue", async () => {
    const { session, byName } = await run(
      "# Cont\n\n## Main Steps\n- `false` (name: flaky, on_failure: continue)\n- `echo next` (name: next)\n",
    );
    expect(byName.flaky?.status).toBe("failed");
    expect(byName.next?.status).toBe("succeeded");
    expect(session.status).toBe("succeeded");
  });

  it("retries a failing step with backoff until it succeeds", async () => {
    h = await harness();
    const counter = join(h.dir, "count");
    const ticket = await h.ticket();
    const runbookId = await h.runbook(
      `# Retry\n\n## Main Steps\n- \`n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; [ $n -ge 3 ]\` (name: flaky, retries: 3)\n`,
    );
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    const { steps } = await h.engine.executions.get(session.id);
    expect(steps[0]).toMatchObject({ status: "succeeded", attempts: 3, error: null });
  });

  it("gives up after the declared retries", async () => {
    const { byName, session } = await run("# Retry2\n\n## Main Steps\n- `exit 2` (name: bad, retries: 2)\n");
    expect(byName.bad).toMatchObject({ status: "failed", attempts: 3, exitCode: 2 });
    expect(session.status).toBe("failed");
  });

  it("kills a step that runs past its timeout and records it as timed out", async () => {
    const started = performance.now();
    const { byName, session } = await run(
      "# Slow\n\n## Main Steps\n- `echo begin; sleep 10` (name: slow, timeout: 300ms)\n",
    );
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(byName.slow).toMatchObject({ status: "timed_out", stdout: "begin\n" });
    expect(byName.slow?.error).toMatch(/RW_ERR_EXEC_TIMEOUT/);
    expect(session.status).toBe("failed");
  });

  it("gives open and exec one signal, which ends a step whose connector ignores timeoutMs at the engine's hard timeout", async () => {
    const seen: { open?: AbortSignal; exec?: AbortSignal } = {};
    const stubborn = defineConnector({
      kind: "infrastructure",
      name: "stubborn",
      version: "1.0.0",
      sdk: "^0.1.0",
      configSchema: z.object({}),
      capabilities: ["exec"],
      connectionTypes: ["stubborn"],
      create: () => ({
        open: async (_connection, { signal }) => {
          seen.open = signal;
          return {
            // Ignores timeoutMs: only the signal ends it.
            exec: (request: ExecRequest) =>
              new Promise((_, reject) => {
                seen.exec = request.signal;
                request.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
              }),
            release: async () => {},
          };
        },
        healthCheck: async () => ({ ok: true, latencyMs: 1 }),
      }),
    });
    h = await harness({ connectors: [stubborn] });
    await h.engine.connections.create({ name: "box", connectionType: "stubborn", environment: "prod" });
    const ticket = await h.ticket();
    const runbookId = await h.runbook(
      "# Stubborn\n\n## Main Steps\n- `wait` (name: wait, connection: box, timeout: 100ms)\n",
    );
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    const { steps } = await h.engine.executions.get(session.id);
    expect(seen.exec).toBe(seen.open);
    expect((seen.exec?.reason as Error | undefined)?.name).toBe("TimeoutError");
    expect(steps[0]).toMatchObject({ status: "timed_out" });
    expect(steps[0]?.error).toMatch(/RW_ERR_EXEC_TIMEOUT/);
  }, 15_000);

  it("checks the expected exit code and output", async () => {
    const { byName } = await run(
      '# Expect\n\n## Main Steps\n- `exit 3` (name: three, expect_exit_code: 3)\n- `echo status=degraded` (name: out, expect_output: "status=ok", on_failure: continue)\n',
    );
    expect(byName.three?.status).toBe("succeeded");
    expect(byName.out).toMatchObject({ status: "failed", error: "the output did not match /status=ok/" });
  });

  it("runs nothing a hostile ticket field contains", async () => {
    h = await harness();
    const canary = join(h.dir, "pwned");
    const runbookId = await h.runbook(
      '# Inject\n\n## Main Steps\n- `echo {{ticket.service}} {{ticket.title}} "{{ticket.description}}"` (name: echo)\n',
    );
    const payloads = [
      `; touch ${canary}`,
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `' ; touch ${canary} ; '`,
      `" ; touch ${canary} ; "`,
      `| touch ${canary}`,
      `&& touch ${canary}`,
    ];
    for (const payload of payloads) {
      const ticket = await h.ticket({ service: payload, title: `t ${payload}`, description: payload });
      const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
      await h.engine.executions.settled(session.id);
      const { steps } = await h.engine.executions.get(session.id);
      expect(steps[0]?.status, payload).toBe("succeeded");
      // The ticket's own normalization (service lower-cased) is what is rendered, character for character.
      expect(steps[0]?.stdout).toBe(`${ticket.service} ${ticket.title} ${ticket.description}\n`);
    }
    expect(existsSync(canary)).toBe(false);
  });

  it("fails the session before anything runs when a ticket value holds a newline", async () => {
    h = await harness();
    const canary = join(h.dir, "ran");
    const runbookId = await h.runbook(
      `# NL\n\n## Prechecks\n- \`touch ${canary}\` (name: first)\n\n## Main Steps\n- \`systemctl restart {{ticket.service}}\` (name: restart)\n`,
    );
    const ticket = await h.ticket({ service: "nginx\ntouch /tmp/x" });
    const { session, plan } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    expect(session.status).toBe("failed");
    expect(session.error).toMatch(
      /step "restart": RW_ERR_EXEC_TEMPLATE: \{\{ticket.service\}\} holds a control character/,
    );
    expect(plan?.find((p) => p.name === "restart")?.error).toMatch(/RW_ERR_EXEC_TEMPLATE/);
    await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(canary)).toBe(false);
    expect((await h.engine.tickets.get(ticket.id)).status).toBe("failed");
  });

  it("redacts every secret handed to the session from output, events, errors and logs", async () => {
    const secret = "Tr0ub4dor&3-secret";
    const lines: string[] = [];
    const { pino } = await import("pino");
    const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(line) });
    const leaky = defineConnector({
      kind: "infrastructure",
      name: "leaky",
      version: "1.0.0",
      sdk: "^0.1.0",
      configSchema: z.object({}),
      capabilities: ["exec"],
      connectionTypes: ["leaky"],
      create: () => ({
        open: async (connection) => ({
          async exec(request: ExecRequest) {
            const pw = connection.credential!.secrets.password!;
            request.onOutput?.("stdout", `connecting with ${pw.slice(0, 5)}`);
            request.onOutput?.("stdout", `${pw.slice(5)} ok\n`);
            if (request.command.includes("boom")) throw new Error(`auth failed for ${pw}`);
            return { exitCode: 0, stdout: `connecting with ${pw} ok\n`, stderr: `warn ${pw}` };
          },
          release: async () => {},
        }),
        healthCheck: async () => ({ ok: true, latencyMs: 1 }),
      }),
    });
    h = await harness({ connectors: [leaky], logger });
    const credential = await h.engine.credentials.create({
      name: "c",
      credentialType: "generic",
      environment: "prod",
      password: secret,
    });
    await h.engine.connections.create({
      name: "box",
      connectionType: "leaky",
      credentialId: credential.id,
      environment: "prod",
    });
    const chunks: string[] = [];
    h.engine.events.on("step:output", (e) => chunks.push(e.chunk));
    const all: unknown[] = [];
    for (const name of ["step:finished", "session:finished", "session:updated"] as const)
      h.engine.events.on(name, (e) => all.push(e));
    const ticket = await h.ticket();
    const runbookId = await h.runbook(
      "# Leak\n\n## Main Steps\n- `status` (name: ok, connection: box)\n- `boom` (name: bad, connection: box)\n",
    );
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    const detail = await h.engine.executions.get(session.id);
    expect(detail.steps[0]?.stdout).toBe("connecting with *** ok\n");
    expect(detail.steps[1]?.error).toBe("auth failed for ***");
    expect(chunks.join("")).toContain("connecting with *** ok");
    const everything = JSON.stringify([
      detail,
      chunks,
      all,
      lines,
      await h.engine.audit.list({ limit: 1000 }),
      await h.engine.tickets.get(ticket.id),
    ]);
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain("Tr0ub");
  });

  it("redacts what a connector registers at open and during exec, split across chunks, and engine secrets in its errors", async () => {
    const password = "pw-0f3c9a71";
    const basic = `Basic ${Buffer.from(`ops:${password}`).toString("base64")}`;
    const accessToken = "at-7d1e55b2c4a94f08";
    const engineSecret = "engine-secret-3a9d0c";
    const echoing = defineConnector({
      kind: "infrastructure",
      name: "echoing",
      version: "1.0.0",
      sdk: "^0.1.0",
      configSchema: z.object({}),
      capabilities: ["exec"],
      connectionTypes: ["echoing"],
      create: () => ({
        open: async (_connection, { redact }) => {
          redact?.(basic);
          return {
            async exec(request: ExecRequest) {
              // A token the connector obtained with the credential, registered before it is used.
              request.redact?.(accessToken);
              const echoed = `authorization: ${basic}\ntoken=${encodeURIComponent(accessToken)}\n`;
              const half = Math.floor(echoed.length / 2);
              request.onOutput?.("stdout", echoed.slice(0, half));
              request.onOutput?.("stdout", echoed.slice(half));
              if (request.command.includes("boom"))
                throw new Error(`401 for ${basic} and ${accessToken} (engine ${engineSecret})`);
              return { exitCode: 0, stdout: echoed, stderr: "" };
            },
            release: async () => {},
          };
        },
        healthCheck: async () => ({ ok: true, latencyMs: 1 }),
      }),
    });
    h = await harness({ connectors: [echoing], redact: [engineSecret] });
    await h.engine.connections.create({ name: "api", connectionType: "echoing", environment: "prod" });
    const chunks: string[] = [];
    h.engine.events.on("step:output", (e) => chunks.push(e.chunk));
    const events: unknown[] = [];
    for (const name of ["step:finished", "session:finished", "session:updated"] as const)
      h.engine.events.on(name, (e) => events.push(e));
    const ticket = await h.ticket();
    const runbookId = await h.runbook(
      "# Echo\n\n## Main Steps\n- `get` (name: ok, connection: api)\n- `boom` (name: bad, connection: api)\n",
    );
    const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    await h.engine.executions.settled(session.id);
    const detail = await h.engine.executions.get(session.id);
    expect(detail.steps[0]?.stdout).toBe("authorization: ***\ntoken=***\n");
    expect(detail.steps[1]?.error).toBe("401 for *** and *** (engine ***)");
    const everything = JSON.stringify([detail, chunks, events]);
    expect(everything).not.toContain(basic.slice(6));
    expect(everything).not.toContain(accessToken);
    expect(everything).not.toContain(engineSecret);
  });

  it("redacts the engine's own secrets from a local step that prints them", async () => {
    const adminToken = "rw-admin-9c1b7e0d44f2a6b3";
    const webhookSecret = "whsec-52aa0c7de1f94b6b";
    const dir = mkdtempSync(join(tmpdir(), "rw-server-secret-"));
    try {
      const file = join(dir, "admin.token");
      writeFileSync(file, `${adminToken}\n`);
      const hook = join(dir, "webhook.secret");
      writeFileSync(hook, webhookSecret);
      const chunks: string[] = [];
      const markdown = [
        "# Leak server secrets",
        "",
        "## Main Steps",
        `- \`cat ${file}\` (name: cat)`,
        `- \`base64 < ${hook}; od -An -tx1 < ${hook} | tr -d ' \\n'\` (name: encoded)`,
        `- \`cat ${hook} >&2; exit 3\` (name: fails)`,
      ].join("\n");
      h = await harness({ redact: [adminToken, webhookSecret, ""] });
      h.engine.events.on("step:output", (e) => chunks.push(e.chunk));
      const ticket = await h.ticket();
      const runbookId = await h.runbook(markdown);
      const { session } = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
      await h.engine.executions.settled(session.id);
      const detail = await h.engine.executions.get(session.id);
      const byName = Object.fromEntries(detail.steps.map((s) => [s.name, s]));
      expect(byName.cat?.stdout).toBe("***\n");
      expect(byName.encoded?.stdout).toBe("***\n***");
      expect(byName.fails?.stderr).toBe("***");
      const everything = JSON.stringify([detail, chunks]);
      expect(everything).not.toContain(adminToken);
      expect(everything).not.toContain(webhookSecret);
      expect(everything).not.toContain(Buffer.from(webhookSecret).toString("base64"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("never runs more sessions at once than the global limit", async () => {
    h = await harness({ policy: { maxConcurrentSessions: 2 } });
    const runbookId = await h.runbook("# Busy\n\n## Main Steps\n- `sleep 0.2` (name: nap)\n");
    let running = 0;
    let peak = 0;
    h.engine.events.on("step:started", () => {
      running++;
      peak = Math.max(peak, running);
    });
    h.engine.events.on("step:finished", () => running--);
    const sessions = [];
    for (let i = 0; i < 5; i++) {
      const ticket = await h.ticket({ title: `busy ${i}` });
      sessions.push((await h.engine.executions.start(ticket.id, runbookId, { actor: alice })).session.id);
    }
    for (const id of sessions) expect((await h.engine.executions.settled(id)).status).toBe("succeeded");
    expect(peak).toBe(2);
  });

  it("never runs more steps on one connection at once than the per-connection limit", async () => {
    h = await harness({ policy: { maxConcurrentPerConnection: 1, maxConcurrentSessions: 8 } });
    const runbookId = await h.runbook(
      "# Conn\n\n## Main Steps\n- `date +%s%N; sleep 0.1; date +%s%N` (name: nap)\n",
    );
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const ticket = await h.ticket({ title: `conn ${i}` });
      ids.push((await h.engine.executions.start(ticket.id, runbookId, { actor: bob })).session.id);
    }
    for (const id of ids) await h.engine.executions.settled(id);
    const spans = await Promise.all(
      ids.map(async (id) =>
        (await h.engine.executions.get(id)).steps[0]!.stdout.trim().split("\n").map(BigInt),
      ),
    );
    spans.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]! >= spans[i - 1]![1]!).toBe(true);
  });
});

describe("session commits", () => {
  /** What a write changes, in a word: `steps:running`, `sessions:main`, `audit:session.started`. */
  function label(write: BatchWrite): string {
    if ("insert" in write) return `${write.collection}:${(write.insert as { action?: string }).action}`;
    const changes = write.update.changes as { status?: string; phase?: string; process?: unknown };
    if (changes.process && !changes.status) return `${write.collection}:process`;
    return `${write.collection}:${changes.status ?? changes.phase}`;
  }

  /** An engine whose store records every batch, with the marker files that existed as it was stored. */
  async function recording(before?: (writes: readonly BatchWrite[]) => Promise<void>) {
    const storage = createMemoryStorage();
    const commits: { writes: string[]; files: string[] }[] = [];
    const batch = storage.batch.bind(storage);
    h = await harness({ storage });
    const dir = h.dir;
    storage.batch = async (writes) => {
      await before?.(writes);
      const files = ["pre", "main", "post"].filter((name) => existsSync(join(dir, name)));
      commits.push({ writes: writes.map(label), files });
      return batch(writes);
    };
    const runbookId = await h.runbook(
      `# Marks\n\n## Prechecks\n- \`touch ${dir}/pre\` (name: pre)\n\n## Main Steps\n- \`touch ${dir}/main\` (name: main)\n\n## Postchecks\n- \`touch ${dir}/post\` (name: post)\n`,
    );
    const ticket = await h.ticket();
    return { storage, commits, dir, runbookId, ticket };
  }

  it("stores a step as running before it starts and its result with the next step's start", async () => {
    const { commits, runbookId, ticket } = await recording();
    const started = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    const session = await h.engine.executions.settled(started.session.id);
    expect(session.status).toBe("succeeded");
    // Each local step's process group is journaled on its own as soon as it exists (racing the step).
    const journal = commits.filter((c) => c.writes.includes("steps:process"));
    expect(journal.map((c) => c.writes)).toEqual([["steps:process"], ["steps:process"], ["steps:process"]]);
    expect(commits.filter((c) => !journal.includes(c))).toEqual([
      { writes: ["audit:session.started", "tickets:executing"], files: [] },
      { writes: ["steps:running"], files: [] },
      { writes: ["steps:succeeded", "steps:running", "sessions:main"], files: ["pre"] },
      { writes: ["steps:succeeded", "steps:running", "sessions:postchecks"], files: ["pre", "main"] },
      {
        writes: ["steps:succeeded", "sessions:succeeded", "tickets:resolved", "audit:session.finished"],
        files: ["pre", "main", "post"],
      },
    ]);
    const detail = await h.engine.executions.get(session.id);
    expect(detail.steps.map((s) => [s.name, s.status, s.version])).toEqual([
      ["pre", "succeeded", 4],
      ["main", "succeeded", 4],
      ["post", "succeeded", 4],
    ]);
    expect(detail.session).toMatchObject({ phase: "postchecks", version: 4 });
    expect(await h.engine.tickets.get(ticket.id)).toMatchObject({ status: "resolved" });
  });

  it("keeps a finished step's result and starts nothing more when the session stops as the next step starts", async () => {
    let sessionId = 0;
    let raced = false;
    const { storage, dir, runbookId, ticket } = await recording(async (writes) => {
      // Another instance cancels the session just as this one would start the main step.
      if (raced || !writes.map(label).includes("sessions:main")) return;
      raced = true;
      const current = (await storage.sessions.get(sessionId))!;
      await storage.sessions.update(sessionId, current.version, { status: "cancelled", error: "stop" });
    });
    const finished: string[] = [];
    h.engine.events.on("step:finished", (e) => finished.push(`${e.name}:${e.status}`));
    const started = await h.engine.executions.start(ticket.id, runbookId, { actor: alice });
    sessionId = started.session.id;
    const session = await h.engine.executions.settled(sessionId);
    expect(raced).toBe(true);
    expect(session.status).toBe("cancelled");
    const detail = await h.engine.executions.get(sessionId);
    expect(detail.steps.map((s) => [s.name, s.status])).toEqual([
      ["pre", "succeeded"],
      ["main", "pending"],
      ["post", "pending"],
    ]);
    expect(existsSync(join(dir, "main"))).toBe(false);
    expect(finished).toEqual(["pre:succeeded"]);
  });
});
