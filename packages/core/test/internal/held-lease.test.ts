import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryStorage, encodeLease, type Storage } from "../../src/index.js";
import { HeldLease } from "../../src/internal/held-lease.js";
import { leaseKey } from "../../src/storage.js";

const log = pino({ enabled: false });
const ttlMs = 3_000;

function leaseOf(storage: Storage, instanceId: string, onLost?: () => void): HeldLease {
  return new HeldLease({ storage, instanceId }, "work", ttlMs, log, onLost);
}

describe("HeldLease", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse("2026-12-07T12:00:00Z") });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps a taken lease renewed past its TTL, so another instance cannot take it", async () => {
    const storage = createMemoryStorage();
    const a = leaseOf(storage, "engine-a");
    const b = leaseOf(storage, "engine-b");
    expect(await a.take()).toBe(true);
    expect(await b.take()).toBe(false);
    await vi.advanceTimersByTimeAsync(ttlMs * 3);
    expect(a.holding).toBe(true);
    expect(await b.take()).toBe(false);
    expect(await b.heldElsewhereUntil()).toBeGreaterThan(Date.now());
    expect((await storage.leases.get("work"))?.owner).toBe("engine-a");
    a.stop();
  });

  it("runs out when its holder stops renewing, and another instance takes it then", async () => {
    const storage = createMemoryStorage();
    const a = leaseOf(storage, "engine-a");
    const b = leaseOf(storage, "engine-b");
    await a.take();
    a.stop();
    expect(await b.take()).toBe(false);
    await vi.advanceTimersByTimeAsync(ttlMs + 1);
    expect(await b.heldElsewhereUntil()).toBe(0);
    expect(await b.take()).toBe(true);
    expect(await a.confirm()).toBe(false);
    b.stop();
  });

  it("is free for another instance at once when released", async () => {
    const storage = createMemoryStorage();
    const a = leaseOf(storage, "engine-a");
    const b = leaseOf(storage, "engine-b");
    await a.take();
    await a.release();
    expect(a.holding).toBe(false);
    expect(await b.take()).toBe(true);
    // Releasing a lease another instance holds leaves it with that instance.
    await a.release();
    expect((await storage.leases.get("work"))?.owner).toBe("engine-b");
    b.stop();
  });

  it("drops the lease and says so when a renewal finds another instance holding it", async () => {
    const storage = createMemoryStorage();
    const onLost = vi.fn();
    const a = leaseOf(storage, "engine-a", onLost);
    await a.take();
    // Taken over meanwhile (this instance stalled past the TTL, say).
    await storage.setValue(leaseKey("work"), encodeLease("engine-b", Date.now() + 10 * ttlMs));
    await vi.advanceTimersByTimeAsync(ttlMs / 3 + 1);
    expect(onLost).toHaveBeenCalledOnce();
    expect(a.holding).toBe(false);
    expect(await a.confirm()).toBe(false);
  });

  it("keeps the lease through a failing renewal while it has not run out", async () => {
    const storage = createMemoryStorage();
    const acquire = storage.leases.acquire.bind(storage.leases);
    let failing = false;
    const flaky: Storage = {
      ...storage,
      leases: {
        ...storage.leases,
        acquire: (...args) => (failing ? Promise.reject(new Error("store unreachable")) : acquire(...args)),
      },
    };
    const a = leaseOf(flaky, "engine-a");
    await a.take();
    failing = true;
    await vi.advanceTimersByTimeAsync(ttlMs / 3 + 1);
    expect(a.holding).toBe(true);
    failing = false;
    await vi.advanceTimersByTimeAsync(ttlMs / 3 + 1);
    expect(a.holding).toBe(true);
    expect(Date.parse((await storage.leases.get("work"))!.expiresAt)).toBeGreaterThan(Date.now() + ttlMs / 2);
    // A store that stays away past the TTL: the lease is taken as lost.
    failing = true;
    await vi.advanceTimersByTimeAsync(ttlMs * 2);
    expect(a.holding).toBe(false);
  });
});
