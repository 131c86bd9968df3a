import { describe, expect, it } from "vitest";
import { createWaves } from "../../src/internal/waves.js";

describe("createWaves", () => {
  it("lets requests of one turn in together and holds later ones until that wave is done", async () => {
    const wave = createWaves();
    const log: string[] = [];
    let finishFirst!: () => void;
    const first = wave(async () => {
      log.push("a in");
      await new Promise<void>((resolve) => {
        finishFirst = resolve;
      });
      log.push("a out");
    });
    const second = wave(async () => {
      log.push("b in");
    });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(["a in", "b in"]);
    const late = wave(async () => {
      log.push("c in");
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(["a in", "b in"]);
    finishFirst();
    await Promise.all([first, second, late]);
    expect(log).toEqual(["a in", "b in", "a out", "c in"]);
  });

  it("answers each request with its own result or error", async () => {
    const wave = createWaves();
    const results = await Promise.allSettled([
      wave(async () => 1),
      wave(async () => {
        throw new Error("only mine");
      }),
      wave(async () => 3),
    ]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual([
      1,
      "only mine",
      3,
    ]);
  });
});
