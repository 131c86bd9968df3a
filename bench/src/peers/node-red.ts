/**
 * Node-RED as a peer of the alert-to-remediation row: installed on first use into the ignored
 * bench/.node-red/ folder (it is ~100 MB, so it stays out of the workspace install), started on
 * loopback with a settings file of our own (no editor, no admin API, no credentials, no
 * telemetry) and a flow of http-in → exec `true` → http-response 202.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

/** The newest Node-RED that runs on Node 20. */
export const nodeRedVersion = "4.1.8";
export const nodeRedRoot = join(import.meta.dirname, "..", "..", ".node-red");
const packageJson = join(nodeRedRoot, "node_modules", "node-red", "package.json");

function installedVersion(): string | undefined {
  if (!existsSync(packageJson)) return undefined;
  return (JSON.parse(readFileSync(packageJson, "utf8")) as { version?: string }).version;
}

/**
 * Installs node-red@4.1.8 into bench/.node-red/ unless that exact version is there. Throws with
 * npm's own error output when the install fails (no network, no npm): the row then fails
 * instead of reporting numbers without its peer.
 */
export async function ensureNodeRed(): Promise<void> {
  if (installedVersion() === nodeRedVersion) return;
  mkdirSync(nodeRedRoot, { recursive: true });
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  process.stderr.write(`bench: installing node-red@${nodeRedVersion} into ${nodeRedRoot} (one time)…\n`);
  try {
    await promisify(execFile)(
      npm,
      ["install", "--prefix", nodeRedRoot, `node-red@${nodeRedVersion}`, "--no-audit", "--no-fund"],
      { timeout: 5 * 60_000, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (err) {
    // npm's first lines say what went wrong (code, then the failed request); the rest is a stack.
    const e = err as Error & { stderr?: string };
    const lines = (e.stderr ?? "")
      .split("\n")
      .filter((l) => /^npm error (code|[A-Za-z]*Error|network|\d{3})/.test(l));
    throw new Error(
      `could not install node-red@${nodeRedVersion} with npm into ${nodeRedRoot} (network, registry or npm missing?): ${lines.slice(0, 3).join(" | ") || e.message}`,
    );
  }
  const version = installedVersion();
  if (version !== nodeRedVersion) {
    throw new Error(`npm installed node-red ${version ?? "(nothing)"}, expected ${nodeRedVersion}`);
  }
}

/** A free TCP port on loopback (asked of the kernel, then released for the child to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

export interface NodeRed {
  /** The flow's endpoint: POST answers 202 once `true` has exited. */
  url: string;
  stop(): Promise<void>;
}

const flowPath = "/alert";

/** The flow: http-in POST /alert → exec `true` (child_process.exec, like a shell step) → 202. */
function flow(): unknown[] {
  return [
    { id: "bench-tab", type: "tab", label: "runwarden bench", disabled: false },
    {
      id: "bench-in",
      type: "http in",
      z: "bench-tab",
      name: "alert",
      url: flowPath,
      method: "post",
      upload: false,
      wires: [["bench-exec"]],
    },
    {
      id: "bench-exec",
      type: "exec",
      z: "bench-tab",
      name: "remediate",
      command: "true",
      addpay: "",
      append: "",
      useSpawn: "false",
      timer: "",
      winHide: false,
      oldrc: false,
      // Outputs: stdout (sent once the process has exited, in exec mode), stderr, return code.
      wires: [["bench-out"], [], []],
    },
    {
      id: "bench-out",
      type: "http response",
      z: "bench-tab",
      name: "",
      statusCode: "202",
      headers: {},
      wires: [],
    },
  ];
}

function settings(port: number, userDir: string): string {
  const config = {
    uiHost: "127.0.0.1",
    uiPort: port,
    userDir,
    flowFile: "flows.json",
    flowFilePretty: false,
    credentialSecret: false,
    httpAdminRoot: false,
    httpNodeRoot: "/",
    disableEditor: true,
    logging: { console: { level: "warn", metrics: false, audit: false } },
    diagnostics: { enabled: false, ui: false },
    telemetry: { enabled: false },
    externalModules: {
      autoInstall: false,
      palette: { allowInstall: false },
      modules: { allowInstall: false },
    },
    functionExternalModules: false,
  };
  return `module.exports = ${JSON.stringify(config, null, 2)};\n`;
}

/** Waits until the flow answers (Node-RED loads its flows a moment after it starts listening). */
async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`node-red exited with ${child.exitCode}: ${output()}`);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      if (res.status === 202) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`node-red did not answer on ${url} within 30 s: ${output()}`);
}

/** Installs Node-RED if needed, starts it with a fresh userDir under bench/.node-red/ and waits for the flow. */
export async function startNodeRed(): Promise<NodeRed> {
  await ensureNodeRed();
  // A userDir of this run's own, which is also Node-RED's cwd: a shared one, wiped at each start,
  // was deleted under a Node-RED still running from another bench run, which then failed with
  // `ENOENT uv_cwd` on its next process.cwd(). Removed again once this Node-RED has exited.
  const userDir = mkdtempSync(join(nodeRedRoot, "run-"));
  const port = await freePort();
  const settingsFile = join(userDir, "settings.cjs");
  writeFileSync(settingsFile, settings(port, userDir));
  writeFileSync(join(userDir, "flows.json"), JSON.stringify(flow()));
  const child = spawn(
    process.execPath,
    [
      join(nodeRedRoot, "node_modules", "node-red", "red.js"),
      "--settings",
      settingsFile,
      "--userDir",
      userDir,
    ],
    // Not this process's execArgv (tsx's loader): Node-RED is plain CommonJS.
    { stdio: ["ignore", "pipe", "pipe"], cwd: userDir, env: { ...process.env, NODE_OPTIONS: "" } },
  );
  let out = "";
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-4_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const url = `http://127.0.0.1:${port}${flowPath}`;
  try {
    await waitReady(url, child, () => out.trim().split("\n").slice(-5).join(" | "));
  } catch (err) {
    child.kill("SIGKILL");
    child.once("exit", () => rmSync(userDir, { recursive: true, force: true }));
    throw err;
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(userDir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGTERM");
      }),
  };
}
