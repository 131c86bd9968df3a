/**
 * Paces concurrent generic webhooks into waves. There is one group-commit layer, the store's: the
 * writes issued in one turn of the event loop share a transaction, each in its own savepoint, so
 * one that fails rolls back alone (storage-sqlite). This file only decides *when* each request
 * enters core: while a wave of requests is being stored, new ones wait, and they all enter
 * together once it is done — so their writes reach the store in the same turn and share one
 * commit, instead of trickling in one or two per turn as their bodies arrive. It stores nothing,
 * maps nothing and isolates nothing; each request still goes through `tickets.ingestWebhook` on
 * its own, with its own actor, and is answered with its own result or error.
 */

/** Runs `work` in the current wave, or in the next one when a wave is in flight. */
export type Wave = <T>(work: () => Promise<T>) => Promise<T>;

/** A wave gate (one per adapter). */
export function createWaves(): Wave {
  let running = 0;
  let scheduled = false;
  let waiting: (() => void)[] = [];
  const release = () => {
    scheduled = false;
    const next = waiting;
    waiting = [];
    for (const enter of next) enter();
  };
  return async (work) => {
    // Every request arriving in this turn (or while a wave is stored) joins the next wave.
    await new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (running === 0 && !scheduled) {
        scheduled = true;
        setImmediate(release);
      }
    });
    running++;
    try {
      return await work();
    } finally {
      running--;
      if (running === 0 && waiting.length > 0 && !scheduled) release();
    }
  };
}
