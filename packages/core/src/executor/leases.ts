/**
 * Which sessions this instance drives: claiming those with no live owner (all of them at start on
 * a store nobody shares), renewing and checking the leases of those driven here, and offering a
 * session to other instances when there is no room here.
 */
import type { Logger } from "pino";
import type { ExecutionSession } from "../domain.js";
import type { EngineContext } from "../internal/context.js";
import { errorText, type Live, type StopReason } from "./live.js";

/** Published when a session is left unleased for any instance with room to claim. */
const readyTopic = "runwarden.session.ready";

export class Leases {
  readonly log: Logger;
  private readonly driving: ReadonlyMap<number, Promise<void>>;
  private readonly controllers: ReadonlyMap<number, AbortController>;
  private readonly drive: (sessionId: number) => Promise<void>;
  private readonly isClosing: () => boolean;
  /** Until when (ms) the store holds our lease of each session driven here, as last written. */
  private readonly leaseUntil = new Map<number, number>();
  /** Shared store: claimable sessions may be waiting for room here (claim when a drive ends). */
  private backlog = false;
  private claimRunning = false;
  private claimQueued = false;

  constructor(
    readonly ctx: EngineContext,
    parts: {
      log: Logger;
      /** The drives of this process, by session id (the runner's). */
      driving: ReadonlyMap<number, Promise<void>>;
      /** Their abort controllers: a lost lease stops the drive. */
      controllers: ReadonlyMap<number, AbortController>;
      /** Drives a claimed session (the runner's). */
      drive: (sessionId: number) => Promise<void>;
      isClosing: () => boolean;
    },
  ) {
    this.log = parts.log;
    this.driving = parts.driving;
    this.controllers = parts.controllers;
    this.drive = parts.drive;
    this.isClosing = parts.isClosing;
  }

  /** Subscribes to sessions other instances left unleased; returns the unsubscribe. */
  listen(): () => void {
    return this.ctx.storage.signals.subscribe(readyTopic, () => {
      this.backlog = true;
      this.requestClaim();
    });
  }

  /** A drive ended: forget its lease, and take on a session waiting for room. */
  ended(sessionId: number): void {
    this.leaseUntil.delete(sessionId);
    // Room freed here: take on a session that waits for one.
    if (this.backlog && this.ctx.storage.shared) this.requestClaim();
  }

  /** Claims sessions with no live owner (pending or running) and drives them. */
  async claimPass(now?: string): Promise<number> {
    if (this.isClosing()) return 0;
    // On a shared store an instance claims only what it has room for: the rest stays claimable
    // by instances with free slots instead of queueing here under our lease.
    const shared = this.ctx.storage.shared && now === undefined;
    let total = 0;
    for (;;) {
      const room = this.capacity - this.driving.size;
      if (shared && room <= 0) {
        this.backlog = true;
        return total;
      }
      const limit = shared ? room : Math.max(16, this.ctx.policy.maxConcurrentSessions * 2);
      const at = Date.now();
      const claimed = await this.ctx.storage.claimSessions({
        owner: this.ctx.instanceId,
        ttlMs: this.leaseTtlMs,
        now: now ?? new Date(at).toISOString(),
        statuses: ["pending", "running"],
        limit,
      });
      for (const session of claimed) {
        if (now !== undefined)
          await this.ctx.storage.renewLease(
            session.id,
            this.ctx.instanceId,
            this.leaseTtlMs,
            new Date(at).toISOString(),
          );
        this.leaseUntil.set(session.id, at + this.leaseTtlMs);
        if (!this.driving.has(session.id)) this.log.info({ sessionId: session.id }, "session claimed");
        void this.drive(session.id);
      }
      total += claimed.length;
      if (claimed.length < limit) {
        if (shared) this.backlog = false;
        return total;
      }
    }
  }

  /**
   * Drops every lease on a session waiting for approval (a store nobody shares: an earlier
   * process's leases it never released), so the session is claimable as soon as it is decided.
   */
  async releasePaused(): Promise<number> {
    const stale = await this.ctx.storage.claimSessions({
      owner: this.ctx.instanceId,
      ttlMs: this.leaseTtlMs,
      now: "9999-01-01T00:00:00.000Z",
      statuses: ["awaiting_approval"],
      limit: 10_000,
    });
    for (const session of stale) await this.ctx.storage.releaseLease(session.id, this.ctx.instanceId);
    return stale.length;
  }

