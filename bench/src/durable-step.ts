/**
 * A durable step through the executor, for the SSH and SQL rows: an engine on a fresh SQLite file
 * with the real connector registered, a credential and a connection to the local service created
 * through the engine's APIs, and an approved one-step runbook naming that connection. `run()` starts
 * one session for a new ticket and resolves when the engine reports it finished (every transition
 * persisted before the step acts and after it ends), so its time is what one remediation step
 * through the executor costs, against which a row sets the bare connector call.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConnectionInput, type CredentialInput, createEngine, type Engine } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";

/** What the engine needs to run the step: its connector, the credential, the connection, the step. */
export interface DurableStepSetup {
  connector: NonNullable<NonNullable<Parameters<typeof createEngine>[0]>["connectors"]>[number];
  credential: Omit<CredentialInput, "environment">;
  connection: Omit<ConnectionInput, "credentialId" | "environment" | "name">;
  /** The step line of the runbook, without the connection annotation (added here). */
  step: string;
  /** Tickets to prepare (one per `run()`). */
  sessions: number;
}

export interface DurableStep {
  engine: Engine;
  /** Runs the next prepared ticket's session; resolves with its milliseconds, throws unless it succeeded. */
  run(): Promise<number>;
  close(): Promise<void>;
}

const actor = { id: "bench", roles: ["admin" as const] };
const environment = "bench";

/** Builds the engine, its connection and runbook, and `sessions` tickets ready to run. */
export async function startDurableStep(setup: DurableStepSetup): Promise<DurableStep> {
  const dir = mkdtempSync(join(tmpdir(), "rw-bench-durable-step-"));
  const engine = await createEngine({
    storage: createSqliteStorage({ path: join(dir, "bench.db") }),
    vault: { key: Buffer.alloc(32, 9) },
    connectors: [setup.connector],
  });
  try {
    await engine.start();
    const credential = await engine.credentials.create(
      { ...setup.credential, environment } as CredentialInput,
      { actor },
    );
    await engine.connections.create(
      {
        ...setup.connection,
        name: "bench-target",
        credentialId: credential.id,
        environment,
      } as ConnectionInput,
      { actor },
    );
    const { runbook } = await engine.runbooks.create(
      `# One step\n\n## Main Steps\n- ${setup.step} (name: step, connection: bench-target, requires_approval: false, severity: safe)\n`,
      { actor, status: "approved" },
    );
    const inputs = Array.from({ length: setup.sessions }, (_, i) => ({
      title: `durable step ${i}`,
      environment,
      service: "svc",
      source: "bench",
    }));
    const tickets = (await engine.tickets.ingestMany(inputs, { autoExecute: false })).map((r) => r.ticket.id);

    // Keyed by ticket: the listener is in place before the session starts, so no read is timed.
    const waiting = new Map<number, (status: string, error: string | null) => void>();
    engine.events.on("session:finished", (e) => waiting.get(e.ticketId)?.(e.status, e.error));
    let next = 0;
    return {
      engine,
      async run() {
        const ticket = tickets[next++];
        if (ticket === undefined) throw new Error("durable step: no prepared ticket left");
        const done = new Promise<[string, string | null]>((resolve) => {
          waiting.set(ticket, (status, error) => resolve([status, error]));
        });
        const start = performance.now();
        await engine.executions.start(ticket, runbook.id, { actor });
        const [status, error] = await done;
        const ms = performance.now() - start;
        waiting.delete(ticket);
        if (status !== "succeeded") throw new Error(`durable step: session ${status}: ${error ?? ""}`);
        return ms;
      },
      async close() {
        await engine.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await engine.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
