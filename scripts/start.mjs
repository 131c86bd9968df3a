#!/usr/bin/env node
// `npm start`: installs (frozen lockfile), builds the example server and what it depends on, and
// starts it. Quiet unless something fails, and fast on a restart: a package is rebuilt only when
// one of its inputs (src/, package.json, tsup/tsconfig files) changed since its last build here,
// and then with what depends on it. The server's banner is the last thing printed.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const server = "@runwarden/example-server";
const stamps = join(root, "node_modules", ".cache", "runwarden-start");
const pnpmScript = join(import.meta.dirname, "pnpm.mjs");

/** Runs the pinned pnpm, capturing its output; on failure prints it and exits with its status. */
function pnpm(args, what) {
  const run = spawnSync(process.execPath, [pnpmScript, ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, npm_config_update_notifier: "false" },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) {
    process.stderr.write(`${run.stdout ?? ""}${run.stderr ?? ""}\n${what} failed (exit ${run.status}).\n`);
    process.exit(run.status ?? 1);
  }
  return run.stdout;
}

/** A digest of a package's build inputs: every file's path, size and modification time. */
function inputsDigest(dir) {
  const hash = createHash("sha256");
  const visit = (path) => {
    const info = statSync(path, { throwIfNoEntry: false });
    if (!info) return;
    if (info.isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name));
    } else {
      hash.update(`${path}\0${info.size}\0${info.mtimeMs}\n`);
    }
  };
  for (const name of ["src", "package.json", "tsup.config.ts", "tsconfig.json", "tsconfig.build.json"]) {
    visit(join(dir, name));
  }
  visit(join(root, "tooling"));
  return hash.digest("hex");
}

const stampOf = (name) => join(stamps, `${name.replace(/[/@]/g, "_")}.txt`);

pnpm(["install", "--frozen-lockfile", "--reporter=silent"], "Installing dependencies");

const listed = JSON.parse(
  pnpm(["--filter", `${server}...`, "list", "--json", "--depth", "-1"], "Listing packages"),
);
const packages = listed
  .map((p) => ({
    name: p.name,
    path: p.path,
    manifest: JSON.parse(readFileSync(join(p.path, "package.json"), "utf8")),
  }))
  .filter((p) => p.manifest.scripts?.build);
const stale = packages
  .map((p) => ({ ...p, digest: inputsDigest(p.path) }))
  .filter(
    (p) =>
      !existsSync(join(p.path, "dist")) ||
      !existsSync(stampOf(p.name)) ||
      readFileSync(stampOf(p.name), "utf8") !== p.digest,
  );

if (stale.length > 0) {
  // A changed package and whatever depends on it here, rebuilt in dependency order.
  const names = new Set(packages.map((p) => p.name));
  const rebuild = new Set(stale.map((p) => p.name));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of packages) {
      if (rebuild.has(p.name)) continue;
      const deps = { ...p.manifest.dependencies, ...p.manifest.devDependencies };
      if (Object.keys(deps).some((d) => names.has(d) && rebuild.has(d))) {
        rebuild.add(p.name);
        grew = true;
      }
    }
  }
  process.stderr.write(
    `Building ${rebuild.size} of ${packages.length} packages (changed since the last start)…\n`,
  );
  pnpm([...[...rebuild].flatMap((name) => ["--filter", name]), "run", "build"], "Building");
  mkdirSync(stamps, { recursive: true });
  for (const p of packages) writeFileSync(stampOf(p.name), inputsDigest(p.path));
}

const child = spawn(process.execPath, ["dist/main.js"], {
  cwd: join(root, "examples", "server"),
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
