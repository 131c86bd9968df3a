/**
 * The timers the sync services schedule on, and the delivery loop every outbox runs: flush now,
 * then again when the next pending item falls due.
 */
import type { Logger } from "pino";
import { systemClock } from "../policy.js";
import type { Outbox, SyncClock } from "./outbox.js";

/** The system clock with Node's timers (unref'd: they never keep a process alive). */
export const realTimers: SyncClock = {
  now: () => systemClock.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** The delivery loop around an outbox: flush now, then again when the next item falls due. */
export interface DeliveryWorker {
  /** Flushes now (or right after the flush in progress) and schedules the next wake-up. */
  kick(): void;
  /** Stops scheduling; resolves when the flush in progress is over. */
  stop(): Promise<void>;
}

/**
 * Runs `outbox.flush()` whenever kicked and otherwise sleeps until the next pending item falls
 * due, never longer than `idleMs` (another instance may have enqueued meanwhile).
 */
export function createDeliveryWorker(
  outbox: Pick<Outbox, "flush" | "nextDue">,
  deps: { clock: SyncClock; logger: Logger; signal: AbortSignal; idleMs: number },
): DeliveryWorker {
  const { clock, logger, signal, idleMs } = deps;
  let timer: unknown;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  function kick(): void {
    if (stopped || signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    clock.clearTimeout(timer);
    running = (async () => {
      do {
        again = false;
        try {
          await outbox.flush();
        } catch (err) {
          logger.error({ err }, "outbox worker failed");
        }
      } while (again && !signal.aborted);
      let wait = idleMs;
      try {
        const due = await outbox.nextDue();
        if (due !== undefined) wait = Math.min(idleMs, Math.max(0, due - clock.now()));
      } catch (err) {
        logger.error({ err }, "outbox worker failed");
      }
      running = undefined;
      if (!stopped && !signal.aborted) timer = clock.setTimeout(kick, wait);
    })();
  }

  return {
    kick,
    async stop() {
      stopped = true;
      clock.clearTimeout(timer);
      await running;
    },
  };
}
