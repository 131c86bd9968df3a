#!/usr/bin/env node
// Packed, not linked: packs every publishable package with `pnpm pack` (workspace: and catalog:
// ranges resolved, publishConfig applied, only `files` shipped), installs every tarball with npm
// into a fresh project outside the workspace, and checks there: each package's peer range on
// @runwarden/core admits the packed core (and `npm ls` finds no invalid peer), each connector
// imports and registers against the packed core (its declaration and `sdk` range, as the engine
// checks them at registration), then runs the core README's quick start, the runbook CLI, the
// Express embedding example, and the third-party connector example's tests against the packed
// testkit. Needs `pnpm run build` first and PostgreSQL on 127.0.0.1:5432. better-sqlite3 is not
// compiled again when the workspace's build is of the same tarball for this Node ABI (see below).
// Usage: node scripts/packed-check.mjs [--keep]   (the tarballs are left in $RW_PACK_DIR if set)
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stripVTControlCharacters } from "node:util";

const root = join(import.meta.dirname, "..");
const started = Date.now();
const keep = process.argv.includes("--keep");
const work = mkdtempSync(join(tmpdir(), "rw-packed-"));
const tarballs = process.env.RW_PACK_DIR ?? join(work, "tarballs");
const app = join(work, "app");
mkdirSync(tarballs, { recursive: true });
mkdirSync(app);
const log = (msg) => process.stdout.write(`[packed ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
const run = (cmd, args, cwd, env = {}) =>
  execFileSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  }).toString();

/** Every package.json under packages/ and examples/ that is not private. */
function publishable() {
  const found = [];
  for (const dir of ["packages", "packages/connectors", "examples"]) {
    for (const name of readdirSync(join(root, dir))) {
      const manifest = join(root, dir, name, "package.json");
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, "utf8"));
      // Connectors: the packages under packages/connectors and the public example (a third party's).
      const connector = dir !== "packages";
      if (!pkg.private)
        found.push({ name: pkg.name, version: pkg.version, dir: join(root, dir, name), connector });
    }
  }
  return found;
}

/**
 * Run in the packed project with the connector package names (JSON) as argv[2]: imports each,
 * registers every connector definition it exports with the packed core's engine (bare, "not
 * configured": the declaration and sdk checks run, nothing connects), and prints a JSON summary.
 */
const connectorsCheck = `import { coreVersion, createEngine, isRunwardenError } from "@runwarden/core";
const names = JSON.parse(process.argv[2]);
const definitions = [];
for (const name of names) {
  const mod = await import(name);
  const found = new Set(
    Object.values(mod).filter(
      (v) => v && typeof v === "object" && typeof v.kind === "string" && typeof v.sdk === "string" && typeof v.create === "function",
    ),
  );
  if (found.size === 0) throw new Error(name + " exports no connector definition");
  definitions.push(...found);
}
const bare = (connector) => ({ connector, notConfigured: { needs: ["config"], hint: "packed check" } });
const engine = await createEngine({ connectors: definitions.map(bare) });
await engine.close();
let refused;
try {
  const foreign = { ...definitions[0], name: "foreign-sdk", sdk: "^99.0.0" };
  await (await createEngine({ connectors: [bare(foreign)] })).close();
} catch (err) {
  refused = isRunwardenError(err) ? err.code : String(err);
}
if (refused !== "RW_ERR_PLUGIN_VERSION_MISMATCH")
  throw new Error("a connector for core ^99.0.0 was not refused: " + refused);
process.stdout.write(JSON.stringify({ version: coreVersion, connectors: definitions.length, refused }));
`;

/**
 * The one native module the runs need, without compiling it again (3–6 min on 2 cores while the
 * bench runs): the workspace already built it on this machine. Its binary is reused only when
 * that is provably what compiling would give — the app got exactly one copy, of the same version
 * from the same tarball (npm's integrity equals pnpm's lockfile integrity), and the workspace's
 * binary is for this platform, CPU and Node ABI (its `node_register_module_v<ABI>` symbol) — and
 * only once the app's own copy, with that binary in place, loads and runs a query in a fresh
 * Node. Anything else answers `why`, and the caller compiles as before (RW_PACKED_COMPILE_NATIVE=1
 * forces that).
 */
function reuseWorkspaceBetterSqlite() {
  const name = "better-sqlite3";
  if (process.env.RW_PACKED_COMPILE_NATIVE === "1") return { why: "RW_PACKED_COMPILE_NATIVE=1" };
  const lock = JSON.parse(readFileSync(join(app, "package-lock.json"), "utf8")).packages ?? {};
  const copies = Object.keys(lock).filter(
    (key) => key === `node_modules/${name}` || key.endsWith(`/node_modules/${name}`),
  );
  if (copies.length !== 1 || copies[0] !== `node_modules/${name}`)
    return { why: `the app has ${copies.length} copies: ${copies.join(", ") || "none"}` };
  const wanted = lock[copies[0]];
  let workspaceDir;
  try {
    const fromStorage = createRequire(join(root, "packages/storage-sqlite/package.json"));
    workspaceDir = dirname(realpathSync(fromStorage.resolve(`${name}/package.json`)));
  } catch {
    return { why: "the workspace has no installed copy" };
  }
  const { version } = JSON.parse(readFileSync(join(workspaceDir, "package.json"), "utf8"));
  if (version !== wanted.version)
    return { why: `the app got ${wanted.version}, the workspace has ${version}` };
  const pnpmLock = readFileSync(join(root, "pnpm-lock.yaml"), "utf8");
  const locked = new RegExp(
    `\\n  ${name}@${version.replaceAll(".", "\\.")}:\\n    resolution: \\{integrity: ([^,}]+)`,
  ).exec(pnpmLock)?.[1];
  if (!locked || locked !== wanted.integrity)
    return {
      why: `the app's tarball integrity ${wanted.integrity} is not the workspace's ${locked ?? "(none)"}`,
    };
  const binary = join(workspaceDir, "build/Release/better_sqlite3.node");
  if (!existsSync(binary)) return { why: "the workspace's build has no better_sqlite3.node" };
  const bytes = readFileSync(binary);
  const elfMachine = { x64: 0x3e, arm64: 0xb7 }[process.arch];
  const isElf = bytes.readUInt32BE(0) === 0x7f454c46;
  if (process.platform !== "linux" || !isElf || bytes.readUInt16LE(18) !== elfMachine)
    return { why: `the workspace's binary is not a Linux ${process.arch} ELF object` };
  const abi = /node_register_module_v(\d+)/.exec(bytes.toString("latin1"))?.[1];
  if (abi !== process.versions.modules)
    return {
      why: `the workspace's binary is for Node ABI ${abi ?? "(unknown)"}, this Node's is ${process.versions.modules}`,
    };
  const target = join(app, "node_modules", name, "build/Release");
  mkdirSync(target, { recursive: true });
  copyFileSync(binary, join(target, "better_sqlite3.node"));
  const probe = `const Database = require(${JSON.stringify(name)}); const db = new Database(":memory:");
db.exec("CREATE TABLE t (x INTEGER PRIMARY KEY, v TEXT)");
db.prepare("INSERT INTO t (v) VALUES (?)").run("ok");
process.stdout.write(db.prepare("SELECT sqlite_version() AS s, (SELECT v FROM t) AS v").get().s);`;
  try {
    const sqlite = execFileSync(process.execPath, ["--input-type=commonjs", "-e", probe], {
      cwd: app,
      stdio: ["ignore", "pipe", "pipe"],
    }).toString();
    return {
      ok: `${version}: reused the workspace's binary (same tarball integrity, Node ABI ${abi}, linux-${process.arch}); the app's copy loads it and queries SQLite ${sqlite}`,
    };
  } catch (err) {
    rmSync(join(app, "node_modules", name, "build"), { recursive: true, force: true });
    const lines = String(err.stderr ?? err.message).split("\n");
    return { why: `the reused binary did not load: ${lines.find((l) => /Error/.test(l)) ?? lines[0]}` };
  }
}

