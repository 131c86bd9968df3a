import { describe, expect, it } from "vitest";
import { callSignal, timedOut } from "../../src/internal/call-signal.js";

describe("callSignal", () => {
  it("is the lifetime signal itself when there is no timeout and no parent", () => {
    const lifetime = new AbortController().signal;
    expect(callSignal(lifetime)).toBe(lifetime);
  });

  it("aborts when the lifetime aborts, with its reason, and does not count as a timeout", () => {
    const lifetime = new AbortController();
    const signal = callSignal(lifetime.signal, 60_000);
    lifetime.abort("engine closing");
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe("engine closing");
    expect(timedOut(signal)).toBe(false);
  });

  it("aborts when the parent aborts", () => {
    const parent = new AbortController();
    const signal = callSignal(new AbortController().signal, undefined, parent.signal);
    parent.abort({ kind: "cancel" });
    expect(signal.reason).toEqual({ kind: "cancel" });
  });

  it("aborts after its timeout with a TimeoutError that timedOut recognises", async () => {
    const signal = callSignal(new AbortController().signal, 20);
    expect(signal.aborted).toBe(false);
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    expect(timedOut(signal)).toBe(true);
  });
});
