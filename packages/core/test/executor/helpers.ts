/** Shared set-up for the executor tests: an engine on a store, a ticket, a runbook. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import {
  type Actor,
  type Clock,
  createEngine,
  defineConnector,
  type Engine,
  type EngineOptions,
  type Ticket,
} from "../../src/index.js";

export const alice: Actor = { id: "alice", roles: ["operator", "approver"] };
export const bob: Actor = { id: "bob", roles: ["approver"] };
export const carol: Actor = { id: "carol", roles: ["operator", "approver"] };
export const viewer: Actor = { id: "victor", roles: ["viewer"] };
export const admin: Actor = { id: "root", roles: ["admin"] };

/** A clock the test moves by hand; starts at a fixed instant. */
export function fakeClock(
  start = Date.parse("2030-01-01T00:00:00.000Z"),
): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

/**
 * A PostgreSQL connector that reaches nothing: it makes `database` connections to PostgreSQL a
 * known connection type for tests that store one without running a step on it.
 */
export const postgresStub = defineConnector({
  kind: "infrastructure",
  name: "postgres-stub",
  version: "1.0.0",
  sdk: "^0.1.0",
  configSchema: z.object({}),
  capabilities: ["exec"],
  connectionTypes: ["database:postgresql"],
  create: () => ({
    open: async () => {
      throw new Error("postgres-stub reaches no database");
    },
    healthCheck: async () => ({ ok: false, latencyMs: 0, reason: "unreachable", message: "a stub" }),
  }),
});

export const testKey = Buffer.alloc(32, 7).toString("base64");

export interface Harness {
  engine: Engine;
  dir: string;
  ticket(fields?: Record<string, unknown>): Promise<Ticket>;
  runbook(markdown: string, status?: "draft" | "approved"): Promise<number>;
  close(): Promise<void>;
}

/** An engine with a temp dir for canary files; `close()` removes both. */
export async function harness(options: EngineOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "rw-exec-"));
  const engine = await createEngine({
    vault: { key: testKey },
    ...options,
    policy: { retryBackoffMs: 10, closeGraceMs: 200, ...options.policy },
  });
  let n = 0;
  return {
    engine,
    dir,
    async ticket(fields = {}) {
      n++;
      const { ticket } = await engine.tickets.ingest(
        {
          title: `Ticket ${n}`,
          description: "",
          severity: "high",
          environment: "prod",
          service: "db",
          source: "test",
          ...fields,
        },
        { autoExecute: false },
      );
      return ticket;
    },
    async runbook(markdown, status = "approved") {
      const { runbook } = await engine.runbooks.create(markdown, {
        actor: { id: "author", roles: ["admin"] },
        status,
      });
      return runbook.id;
    },
    async close() {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