  /** Sessions driven here at most on a shared store: running ones plus as many queued. */
  private get capacity(): number {
    return 2 * Math.max(1, this.ctx.policy.maxConcurrentSessions);
  }

  /** Runs a claim pass soon, one at a time (a request during a pass runs another after it). */
  requestClaim(): void {
    if (this.isClosing()) return;
    if (this.claimRunning) {
      this.claimQueued = true;
      return;
    }
    this.claimRunning = true;
    this.claimPass()
      .catch((err) => this.log.warn({ err }, "claim failed"))
      .finally(() => {
        this.claimRunning = false;
        if (this.claimQueued) {
          this.claimQueued = false;
          this.requestClaim();
        }
      });
  }

  /** A session stored without a lease (no room here): whichever instance has room claims it. */
  async offer(sessionId: number): Promise<void> {
    this.backlog = true;
    await this.ctx.storage.signals
      .publish(readyTopic, String(sessionId))
      .catch((err) => this.log.warn({ err }, "ready signal not sent"));
  }

  get leaseTtlMs(): number {
    return Math.max(300, this.ctx.policy.leaseTtlMs);
  }

  /** Renews the lease of every session driven here (queued, running a step, or between steps). */
  async renewLeases(): Promise<void> {
    const at = Date.now();
    const now = new Date(at).toISOString();
    for (const id of [...this.driving.keys()]) {
      if (await this.ctx.storage.renewLease(id, this.ctx.instanceId, this.leaseTtlMs, now)) {
        this.leaseUntil.set(id, at + this.leaseTtlMs);
      } else {
        this.leaseLost(id);
      }
    }
  }

  /** Another instance may own the session now: stop driving it here (a running step is killed). */
  private leaseLost(sessionId: number): void {
    this.leaseUntil.delete(sessionId);
    const controller = this.controllers.get(sessionId);
    if (!controller || controller.signal.aborted) return;
    this.log.warn({ sessionId }, "session lease lost");
    controller.abort({ kind: "lease" } satisfies StopReason);
  }

  /**
   * True when the store still holds our lease of the session: known from the last renewal while it
   * is fresh (no query), otherwise renewed now. A step never starts on a lease that may have run
   * out (the store was unreachable, the process stalled): another instance may own the session.
   */
  async holdsLease(live: Live): Promise<boolean> {
    if (!this.ctx.storage.shared) return true;
    const id = live.session.id;
    const until = this.leaseUntil.get(id);
    const at = Date.now();
    if (until !== undefined && at < until - this.leaseTtlMs / 3) return true;
    let held = false;
    try {
      held = await this.ctx.storage.renewLease(
        id,
        this.ctx.instanceId,
        this.leaseTtlMs,
        new Date(at).toISOString(),
      );
    } catch (err) {
      this.log.warn(
        { sessionId: id, err: { message: errorText(err, live.redactor) } },
        "lease renewal failed",
      );
    }
    if (held) {
      this.leaseUntil.set(id, at + this.leaseTtlMs);
      return true;
    }
    this.leaseLost(id);
    return false;
  }

  /**
   * Lease for a session created here (it is inserted holding it), or null on a shared store when
   * this instance has no room: the session is then `offer`ed to the others.
   */
  newLease(): { owner: string; expiresAt: string } | null {
    if (this.ctx.storage.shared && this.driving.size >= this.capacity) return null;
    return {
      owner: this.ctx.instanceId,
      expiresAt: new Date(Date.now() + this.leaseTtlMs).toISOString(),
    };
  }

  /** Remembers the expiry of our lease as the store returned it (claims record theirs first). */
  noteLease(session: ExecutionSession): void {
    const { lease } = session;
    if (lease?.owner !== this.ctx.instanceId || this.leaseUntil.has(session.id)) return;
    const until = Date.parse(lease.expiresAt);
    if (!Number.isNaN(until)) this.leaseUntil.set(session.id, until);
  }
}
