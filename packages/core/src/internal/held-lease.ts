/**
 * One named lease (`Storage.leases`) held by this instance for background work that must run on
 * one engine instance at a time: taken, renewed in the background every third of its TTL while
 * held, and given up. A renewal the store refuses means another instance took it over: the lease
 * is dropped here and `onLost` runs.
 */
import type { Logger } from "pino";
import type { EngineContext } from "./context.js";

export class HeldLease {
  private held = false;
  /** Until when (ms) the store holds our lease, as last written. */
  private until = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly ctx: Pick<EngineContext, "storage" | "instanceId">,
    readonly name: string,
    readonly ttlMs: number,
    private readonly log: Logger,
    private readonly onLost?: () => void,
  ) {}

  /**
   * True when this instance holds the lease with at least a third of its TTL left (by the last
   * write), so work started now finishes inside it; otherwise it is taken (or renewed) now.
   */
  async confirm(): Promise<boolean> {
    if (this.stopped) return false;
    if (this.held && Date.now() < this.until - this.ttlMs / 3) return true;
    return this.take();
  }

  /** Whether the last take or renewal left the lease here (no query). */
  get holding(): boolean {
    return this.held;
  }

  /** Takes the lease when it is free, expired or ours; true when it is held here afterwards. */
  async take(): Promise<boolean> {
    if (this.stopped) return false;
    const at = Date.now();
    let ok = false;
    try {
      ok = await this.ctx.storage.leases.acquire(
        this.name,
        this.ctx.instanceId,
        this.ttlMs,
        new Date(at).toISOString(),
      );
    } catch (err) {
      this.log.warn({ lease: this.name, err }, "lease not taken");
      ok = false;
    }
    if (ok && !this.stopped) {
      this.held = true;
      this.until = at + this.ttlMs;
      this.schedule();
      return true;
    }
    if (this.held) this.lost();
    return false;
  }

  /** Until when (ms) another instance holds the lease, or 0 when it is free or ours. */
  async heldElsewhereUntil(): Promise<number> {
    try {
      const holder = await this.ctx.storage.leases.get(this.name);
      if (!holder || holder.owner === this.ctx.instanceId) return 0;
      const expires = Date.parse(holder.expiresAt);
      return expires > Date.now() ? expires : 0;
    } catch {
      return 0;
    }
  }

  /** Gives the lease up if held here (best effort: otherwise it runs out). */
  async release(): Promise<void> {
    const was = this.held;
    this.held = false;
    this.until = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!was) return;
    await this.ctx.storage.leases.release(this.name, this.ctx.instanceId).catch((err: unknown) => {
      this.log.warn({ lease: this.name, err }, "lease not released; it runs out");
    });
  }

  /** Stops renewing and taking, without giving the lease up (it runs out: what a crash leaves). */
  stop(): void {
    this.stopped = true;
    this.held = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.renew(), Math.max(50, Math.floor(this.ttlMs / 3)));
    this.timer.unref?.();
  }

  private async renew(): Promise<void> {
    this.timer = undefined;
    if (!this.held || this.stopped) return;
    const at = Date.now();
    try {
      if (
        await this.ctx.storage.leases.acquire(
          this.name,
          this.ctx.instanceId,
          this.ttlMs,
          new Date(at).toISOString(),
        )
      ) {
        if (!this.held || this.stopped) return;
        this.until = at + this.ttlMs;
        this.schedule();
        return;
      }
    } catch (err) {
      this.log.warn({ lease: this.name, err }, "lease renewal failed");
      // The store may come back before the lease runs out: try again meanwhile.
      if (this.held && Date.now() < this.until) {
        this.schedule();
        return;
      }
    }
    if (this.held) this.lost();
  }

  private lost(): void {
    this.held = false;
    this.until = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.log.warn({ lease: this.name }, "lease lost");
    this.onLost?.();
  }
}
