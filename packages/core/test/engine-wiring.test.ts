import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createEngine } from "../src/index.js";

/** Every key (own and inherited, strings and symbols) of an object, up to Object.prototype. */
function keysOf(object: object): (string | symbol)[] {
  const keys: (string | symbol)[] = [];
  for (let at: object | null = object; at && at !== Object.prototype; at = Object.getPrototypeOf(at))
    keys.push(...Reflect.ownKeys(at));
  return keys;
}

describe("engine wiring", () => {
  it("gives a holder of engine.connections no way to the resolver that opens credentials", async () => {
    const engine = await createEngine({ vault: { key: randomBytes(32) } });
    const { connections } = engine;
    expect(Object.getOwnPropertySymbols(connections)).toEqual([]);
    expect(keysOf(connections).filter((key) => typeof key === "symbol")).toEqual([]);
    const methods = keysOf(connections).map(String).sort();
    expect(methods).toEqual(["create", "delete", "get", "getByName", "list", "test", "update"]);
    expect(
      (connections as unknown as Record<symbol, unknown>)[Symbol.for("runwarden.connectionResolver")],
    ).toBeUndefined();
    await engine.close();
  });
});
