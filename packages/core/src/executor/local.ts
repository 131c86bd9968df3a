/**
 * The built-in `local` infrastructure connector: runs a step on the engine's own host. A process
 * gets a clean environment (PATH and a few safe variables, never the engine's own), its own
 * process group, and on timeout or cancellation the whole group is killed (SIGTERM, then SIGKILL).
 * Only shell steps go through a shell (`sh -c <rendered>`); other languages run their interpreter
 * with the script as one argument.
 */
import { spawn } from "node:child_process";
import { delimiter } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { z } from "zod";
import { rwError } from "../errors.js";
import type { ConnectionHandle, ExecRequest, ExecResult, InfrastructureConnector } from "../plugin.js";
import { defineConnector } from "../plugin.js";
import { coreVersion } from "../version.js";
import { CappedText } from "./output.js";
import { shellLanguages } from "./templates.js";

/** PATH of a local step, before the configured extra directories. */
export const defaultLocalPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Variables copied from the engine's environment when set: nothing that could hold a secret. */
const inheritedVariables = ["HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR"] as const;

const LocalConfigSchema = z.object({
  /** Directories put in front of PATH (e.g. a runbook scripts folder). */
  path: z.array(z.string().min(1)).default([]),
  /** Working directory of every step. Default: the engine process's. */
  cwd: z.string().min(1).optional(),
  /** Extra environment variables (not secrets: they are visible to every step). */
  env: z.record(z.string(), z.string()).default({}),
  /** Time between SIGTERM and SIGKILL when a step is stopped. Default 2 s. */
  killGraceMs: z.number().int().min(0).max(60_000).default(2_000),
  /** Characters of each stream kept in the result (head and tail). Default 1 MiB. */
  maxOutputChars: z
    .number()
    .int()
    .min(1_024)
    .default(1024 * 1024),
});
export type LocalConnectorConfig = z.input<typeof LocalConfigSchema>;

/** argv for a step of each language; the script is always one argument. */
function commandLine(request: ExecRequest): [string, string[]] {
  const language = request.language.toLowerCase();
  if (shellLanguages.has(language)) return ["/bin/sh", ["-c", request.command]];
  if (language === "python") return ["python3", ["-c", request.command]];
  if (language === "javascript" || language === "node") return [process.execPath, ["-e", request.command]];
  if (language === "powershell")
    return ["pwsh", ["-NoProfile", "-NonInteractive", "-Command", request.command]];
  throw rwError("RW_ERR_CONNECTOR_REJECTED", `the local connector cannot run ${language} steps`, {
    details: { language },
  });
}

/** Runs one process to completion; see the module comment for the guarantees. */
export async function runLocal(
  config: z.output<typeof LocalConfigSchema>,
  request: ExecRequest,
): Promise<ExecResult> {
  const [file, args] = commandLine(request);
  const env: Record<string, string> = {};
  for (const name of inheritedVariables) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, config.env, { PATH: [...config.path, defaultLocalPath].join(delimiter) });

  return await new Promise<ExecResult>((resolve, reject) => {
    if (request.signal.aborted) {
      reject(abortError(request.signal));
      return;
    }
    const child = spawn(file, args, {
      cwd: config.cwd ?? process.cwd(),
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout = new CappedText(config.maxOutputChars);
    const stderr = new CappedText(config.maxOutputChars);
    const decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };
    let timedOut = false;
    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // The group is gone already.
      }
    };
    const stop = () => {
      if (stopping) return;
      stopping = true;
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), config.killGraceMs);
      killTimer.unref();
    };
    const timer =
      request.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, request.timeoutMs);
    const onAbort = () => stop();
    request.signal.addEventListener("abort", onAbort, { once: true });

    const collect = (stream: "stdout" | "stderr", sink: CappedText) => (data: Buffer) => {
      const chunk = decoders[stream].write(data);
      if (chunk.length === 0) return;
      sink.append(chunk);
      request.onOutput?.(stream, chunk);
    };
    child.stdout.on("data", collect("stdout", stdout));
    child.stderr.on("data", collect("stderr", stderr));

    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal.removeEventListener("abort", onAbort);
      // A killed group may leave grandchildren holding the pipes; SIGKILL them before leaving.
      if (stopping) {
        clearTimeout(killTimer);
        killGroup("SIGKILL");
      }
      outcome();
    };
    child.on("error", (err) => {
      finish(() =>
        reject(
          rwError(
            "RW_ERR_CONNECTOR_REJECTED",
            `cannot start ${file}: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
            {
              details: { file },
              cause: err,
            },
          ),
        ),
      );
    });
    child.on("close", (code, signal) => {
      for (const stream of ["stdout", "stderr"] as const) {
        const rest = decoders[stream].end();
        if (rest.length > 0) {
          (stream === "stdout" ? stdout : stderr).append(rest);
          request.onOutput?.(stream, rest);
        }
      }
      finish(() => {
        if (request.signal.aborted && !timedOut) {
          reject(abortError(request.signal));
          return;
        }
        resolve({
          exitCode: code,
          signal,
          stdout: stdout.toString(),
          stderr: stderr.toString(),
          timedOut,
        });
      });
    });
    // A process that ignores SIGTERM and whose pipes a grandchild keeps open must still end.
    child.on("exit", () => {
      if (stopping) killGroup("SIGKILL");
    });
  });
}

function abortError(signal: AbortSignal) {
  return rwError("RW_ERR_EXEC_CANCELLED", "the step was stopped before it finished", {
    details: {
      reason: signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? "aborted"),
    },
  });
}

/** Creates the local connector's instance: stateless, nothing to pool. */
function createLocal(config: z.output<typeof LocalConfigSchema>): InfrastructureConnector {
  const handle: ConnectionHandle = {
    exec: (request) => runLocal(config, request),
    release: async () => {},
  };
  return {
    open: async () => handle,
    async healthCheck(_connection, options) {
      const started = performance.now();
      try {
        const result = await runLocal(config, {
          command: "true",
          language: "sh",
          readOnly: true,
          signal: options.signal,
          timeoutMs: 5_000,
        });
        const latencyMs = performance.now() - started;
        return result.exitCode === 0
          ? { ok: true, latencyMs }
          : { ok: false, latencyMs, reason: "exit", message: `exit ${result.exitCode}` };
      } catch (err) {
        return {
          ok: false,
          latencyMs: performance.now() - started,
          reason: "spawn",
          message: (err as Error).message,
        };
      }
    },
  };
}

/**
 * The local connector's declaration. The engine registers it by default; to configure it (say,
 * to put a scripts folder on PATH), pass `createEngine({ connectors: [{ connector: localConnector,
 * config: { path: ["/opt/runbooks/scripts"] } }] })`, which replaces the default registration.
 */
export const localConnector = defineConnector({
  kind: "infrastructure",
  name: "local",
  version: coreVersion,
  sdk: `^${coreVersion}`,
  description:
    "Runs steps on the Runwarden host, in a clean environment, killing the process group on timeout.",
  configSchema: LocalConfigSchema,
  capabilities: ["exec", "shell", "timeout", "stream-output"],
  connectionTypes: ["local"],
  create: (config) => createLocal(config),
});
