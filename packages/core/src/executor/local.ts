/**
 * The built-in `local` infrastructure connector: runs a step on the engine's own host. A process
 * gets a clean environment (PATH and a few safe variables, never the engine's own), its own
 * process group, and on timeout or cancellation the whole group is killed (SIGTERM, then SIGKILL).
 * Only shell steps go through a shell (`sh -c <rendered>`); other languages run their interpreter
 * with the script as one argument. Processes are forked by a small helper process (see
 * spawn-helper.ts), not by the engine's own, large one.
 */
import { delimiter } from "node:path";
import { z } from "zod";
import { rwError } from "../errors.js";
import type { ConnectionHandle, ExecRequest, ExecResult, InfrastructureConnector } from "../plugin.js";
import { defineConnector } from "../plugin.js";
import { coreVersion } from "../version.js";
import { CappedText } from "./output.js";
import { describeProcessGroup } from "./process-group.js";
import { type RunAsUser, resolveRunAs, workingDirectoryOf } from "./run-as.js";
import { killGroup, launchDirect, launchViaHelper } from "./spawn-helper.js";
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
  /**
   * Fork steps from a small helper process rather than from the engine's own (large) one, which
   * makes each start cheap and keeps it off the engine's thread. Default true; false forks
   * directly (for runtimes where `process.execPath -e` is not Node).
   */
  spawnHelper: z.boolean().default(true),
  /**
   * Run every step as this OS user: a user name or `uid[:gid]`, resolved once from /etc/passwd.
   * The step then gets a clean environment of that user (HOME, USER, LOGNAME, PATH and `env`;
   * nothing of the engine's), and `cwd` defaults to its home (or /tmp). Needs the engine to run
   * as root. Unset: steps run as the engine's own user.
   */
  runAs: z
    .string()
    .regex(/^([a-z_][a-z0-9_.-]*\$?|\d+(:\d+)?)$/i, "a user name or uid[:gid]")
    .optional(),
});
/**
 * The options of the built-in `local` connector (steps on the engine's own host), as a host writes
 * them.
 */
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

/**
 * Runs one process to completion; see the module comment for the guarantees. `user` is the
 * resolved `runAs` (resolved here when not given).
 */
export async function runLocal(
  config: z.output<typeof LocalConfigSchema>,
  request: ExecRequest,
  user: RunAsUser | undefined = config.runAs === undefined ? undefined : resolveRunAs(config.runAs),
): Promise<ExecResult> {
  const [file, args] = commandLine(request);
  const env: Record<string, string> = {};
  if (user) {
    // Another user: nothing of the engine's environment, not even its HOME.
    Object.assign(env, { HOME: user.home, USER: user.name, LOGNAME: user.name });
  } else {
    for (const name of inheritedVariables) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
  }
  Object.assign(env, config.env, { PATH: [...config.path, defaultLocalPath].join(delimiter) });
  const cwd = config.cwd ?? (user ? workingDirectoryOf(user) : process.cwd());

  const launch = config.spawnHelper ? launchViaHelper : launchDirect;

  return await new Promise<ExecResult>((resolve, reject) => {
    if (request.signal.aborted) {
      reject(abortError(request.signal));
      return;
    }
    const stdout = new CappedText(config.maxOutputChars);
    const stderr = new CappedText(config.maxOutputChars);
    let pid: number | undefined;
    let timedOut = false;
    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const signalGroup = (signal: NodeJS.Signals) => {
      if (pid !== undefined) killGroup(pid, signal);
    };
    const stop = () => {
      if (stopping) return;
      stopping = true;
      signalGroup("SIGTERM");
      killTimer = setTimeout(() => signalGroup("SIGKILL"), config.killGraceMs);
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

    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal.removeEventListener("abort", onAbort);
      // A killed group may leave grandchildren holding the pipes; SIGKILL them before leaving.
      if (stopping) {
        clearTimeout(killTimer);
        signalGroup("SIGKILL");
      }
      outcome();
    };
    launch(
      { file, args, cwd, env, ...(user ? { uid: user.uid, gid: user.gid } : {}) },
      {
        pid(started) {
          pid = started;
          if (request.onProcess) {
            try {
              request.onProcess(describeProcessGroup(started));
            } catch {
              // The journal is the engine's business; the step runs on regardless.
            }
          }
          // Stopped before its id was known (a helper reports it a moment later): stop it now.
          if (stopping) killGroup(started, "SIGTERM");
        },
        output(stream, chunk) {
          (stream === "stdout" ? stdout : stderr).append(chunk);
          request.onOutput?.(stream, chunk);
        },
        // A process that ignores SIGTERM and whose pipes a grandchild keeps open must still end.
        exit() {
          if (stopping) signalGroup("SIGKILL");
        },
        close(code, signal) {
          finish(() => {
            if (request.signal.aborted && !timedOut) {
              reject(abortError(request.signal));
              return;
            }
            resolve({
              exitCode: code,
              exitSignal: signal,
              stdout: stdout.toString(),
              stderr: stderr.toString(),
              timedOut,
            });
          });
        },
        error(err) {
          finish(() =>
            reject(
              rwError("RW_ERR_CONNECTOR_REJECTED", `cannot start ${file}: ${err.code ?? err.message}`, {
                details: { file },
                cause: Object.assign(new Error(err.message), { code: err.code }),
              }),
            ),
          );
        },
      },
    );
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
  // Resolved once, when the connector is registered: an unknown user fails registration.
  const user = config.runAs === undefined ? undefined : resolveRunAs(config.runAs);
  const handle: ConnectionHandle = {
    exec: (request) => runLocal(config, request, user),
    release: async () => {},
  };
  return {
    async open(_connection, { signal }) {
      if (signal.aborted) throw abortError(signal);
      return handle;
    },
    async healthCheck(_connection, options) {
      const started = performance.now();
      try {
        const result = await runLocal(
          config,
          { command: "true", language: "sh", readOnly: true, signal: options.signal, timeoutMs: 5_000 },
          user,
        );
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
  capabilities: ["exec", "shell", "timeout", "stream-output", "health-check"],
  connectionTypes: ["local"],
  languages: ["sh", "python", "javascript", "powershell"],
  create: (config) => createLocal(config),
});