let failed = false;
try {
  const packages = publishable();
  const files = {};
  // One recursive pack (private packages are packed too, and ignored).
  run(process.execPath, [join(root, "scripts/pnpm.mjs"), "-r", "pack", "--pack-destination", tarballs], root);
  for (const pkg of packages) {
    files[pkg.name] = join(tarballs, `${pkg.name.replace(/^@/, "").replace("/", "-")}-${pkg.version}.tgz`);
    const manifest = run("tar", ["-xOzf", files[pkg.name], "package/package.json"], work);
    if (/"(workspace|catalog):/.test(manifest)) {
      throw new Error(`${pkg.name}: a workspace: or catalog: range left in the packed manifest`);
    }
  }
  log(`packed ${packages.length} packages into ${tarballs}`);

  // Every publishable package from its tarball; everything else from the npm registry.
  const needed = packages.map((pkg) => pkg.name);
  const vitestVersion = JSON.parse(
    readFileSync(join(root, "node_modules/vitest/package.json"), "utf8"),
  ).version;
  const expressPkg = JSON.parse(
    readFileSync(join(root, "examples/embed-express/node_modules/express/package.json"), "utf8"),
  );
  const pinoPkg = JSON.parse(
    readFileSync(join(root, "examples/embed-express/node_modules/pino/package.json"), "utf8"),
  );
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify(
      {
        name: "rw-packed-app",
        private: true,
        type: "module",
        dependencies: {
          ...Object.fromEntries(needed.map((n) => [n, `file:${files[n]}`])),
          express: expressPkg.version,
          pino: pinoPkg.version,
          vitest: vitestVersion,
        },
      },
      null,
      2,
    ),
  );
  // Install scripts off, then the one native module the runs need built (the workspace's own build
  // when it is provably the same, else compiled): the others (ssh2's crypto binding, cpu-features)
  // are optional speed-ups their packages fall back from, and compiling them took minutes of the
  // time budget. Cached metadata is used without revalidation.
  const npmEnv = { npm_config_nodedir: process.env.npm_config_nodedir ?? "/usr" };
  run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefer-offline", "--ignore-scripts"],
    app,
    npmEnv,
  );
  log(`installed ${needed.length} tarballs with npm (no workspace links)`);
  const reuse = reuseWorkspaceBetterSqlite();
  if (reuse.ok) {
    log(`better-sqlite3: ${reuse.ok}`);
  } else {
    log(`better-sqlite3: compiling from source (${reuse.why})`);
    run("npm", ["rebuild", "better-sqlite3", "--loglevel=error"], app, npmEnv);
    log("built better-sqlite3");
  }

  // 0a. Peer ranges on core, as installed: each must admit the packed core, and npm must agree.
  const installed = (name) =>
    JSON.parse(readFileSync(join(app, "node_modules", name, "package.json"), "utf8"));
  const core = installed("@runwarden/core");
  const semver = createRequire(join(app, "node_modules/@runwarden/core/package.json"))("semver");
  const peerless = [];
  const badPeers = [];
  for (const pkg of packages) {
    const range = installed(pkg.name).peerDependencies?.["@runwarden/core"];
    if (range === undefined) {
      if (pkg.connector) peerless.push(pkg.name);
      continue;
    }
    if (!semver.satisfies(core.version, range, { includePrerelease: true }))
      badPeers.push(`${pkg.name} (${range})`);
  }
  if (peerless.length > 0)
    throw new Error(`connectors without a peer dependency on @runwarden/core: ${peerless.join(", ")}`);
  if (badPeers.length > 0)
    throw new Error(
      `peer ranges on @runwarden/core that the packed core ${core.version} does not satisfy: ${badPeers.join(", ")}`,
    );
  try {
    run("npm", ["ls", "--all", "@runwarden/core"], app);
  } catch (err) {
    throw new Error(`npm ls finds an invalid or missing @runwarden/core:\n${err.stdout ?? err.message}`);
  }
  log(`peer ranges: every package's range on @runwarden/core admits the packed core ${core.version}`);

  // 0b. Each connector imports and registers against the packed core: the registry validates its
  // declaration and refuses an `sdk` range the core does not satisfy (RW_ERR_PLUGIN_VERSION_MISMATCH).
  const connectorNames = packages.filter((pkg) => pkg.connector).map((pkg) => pkg.name);
  writeFileSync(join(app, "connectors-check.mjs"), connectorsCheck);
  const registered = JSON.parse(
    run(process.execPath, ["connectors-check.mjs", JSON.stringify(connectorNames)], app),
  );
  log(
    `connectors: ${registered.connectors} from ${connectorNames.length} packages registered against the packed core (${registered.version}); a foreign sdk range refused with ${registered.refused}`,
  );

  // 1. The README's quick start, exactly as printed.
  const readme = readFileSync(join(root, "packages/core/README.md"), "utf8");
  const snippet = /<!-- quickstart[^>]*-->\s*```js\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!snippet) throw new Error("packages/core/README.md: no quick start block");
  writeFileSync(join(app, "quickstart.mjs"), snippet);
  const quick = run(process.execPath, ["quickstart.mjs"], app);
  if (!/auto_execute/.test(quick) || !/waiting for approval: echo restarting 'nginx'/.test(quick)) {
    throw new Error(`the quick start printed:\n${quick}`);
  }
  log("quick start: a ticket matched, a step waiting for approval");

  // 2. The runbook CLI over the sample runbooks.
  const lint = run("npx", ["--no-install", "runwarden-lint", join(root, "examples/runbooks")], app);
  log(`runbook CLI: ${lint.trim().split("\n").pop()}`);

  // 3. The third-party connector's own tests against the packed testkit.
  mkdirSync(join(app, "test"));
  const test = readFileSync(join(root, "examples/custom-connector/test/grafana.test.ts"), "utf8");
  writeFileSync(
    join(app, "test/grafana.test.ts"),
    test.replace('"../src/index.js"', '"runwarden-connector-grafana"'),
  );
  const vitest = run("npx", ["--no-install", "vitest", "run", "--root", app, "test"], app);
  log(`custom connector vs testkit: ${/Tests\s+(.*)/.exec(stripVTControlCharacters(vitest))?.[1] ?? "?"}`);

  // 4. The Express embedding example (its built dist), on a fresh PostgreSQL database.
  cpSync(join(root, "examples/embed-express/dist"), join(app, "embed-express"), { recursive: true });
  writeFileSync(join(app, "embed-express/package.json"), '{ "type": "module" }');
  const pg = process.env.RUNWARDEN_PG_URL ?? "postgres://postgres@127.0.0.1:5432";
  const database = `rw_packed_${process.pid}`;
  run("psql", [`${pg}/postgres`, "-qc", `CREATE DATABASE ${database}`], app);
  try {
    const child = spawn(process.execPath, ["embed-express/main.js"], {
      cwd: app,
      env: { ...process.env, DATABASE_URL: `${pg}/${database}`, PORT: "0", DEMO_PASSWORD: "pw" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    let url;
    for (let i = 0; i < 300 && !url; i++) {
      url = /"url":"([^"]+)"/.exec(out)?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 50));
    }
    if (!url) throw new Error(`embed-express did not start:\n${out}`);
    const login = await fetch(`${url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "lena", password: "pw" }),
    });
    const sid = /sid=([^;]+)/.exec(login.headers.get("set-cookie") ?? "")?.[1];
    const me = await (await fetch(`${url}/ops/api/v1/me`, { headers: { cookie: `sid=${sid}` } })).json();
    if (me.actor !== "lena") throw new Error(`embed-express /ops/api/v1/me answered ${JSON.stringify(me)}`);
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    if (code !== 0) throw new Error(`embed-express exited ${code} on SIGTERM`);
    log("embed-express: own login, /ops/api/v1/me as lena, SIGTERM exit 0");
  } finally {
    run("psql", [`${pg}/postgres`, "-qc", `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`], app);
  }
  log("packed install: all passed");
} catch (err) {
  failed = true;
  process.stderr.write(`packed install FAILED: ${err instanceof Error ? err.message : err}\n`);
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}
process.exit(failed ? 1 : 0);
