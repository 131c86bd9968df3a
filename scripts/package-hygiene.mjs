#!/usr/bin/env node
// Package hygiene over the packed tarballs (what npm would publish, not the workspace folders):
// publint (manifest valid for publishing: exports, files, types) and @arethetypeswrong/cli (the
// types resolve for ESM consumers under node16 and bundler resolution; ESM only, so CJS/node10
// are out of scope). Exits 1 on any finding. Needs `pnpm run build` first.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "rw-hygiene-"));
const bin = (name) => join(root, "node_modules/.bin", name);
let failures = 0;
try {
  execFileSync(process.execPath, [join(root, "scripts/pnpm.mjs"), "-r", "pack", "--pack-destination", dir], {
    cwd: root,
    stdio: "ignore",
  });
  for (const base of ["packages", "packages/connectors", "examples"]) {
    for (const name of readdirSync(join(root, base))) {
      const manifest = join(root, base, name, "package.json");
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, "utf8"));
      if (pkg.private) continue;
      const tgz = join(dir, `${pkg.name.replace(/^@/, "").replace("/", "-")}-${pkg.version}.tgz`);
      // Subpaths that export an asset (Zabbix's media type YAML) have no types to check.
      const exportsMap = pkg.publishConfig?.exports ?? pkg.exports ?? {};
      const assets = Object.entries(exportsMap)
        .filter(([, target]) => typeof target === "string" && !/\.(m?js|d\.ts)$/.test(target))
        .map(([key]) => key);
      const exclude = assets.length > 0 ? ["--exclude-entrypoints", ...assets] : [];
      const checks = [
        [bin("publint"), [tgz, "--strict"]],
        [bin("attw"), [tgz, "--profile", "esm-only", "--format", "ascii", ...exclude]],
      ];
      for (const [cmd, args] of checks) {
        const result = spawnSync(cmd, args, { encoding: "utf8" });
        if (result.status !== 0) {
          failures++;
          process.stdout.write(`✗ ${pkg.name}: ${cmd.split("/").pop()}\n${result.stdout}${result.stderr}\n`);
        }
      }
      process.stdout.write(`  ${pkg.name}\n`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(
  failures === 0 ? "package hygiene: all clean\n" : `package hygiene: ${failures} finding(s)\n`,
);
process.exit(failures === 0 ? 0 : 1);
