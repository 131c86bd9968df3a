/**
 * A clock the tests drive by hand. It satisfies core's `Clock` (`now()`), and also schedules
 * timers that fire only when the test moves time forward, in order of due time.
 */

/** A manually driven clock with timers. */
export interface FakeClock {
  /** Milliseconds since the epoch, like `Date.now()`. */
  now(): number;
  /** `now()` as a Date. */
  date(): Date;
  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): Promise<void>;
  /** Jumps to an absolute time (never backwards), firing the timers due by then. */
  set(time: number | Date): Promise<void>;
  /** Schedules `callback` at `now() + ms` on the fake timeline; returns its id. */
  setTimeout(callback: () => void, ms: number): number;
  /** Cancels a timer by id. */
  clearTimeout(id: number): void;
  /** Resolves once time has advanced by `ms`; rejects with the signal's reason on abort. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Timers still waiting to fire. */
  pending(): number;
}

interface Timer {
  id: number;
  due: number;
  seq: number;
  callback: () => void;
}

/**
 * Creates a fake clock, starting at `start` (default 2024-01-01T00:00:00Z, so snapshots are
 * stable).
 */
export function createFakeClock(start: number | Date = Date.UTC(2024, 0, 1)): FakeClock {
  let current = typeof start === "number" ? start : start.getTime();
  let nextId = 1;
  let seq = 0;
  const timers = new Map<number, Timer>();

  async function runUntil(target: number): Promise<void> {
    for (;;) {
      let next: Timer | undefined;
      for (const timer of timers.values()) {
        if (timer.due > target) continue;
        if (!next || timer.due < next.due || (timer.due === next.due && timer.seq < next.seq)) next = timer;
      }
      if (!next) break;
      timers.delete(next.id);
      current = Math.max(current, next.due);
      next.callback();
      // Let promise continuations scheduled by the callback run before the next timer.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    current = Math.max(current, target);
  }

  const clock: FakeClock = {
    now: () => current,
    date: () => new Date(current),
    advance(ms) {
      if (!(ms >= 0)) throw new RangeError("advance() needs a non-negative number of milliseconds");
      return runUntil(current + ms);
    },
    set(time) {
      const target = typeof time === "number" ? time : time.getTime();
      if (target < current) throw new RangeError("a fake clock does not go backwards");
      return runUntil(target);
    },
    setTimeout(callback, ms) {
      const id = nextId++;
      timers.set(id, { id, due: current + Math.max(0, ms), seq: seq++, callback });
      return id;
    },
    clearTimeout(id) {
      timers.delete(id);
    },
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const onAbort = () => {
          clock.clearTimeout(id);
          reject(signal?.reason);
        };
        const id = clock.setTimeout(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, ms);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    pending: () => timers.size,
  };
  return clock;
}
