import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine } from "@runwarden/core";
import { createTokenStore } from "@runwarden/http-adapter";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { runbooksDir } from "../src/server.js";
import { bootstrapToken, loadSampleRunbooks, masterKey } from "../src/setup.js";

const silent = pino({ level: "silent" });

describe("loadSampleRunbooks", () => {
  it("approves the sample runbooks except drafts, and changes nothing when run again", async () => {
    const engine = await createEngine();
    const first = await loadSampleRunbooks(engine, runbooksDir, silent);
    expect(first.length).toBeGreaterThanOrEqual(8);
    const byFile = Object.fromEntries(first.map((r) => [r.file, r.status]));
    expect(byFile["fix-database-connection.md"]).toBe("approved");
    expect(byFile["replication-lag.md"]).toBe("draft");
    const again = await loadSampleRunbooks(engine, runbooksDir, silent);
    expect(again.every((r) => !r.created)).toBe(true);
    expect(again.map((r) => r.id)).toEqual(first.map((r) => r.id));
    await engine.close();
  });
});

describe("bootstrapToken", () => {
  it("keeps a configured token and revokes the previous generated one on each start", async () => {
    const engine = await createEngine();
    const tokens = createTokenStore(engine.storage);
    const a = await bootstrapToken(engine, tokens, undefined);
    const b = await bootstrapToken(engine, tokens, undefined);
    expect(a.generated).toBe(true);
    expect(await tokens.verify(a.token)).toBeUndefined();
    expect((await tokens.verify(b.token))?.roles).toEqual(["admin"]);
    const fixed = await bootstrapToken(engine, tokens, "configured-admin-token-123");
    expect(fixed).toEqual({ token: "configured-admin-token-123", generated: false });
    expect(await tokens.verify("configured-admin-token-123")).toBeDefined();
    await engine.close();
  });
});

describe("masterKey", () => {
  it("generates a private key file once when none is configured", () => {
    const dir = mkdtempSync(join(tmpdir(), "rw-key-"));
    const first = masterKey(dir, undefined);
    expect(first.fromFile).toBe(true);
    expect(Buffer.from(first.key, "base64")).toHaveLength(32);
    expect(statSync(join(dir, "master.key")).mode & 0o777).toBe(0o600);
    expect(masterKey(dir, undefined).key).toBe(first.key);
    expect(readFileSync(join(dir, "master.key"), "utf8").trim()).toBe(first.key);
    expect(masterKey(dir, "configured")).toEqual({ key: "configured", fromFile: false });
  });
});
