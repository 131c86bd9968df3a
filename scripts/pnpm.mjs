#!/usr/bin/env node
// Runs the pinned pnpm through npx, so a machine with only Node and npm needs nothing else.
// Native builds (better-sqlite3, ssh2) compile against the headers of the Node that runs this,
// never downloaded ones: pnpm reads npm_config_nodedir from the environment, not from ~/.npmrc.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const root = join(import.meta.dirname, "..");
const pinned = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).packageManager;
// No "update available" notice: the version is pinned on purpose.
const env = { npm_config_update_notifier: "false", ...process.env };
const prefix = dirname(dirname(process.execPath));
if (!env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "node.h"))) {
  env.npm_config_nodedir = prefix;
}
const result = spawnSync("npx", ["-y", pinned, ...process.argv.slice(2)], {
  stdio: "inherit",
  env,
  cwd: process.cwd(),
});
process.exit(result.status ?? 1);
