import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStaticHandler } from "../src/static.js";

let base: string;
let close: () => void;
beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), "rw-static-"));
  mkdirSync(join(root, "public", "js"), { recursive: true });
  writeFileSync(join(root, "public", "index.html"), "<!doctype html><title>x</title>");
  writeFileSync(join(root, "public", "js", "app.js"), "export {};");
  writeFileSync(join(root, "secret.txt"), "outside");
  const server = createServer(createStaticHandler(join(root, "public")));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => server.close();
});
afterAll(() => close());

describe("createStaticHandler", () => {
  it("serves files with their type and a strict Content-Security-Policy", async () => {
    const res = await fetch(`${base}/js/app.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });

  it("answers index.html for the root and for paths without an extension", async () => {
    expect(await (await fetch(`${base}/`)).text()).toContain("<title>x</title>");
    expect((await fetch(`${base}/tickets`)).headers.get("content-type")).toMatch(/text\/html/);
  });

  it("refuses paths outside the folder, unknown types and other methods", async () => {
    expect((await fetch(`${base}/..%2Fsecret.txt`)).status).toBe(404);
    expect((await fetch(`${base}/%2e%2e/secret.txt`)).status).toBe(404);
    expect((await fetch(`${base}/missing.js`)).status).toBe(404);
    expect((await fetch(`${base}/`, { method: "POST" })).status).toBe(405);
  });
});
