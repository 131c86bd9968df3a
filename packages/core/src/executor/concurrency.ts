/**
 * Concurrency controls of the executor: a counting semaphore (global and per connection) and a
 * circuit breaker per runbook that pauses auto-execution after consecutive failures.
 */
import { rwError } from "../errors.js";
import type { Clock } from "../policy.js";

/** A FIFO counting semaphore. `acquire` resolves to a release function (idempotent). */
export class Semaphore {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  get running(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length;
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.active < this.limit && this.queue.length === 0) {
      this.active++;
      return this.releaser();
    }
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const at = this.queue.indexOf(grant);
        if (at !== -1) this.queue.splice(at, 1);
        reject(signal?.reason ?? new Error("aborted"));
      };
      this.queue.push(grant);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    };
  }
}

/** One semaphore per key, created on first use and dropped when idle. */
export class KeyedSemaphore {
  private readonly semaphores = new Map<string, Semaphore>();

  constructor(private readonly limit: number) {}

  async acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    let semaphore = this.semaphores.get(key);
    if (!semaphore) {
      semaphore = new Semaphore(this.limit);
      this.semaphores.set(key, semaphore);
    }
    const release = await semaphore.acquire(signal);
    const held = semaphore;
    return () => {
      release();
      if (held.running === 0 && held.waiting === 0 && this.semaphores.get(key) === held)
        this.semaphores.delete(key);
    };
  }
}

/** The circuit breaker of a runbook: auto-execution of it pauses after consecutive failures. */
export interface BreakerState {
  /** True while auto-execution of the runbook is paused. */
  open: boolean;
  /** Consecutive failed sessions of the runbook. */
  failures: number;
  /** ISO time the breaker closes again, when open. */
  until: string | null;
}

/**
 * Counts consecutive failed sessions per runbook. At `threshold` the breaker opens for `cooldownMs`
 * (by the engine's clock): auto-execution of that runbook is refused with RW_ERR_EXEC_CIRCUIT_OPEN.
 * A success closes it.
 */
export class CircuitBreaker {
  private readonly states = new Map<string, { failures: number; openUntil: number }>();

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly clock: Clock,
  ) {}

  state(key: string): BreakerState {
    const state = this.states.get(key);
    if (!state) return { open: false, failures: 0, until: null };
    const open = state.openUntil > this.clock.now();
    return { open, failures: state.failures, until: open ? new Date(state.openUntil).toISOString() : null };
  }

  /** Throws RW_ERR_EXEC_CIRCUIT_OPEN while the breaker is open. */
  check(key: string): void {
    const state = this.state(key);
    if (state.open) {
      throw rwError(
        "RW_ERR_EXEC_CIRCUIT_OPEN",
        `auto-execution of runbook "${key}" is paused after ${state.failures} consecutive failures, until ${state.until}`,
        { details: { runbook: key, failures: state.failures, until: state.until } },
      );
    }
  }

  success(key: string): void {
    this.states.delete(key);
  }

  /** Records a failure; true when this failure opened the breaker. */
  failure(key: string): boolean {
    const state = this.states.get(key) ?? { failures: 0, openUntil: 0 };
    state.failures++;
    const opens = state.failures >= this.threshold && state.openUntil <= this.clock.now();
    if (opens) state.openUntil = this.clock.now() + this.cooldownMs;
    this.states.set(key, state);
    return opens;
  }

  reset(key: string): void {
    this.states.delete(key);
  }

  /** Every runbook key whose breaker is open now, with its state. */
  open(): (BreakerState & { runbookKey: string })[] {
    const out: (BreakerState & { runbookKey: string })[] = [];
    for (const key of this.states.keys()) {
      const state = this.state(key);
      if (state.open) out.push({ runbookKey: key, ...state });
    }
    return out;
  }
}
