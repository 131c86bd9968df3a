import pino from "pino";
import { describe, expect, it } from "vitest";
import { createOutcomeRelay, type RemoteOutcome, storedTopic } from "../../src/tickets/intake-relay.js";

/** Two relays over one in-memory signal bus, as two instances over one store. */
function pair(waitingOnB: Set<number>) {
  const sent: string[] = [];
  const delivered: RemoteOutcome[] = [];
  const storage = {
    signals: {
      publish: async (topic: string, payload: string) => {
        expect(topic).toBe(storedTopic);
        expect(Buffer.byteLength(payload)).toBeLessThan(7_900);
        sent.push(payload);
      },
      subscribe: () => () => undefined,
    },
  };
  const log = pino({ level: "silent" });
  const a = createOutcomeRelay({
    storage,
    instanceId: "a",
    log,
    isWaiting: () => false,
    deliver: () => undefined,
  });
  const b = createOutcomeRelay({
    storage,
    instanceId: "b",
    log,
    isWaiting: (id) => waitingOnB.has(id),
    deliver: (outcome) => delivered.push(outcome),
  });
  return { a, b, sent, delivered };
}

describe("the intake outcome relay", () => {
  it("delivers small outcomes packed together and an oversized one put together from its parts", async () => {
    const { a, b, sent, delivered } = pair(new Set([3]));
    const big: RemoteOutcome = {
      id: 3,
      t: Array.from({ length: 2_000 }, (_, i) => i + 1),
      r: [],
      w: ['é ✓ "quoted" \\ warning'.repeat(40)],
    };
    const small: RemoteOutcome[] = [
      { id: 1, t: [10], r: [], w: [] },
      { id: 2, c: "RW_ERR_INPUT_INVALID", m: "not an alert" },
    ];
    await a.send([...small, big].map((outcome) => ({ receiver: "b", outcome })));
    expect(sent.length).toBeGreaterThan(2);
    // Parts arriving out of order still make the whole.
    for (const payload of [...sent].reverse()) b.receive(payload);
    expect(delivered).toHaveLength(3);
    expect(delivered.find((o) => o.id === 3)).toEqual(big);
    expect(delivered.filter((o) => o.id !== 3)).toEqual(small);
  });

  it("ignores outcomes for another instance, garbled payloads and parts nobody here waits for", async () => {
    const { a, b, sent, delivered } = pair(new Set());
    await a.send([{ receiver: "c", outcome: { id: 1, t: [1], r: [], w: [] } }]);
    await a.send([
      { receiver: "b", outcome: { id: 2, t: Array.from({ length: 2_000 }, (_, i) => i), r: [], w: [] } },
    ]);
    for (const payload of sent) b.receive(payload);
    b.receive("{not json");
    expect(delivered).toEqual([]);
  });

  it("drops the parts of an entry it is told to forget", async () => {
    const waiting = new Set([5]);
    const { a, b, sent, delivered } = pair(waiting);
    await a.send([
      { receiver: "b", outcome: { id: 5, t: Array.from({ length: 2_000 }, (_, i) => i), r: [], w: [] } },
    ]);
    b.receive(sent[0]!);
    b.forget(5);
    for (const payload of sent.slice(1)) b.receive(payload);
    expect(delivered).toEqual([]);
  });
});
