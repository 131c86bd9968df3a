import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { callSignal, endCallSignal, timedOut } from "../../src/internal/call-signal.js";

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

  it("holds no timer once the call is ended: the timeout never fires and the state stays as it was", () => {
    vi.useFakeTimers();
    try {
      const lifetime = new AbortController();
      const ended = callSignal(lifetime.signal, 1_000);
      expect(vi.getTimerCount()).toBe(1);
      endCallSignal(ended);
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(5_000);
      expect(ended.aborted).toBe(false);
      // One that already timed out stays timed out; ending the lifetime's own signal is a no-op.
      const late = callSignal(lifetime.signal, 1_000);
      vi.advanceTimersByTime(1_000);
      endCallSignal(late);
      endCallSignal(lifetime.signal);
      expect(timedOut(late)).toBe(true);
      expect(lifetime.signal.aborted).toBe(false);
    } finally {
      vi.useRealTimers();
    }
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

  it("still times out after garbage collection (AbortSignal.any holds its sources weakly)", () => {
    // Run in a child with --expose-gc: collect while the call waits, then see the timeout fire.
    const source = fileURLToPath(new URL("../../src/internal/call-signal.ts", import.meta.url));
    const script = join(mkdtempSync(join(tmpdir(), "rw-call-signal-")), "gc.mts");
    writeFileSync(
      script,
      `import { callSignal } from ${JSON.stringify(source)};
const signal = callSignal(new AbortController().signal, 200);
const fired = new Promise((resolve) => {
  signal.addEventListener("abort", () => resolve(true), { once: true });
  setTimeout(() => resolve(false), 2000);
});
for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
process.stdout.write(String(await fired));
`,
    );
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", script], {
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(out).toBe("true");
  });
});
