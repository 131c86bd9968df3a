/**
 * The intake queue's promise across a SIGKILL: a webhook answered 2xx is durable, so after a
 * restart every acknowledged alert is a ticket, none lost and none doubled; a full queue answers
 * 429 (a source's share) or 503 (the whole bound) with Retry-After and loses nothing it acknowledged.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine, type Engine } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { beacon } from "./fixtures/beacon.js";

let engine: Engine | undefined;
let child: ChildProcess | undefined;
let dir: string;
afterEach(async () => {
  child?.kill("SIGKILL");
  await engine?.close();
  engine = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the child server; resolves with its port. */
async function startChild(path: string, mode: "run" | "held"): Promise<number> {
  child = spawn(
    process.execPath,
    [
      "--conditions=@runwarden/source",
      "--import",
      "tsx",
      join(import.meta.dirname, "fixtures/intake-child.ts"),
      path,
      mode,
    ],
    { cwd: import.meta.dirname, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  return new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`child never listened: ${stderr}`)), 30_000);
    child!.stdout!.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child!.on("exit", (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
  });
}

async function killChild(): Promise<void> {
  const running = child!;
  const exited = new Promise((resolve) => running.on("exit", resolve));
  running.kill("SIGKILL");
  await exited;
  child = undefined;
}

/** Posts one alert (generic by default); resolves with the status and Retry-After (0 when the connection died). */
async function post(
  port: number,
  title: string,
  source = "generic",
): Promise<{ status: number; retryAfter: string | null; code?: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/tickets/webhook/${source}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-runwarden-webhook-secret": "crash-test-webhook-secret",
      },
      body: JSON.stringify({
        title,
        description: "queue crash test",
        severity: "high",
        environment: "dev",
        service: "ci",
      }),
    });
    const body = (await response.json()) as { error?: { code: string } };
    return {
      status: response.status,
      retryAfter: response.headers.get("retry-after"),
      code: body.error?.code,
    };
  } catch {
    return { status: 0, retryAfter: null };
  }
}

/** A new engine on the file: started, it stores what the queue holds; resolves once it is empty. */
async function restart(path: string): Promise<Engine> {
  const fresh = await createEngine({
    storage: createSqliteStorage({ path }),
    vault: { key: Buffer.alloc(32, 1) },
    connectors: [{ connector: beacon, config: {} }],
    intake: { enabled: true },
  });
  await fresh.start();
  const until = Date.now() + 60_000;
  while ((await fresh.intake.depth()).entries > 0) {
    if (Date.now() > until) throw new Error("the queue never drained");
    await new Promise((r) => setTimeout(r, 50));
  }
  return fresh;
}

async function ticketsByTitle(on: Engine): Promise<Map<string, number[]>> {
  const byTitle = new Map<string, number[]>();
  let cursor: number | undefined;
  for (;;) {
    const page = await on.storage.tickets.find({ order: "asc", limit: 500, ...(cursor ? { cursor } : {}) });
    if (page.length === 0) return byTitle;
    for (const t of page) byTitle.set(t.title, [...(byTitle.get(t.title) ?? []), t.occurrences]);
    cursor = page.at(-1)!.id;
  }
}

describe("intake queue crash safety", () => {
  it("keeps every acknowledged webhook as exactly one ticket when the engine is SIGKILLed mid-storm", async () => {
    dir = mkdtempSync(join(tmpdir(), "rw-intake-crash-"));
    const path = join(dir, "runwarden.db");
    const port = await startChild(path, "run");
    const acknowledged: string[] = [];
    let sent = 0;
    // Eight senders post distinct alerts until 300 are acknowledged; then the kill lands mid-flight.
    const senders = Array.from({ length: 8 }, async () => {
      while (child && acknowledged.length < 300) {
        const title = `storm alert ${sent++}`;
        const { status } = await post(port, title);
        if (status === 202) acknowledged.push(title);
        else if (status === 0) return;
      }
    });
    await Promise.race([
      Promise.all(senders),
      (async () => {
        while (acknowledged.length < 300) await new Promise((r) => setTimeout(r, 2));
      })(),
    ]);
    await killChild();
    await Promise.all(senders);

    engine = await restart(path);
    const stored = await ticketsByTitle(engine);
    expect(acknowledged.length).toBeGreaterThanOrEqual(300);
    for (const title of acknowledged) expect(stored.get(title), title).toEqual([1]);
    // Nothing stored twice, and nothing stored that was not sent.
    for (const [title, occurrences] of stored) {
      expect(occurrences, title).toEqual([1]);
      expect(Number(title.split(" ").at(-1))).toBeLessThan(sent);
    }
  });

  it("answers 429 and 503 with Retry-After when the queue is full, and loses nothing it acknowledged", async () => {
    dir = mkdtempSync(join(tmpdir(), "rw-intake-full-"));
    const path = join(dir, "runwarden.db");
    // Never started: nothing is stored, so the queue (40 entries, 20 per source) only fills.
    const port = await startChild(path, "held");
    const acknowledged: string[] = [];
    const refusals: { status: number; retryAfter: string | null; code?: string }[] = [];
    for (let i = 0; i < 30; i++) {
      const title = `held alert ${i}`;
      const answer = await post(port, title);
      if (answer.status === 202) acknowledged.push(title);
      else refusals.push(answer);
    }
    expect(acknowledged).toHaveLength(20);
    expect(refusals).toHaveLength(10);
    for (const refusal of refusals) {
      expect(refusal).toMatchObject({ status: 429, code: "RW_ERR_INTAKE_SOURCE_FULL" });
      expect(Number(refusal.retryAfter)).toBeGreaterThan(0);
    }
    // A second source still gets its share; past the whole bound every source hears 503.
    const full: { status: number; retryAfter: string | null; code?: string }[] = [];
    for (let i = 0; i < 25; i++) {
      const title = `beacon alert ${i}`;
      const answer = await post(port, title, "beacon");
      if (answer.status === 202) acknowledged.push(title);
      else full.push(answer);
    }
    expect(acknowledged).toHaveLength(40);
    expect(full).toHaveLength(5);
    full.push(await post(port, "held alert late"));
    for (const refusal of full) {
      expect(refusal).toMatchObject({ status: 503, code: "RW_ERR_INTAKE_FULL" });
      expect(Number(refusal.retryAfter)).toBeGreaterThan(0);
    }
    await killChild();

    engine = await restart(path);
    const stored = await ticketsByTitle(engine);
    expect([...stored.keys()].sort()).toEqual([...acknowledged].sort());
    for (const title of acknowledged) expect(stored.get(title)).toEqual([1]);
  });
});
