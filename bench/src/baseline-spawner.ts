/**
 * The fair baseline for rows that run local steps: `sh -c true` forked from a small, separate
 * Node process (only node:child_process loaded), asked over IPC one command at a time, with its
 * output piped and drained — the same advantage the local connector's spawn helper gives the
 * engine (a fork from a small process is cheap; one from the large bench process is not), and the
 * same IPC round trip per step. The ratio then says what the executor's bookkeeping costs.
 */
import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";

export interface BaselineSpawner {
  /** Runs `sh -c true` in the helper; resolves when it has exited and its pipes are closed. */
  run(): Promise<void>;
  /** Runs `count` commands with `inFlight` at once; resolves with the elapsed milliseconds. */
  runMany(count: number, inFlight: number): Promise<number>;
  close(): Promise<void>;
}

export async function startBaselineSpawner(): Promise<BaselineSpawner> {
  const child: ChildProcess = fork(join(import.meta.dirname, "baseline-spawner-child.mjs"), [], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    execArgv: [],
  });
  const waiting = new Map<number, { resolve(): void; reject(err: Error): void }>();
  let next = 0;
  child.on("message", (m: { id: number; error?: string }) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(`baseline spawner: ${m.error}`));
    else w.resolve();
  });
  child.on("exit", () => {
    for (const w of waiting.values()) w.reject(new Error("baseline spawner exited"));
    waiting.clear();
  });
  await new Promise<void>((resolve, reject) => {
    child.once("message", () => resolve());
    child.once("error", reject);
  });
  const run = () =>
    new Promise<void>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      child.send({ id });
    });
  return {
    run,
    async runMany(count, inFlight) {
      const t0 = performance.now();
      let started = 0;
      await Promise.all(
        Array.from({ length: Math.min(inFlight, count) }, async () => {
          while (started < count) {
            started++;
            await run();
          }
        }),
      );
      return performance.now() - t0;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.disconnect();
      await exited;
    },
  };
}
