import { describe, expect, it } from "vitest";
import { createFakeClock } from "../src/index.js";

describe("createFakeClock", () => {
  it("starts at 2024-01-01 when no start is given", () => {
    expect(createFakeClock().date().toISOString()).toBe("2024-01-01T00:00:00.000Z");
  });

  it("fires due timers in order when time advances", async () => {
    const clock = createFakeClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 200);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 300);
    await clock.advance(250);
    expect(fired).toEqual(["a@100", "b@200"]);
    expect(clock.now()).toBe(250);
    expect(clock.pending()).toBe(1);
  });

  it("does not fire a cleared timer", async () => {
    const clock = createFakeClock(0);
    let fired = false;
    const id = clock.setTimeout(() => {
      fired = true;
    }, 10);
    clock.clearTimeout(id);
    await clock.advance(100);
    expect(fired).toBe(false);
  });

  it("resolves sleep() once time has advanced, and rejects it on abort", async () => {
    const clock = createFakeClock(0);
    const done = clock.sleep(1000);
    await clock.advance(1000);
    await expect(done).resolves.toBeUndefined();
    const controller = new AbortController();
    const aborted = clock.sleep(1000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(aborted).rejects.toThrow("stop");
    expect(clock.pending()).toBe(0);
  });

  it("refuses to go backwards", async () => {
    const clock = createFakeClock(1000);
    expect(() => clock.set(0)).toThrow(RangeError);
    await clock.set(new Date(5000));
    expect(clock.now()).toBe(5000);
  });
});
