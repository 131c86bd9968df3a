#!/usr/bin/env node
// `npm run screenshots`: regenerates docs/screenshots/ (desktop and phone, 390 px) by running the
// dashboard's browser tests, which take a screenshot of each page as they pass through it.
// Needs Debian's Chromium (bash scripts/services/chromium.sh).
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const run = spawnSync(
  process.execPath,
  [
    join(root, "node_modules", "vitest", "vitest.mjs"),
    "run",
    "--project",
    "int",
    "examples/server/test/dashboard.int.test.ts",
    "examples/server/test/dashboard-phone.int.test.ts",
  ],
  { stdio: "inherit", cwd: root, env: { ...process.env, RUNWARDEN_IT: "1" } },
);
process.exit(run.status ?? 1);
