/**
 * The admin token of a server started without RUNWARDEN_ADMIN_TOKEN: generated and shown at the
 * first start, kept across restarts (a person signs in with it again in the dashboard), and
 * replaced by `npm run admin-token` (the example's admin-token command), which revokes the old one.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";
import { launchChromium } from "./fixtures/browser.js";

const chromiumPath = "/usr/bin/chromium";
const exampleDir = fileURLToPath(new URL("../", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "rw-admin-token-"));
let server: RunningServer | undefined;

async function start(): Promise<RunningServer> {
  server = await startServer(
    readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir }),
    pino({ level: "silent" }),
  );
  return server;
}

async function status(url: string, token: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

function withoutAdminToken(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { RUNWARDEN_ADMIN_TOKEN: _token, RUNWARDEN_ADMIN_TOKEN_FILE: _file, ...rest } = env;
  return rest;
}

afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the example server's admin token", () => {
  it("is shown once, kept across a restart for signing in again, and replaced by the admin-token command", async () => {
    const first = await start();
    expect(first.adminTokenGenerated).toBe(true);
    const token = first.adminToken!;
    await first.close();
    server = undefined;

    const second = await start();
    expect(second.adminTokenGenerated).toBe(false);
    expect(second.adminToken).toBeUndefined();
    expect(await status(second.url, token)).toBe(200);

    // A person signs in again with the same token in the dashboard.
    if (!existsSync(chromiumPath))
      throw new Error(`${chromiumPath} is missing: run scripts/services/chromium.sh`);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${second.url}/`);
      await page.fill("#login-token", token);
      await page.click("#login-form button");
      await page.waitForSelector("#shell:not([hidden])");
      expect(await page.textContent("#whoami")).toContain("admin");
    } finally {
      await browser.close();
    }

    // Lost it: the command prints a new one (while the server runs) and revokes the old.
    const printed = execFileSync(process.execPath, ["--import", "tsx", "src/admin-token.ts"], {
      cwd: exampleDir,
      env: { ...withoutAdminToken(process.env), RUNWARDEN_DATA_DIR: dataDir },
      encoding: "utf8",
    }).trim();
    expect(printed).toMatch(/^rw_\S{20,}$/);
    expect(printed).not.toBe(token);
    // The server's token cache holds a verified token for a few seconds; a restart reads the store.
    await second.close();
    server = undefined;
    const third = await start();
    expect(await status(third.url, token)).toBe(401);
    expect(await status(third.url, printed)).toBe(200);
    expect(third.adminTokenGenerated).toBe(false);
  });
});
