import { describe, expect, it } from "vitest";
import { CircuitBreaker, KeyedSemaphore, Semaphore } from "../../src/executor/concurrency.js";

describe("Semaphore", () => {
  it("lets at most `limit` holders in, first come first served", async () => {
    const s = new Semaphore(2);
    const order: number[] = [];
    const a = await s.acquire();
    const b = await s.acquire();
    const c = s.acquire().then((release) => {
      order.push(3);
      return release;
    });
    const d = s.acquire().then((release) => {
      order.push(4);
      return release;
    });
    expect(s.running).toBe(2);
    a();
    a();
    (await c)();
    b();
    (await d)();
    expect(order).toEqual([3, 4]);
    expect(s.running).toBe(0);
  });

  it("gives up waiting when the signal aborts", async () => {
    const s = new Semaphore(1);
    await s.acquire();
    const controller = new AbortController();
    const waiting = s.acquire(controller.signal);
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    expect(s.waiting).toBe(0);
  });
});

describe("KeyedSemaphore", () => {
  it("limits each key on its own", async () => {
    const k = new KeyedSemaphore(1);
    const a = await k.acquire("db");
    const b = await k.acquire("web");
    let second = false;
    const pending = k.acquire("db").then(() => (second = true));
    await Promise.resolve();
    expect(second).toBe(false);
    a();
    await pending;
    b();
    expect(second).toBe(true);
  });
});

describe("CircuitBreaker", () => {
  it("opens after N consecutive failures for the cool-down, and a success closes it", () => {
    let now = 0;
    const breaker = new CircuitBreaker(3, 1000, { now: () => now });
    expect(breaker.failure("rb")).toBe(false);
    expect(breaker.failure("rb")).toBe(false);
    expect(breaker.failure("rb")).toBe(true);
    expect(() => breaker.check("rb")).toThrow(expect.objectContaining({ code: "RW_ERR_EXEC_CIRCUIT_OPEN" }));
    now = 1001;
    expect(breaker.state("rb").open).toBe(false);
    expect(breaker.failure("rb")).toBe(true);
    breaker.success("rb");
    expect(breaker.state("rb")).toEqual({ open: false, failures: 0, until: null });
  });
});
