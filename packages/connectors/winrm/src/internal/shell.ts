/**
 * Remote shells and their pool. A `Shell` is one cmd shell on the server (WS-Transfer Create) with
 * its own authenticated channel; it runs one command at a time. The pool keeps up to
 * `maxShellsPerTarget` per target and credential, hands an idle one out (the most recently used),
 * deletes shells idle for `idleTimeoutMs`, and drops a shell whose command failed in a way that
 * leaves its state unknown. A shell the server no longer knows is detected by the Command that
 * uses it (the fault says so, and nothing ran) and replaced: see exec.ts.
 */
import { type Logger, rwError } from "@runwarden/core";
import type { WinrmConfig } from "../config.js";
import {
  Actions,
  buildEnvelope,
  commandBody,
  commandIdOf,
  EnvelopeError,
  type Fault,
  FaultCodes,
  faultOf,
  parseEnvelope,
  type ReceiveResult,
  receiveBody,
  receiveOf,
  shellBody,
  shellIdOf,
  signalBody,
} from "./envelope.js";
import { abortError, authError, protocolError } from "./errors.js";
import { type Settings, WsmanTransport } from "./transport.js";

/** The server no longer knows the shell (deleted, timed out, service restarted). */
export class ShellGoneError extends Error {}

function isShellGone(fault: Fault): boolean {
  return fault.wsmanCode === FaultCodes.shellNotFound || fault.subcode === "InvalidSelectors";
}

export class Shell {
  readonly transport: WsmanTransport;
  readonly #config: WinrmConfig;
  shellId = "";
  key: string;
  lastUsed = Date.now();
  idleTimer: NodeJS.Timeout | undefined;
  closed = false;

  private constructor(transport: WsmanTransport, config: WinrmConfig) {
    this.transport = transport;
    this.#config = config;
    this.key = transport.settings.key;
  }

  /** Authenticates a channel and creates a cmd shell on it. */
  static async open(
    settings: Settings,
    config: WinrmConfig,
    logger: Logger,
    signal: AbortSignal,
  ): Promise<Shell> {
    const shell = new Shell(new WsmanTransport(settings, config, logger), config);
    try {
      const body = await shell.call(
        Actions.create,
        shellBody(Math.ceil(config.pool.idleTimeoutMs / 1000) + 60),
        signal,
        {
          options: { WINRS_NOPROFILE: "FALSE", WINRS_CODEPAGE: String(settings.options.codepage) },
          withShell: false,
        },
      );
      const id = shellIdOf(body);
      if (!id) throw protocolError(settings.label, "the Create answer holds no ShellId");
      shell.shellId = id;
      return shell;
    } catch (error) {
      shell.transport.destroy();
      throw error;
    }
  }

  /** Sends one request and returns the response body; a fault becomes an error (see `faultError`). */
  async call(
    action: string,
    body: Record<string, unknown> | undefined,
    signal: AbortSignal,
    extra: { options?: Record<string, string>; withShell?: boolean; allowTimedOut?: boolean } = {},
  ): Promise<Record<string, unknown>> {
    const where = this.transport.settings.label;
    const { xml } = buildEnvelope({
      to: this.transport.settings.url.href,
      action,
      operationTimeoutSec: this.#config.operationTimeoutSec,
      maxEnvelopeSize: this.#config.maxEnvelopeSize,
      ...(extra.withShell === false ? {} : { shellId: this.shellId }),
      ...(extra.options ? { options: extra.options } : {}),
      ...(body ? { body } : {}),
    });
    const response = await this.transport.post(xml, signal, action !== Actions.command);
    let parsed: ReturnType<typeof parseEnvelope>;
    try {
      parsed = parseEnvelope(response.xml);
    } catch (error) {
      if (error instanceof EnvelopeError)
        throw protocolError(where, error.message, error, { status: response.status });
      throw error;
    }
    const fault = faultOf(parsed.body);
    if (fault) {
      if (extra.allowTimedOut && (fault.subcode === "TimedOut" || fault.wsmanCode === FaultCodes.timedOut))
        return { TimedOut: true };
      if (isShellGone(fault)) throw new ShellGoneError(fault.reason);
      if (fault.subcode === "AccessDenied") throw authError(where, "access denied");
      throw protocolError(
        where,
        `the server answered with a fault: ${fault.subcode}${fault.reason ? ` (${fault.reason.slice(0, 300)})` : ""}`,
        undefined,
        {
          fault: fault.subcode,
          ...(fault.wsmanCode ? { wsmanCode: fault.wsmanCode } : {}),
        },
      );
    }
    if (response.status !== 200)
      throw protocolError(where, `answered HTTP ${response.status} without a fault`, undefined, {
        status: response.status,
      });
    return parsed.body;
  }

  async command(command: string, args: string | undefined, signal: AbortSignal): Promise<string> {
    const body = await this.call(Actions.command, commandBody(command, args), signal, {
      options: { WINRS_CONSOLEMODE_STDIN: "TRUE", WINRS_SKIP_CMD_SHELL: "FALSE" },
    });
    const id = commandIdOf(body);
    if (!id) throw protocolError(this.transport.settings.label, "the Command answer holds no CommandId");
    return id;
  }

  /** One Receive: output so far and whether the command is done; `undefined` when the server timed out waiting. */
  async receive(commandId: string, signal: AbortSignal): Promise<ReceiveResult | undefined> {
    const body = await this.call(Actions.receive, receiveBody(commandId), signal, { allowTimedOut: true });
    if (body.TimedOut === true) return undefined;
    const result = receiveOf(body);
    if (!result)
      throw protocolError(this.transport.settings.label, "the Receive answer holds no ReceiveResponse");
    return result;
  }

  /** Signal terminate: ends a running command, and frees a finished one's resources on the server. */
  async terminate(commandId: string, signal: AbortSignal): Promise<void> {
    await this.call(Actions.signal, signalBody(commandId), signal);
  }

  async delete(signal: AbortSignal): Promise<void> {
    this.closed = true;
    try {
      await this.call(Actions.delete, undefined, signal);
    } finally {
      await this.transport.close();
    }
  }
}

interface TargetPool {
  idle: Shell[];
  size: number;
  waiters: Set<() => void>;
}

export interface PoolStats {
  targets: number;
  shells: number;
  idle: number;
}

export class ShellPool {
  readonly #config: WinrmConfig;
  readonly #logger: Logger;
  readonly #targets = new Map<string, TargetPool>();
  #closed = false;

  constructor(config: WinrmConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
  }

  #target(key: string): TargetPool {
    let target = this.#targets.get(key);
    if (!target) {
      target = { idle: [], size: 0, waiters: new Set() };
      this.#targets.set(key, target);
    }
    return target;
  }

  /** An idle shell of the target, a new one if the pool has room, else waits for one. */
  async acquire(settings: Settings, signal: AbortSignal): Promise<Shell> {
    const target = this.#target(settings.key);
    for (;;) {
      if (signal.aborted) throw abortError("waiting for a WinRM shell", signal.reason);
      if (this.#closed) throw rwError("RW_ERR_CONNECTOR_REJECTED", "the WinRM connector is closed");
      const shell = target.idle.pop();
      if (shell) {
        if (shell.idleTimer) clearTimeout(shell.idleTimer);
        shell.idleTimer = undefined;
        // Idle a while: its socket may be gone. A fresh one (authenticated again before the
        // Command) proves the credential still works; a shell the server dropped is replaced
        // when the Command's fault says so (exec.ts).
        if (Date.now() - shell.lastUsed >= this.#config.pool.healthCheckAfterMs) shell.transport.renew();
        return shell;
      }
      if (target.size < this.#config.pool.maxShellsPerTarget) {
        target.size++;
        try {
          const opened = await Shell.open(settings, this.#config, this.#logger, signal);
          this.#logger.debug({ target: settings.label }, "winrm shell created");
          return opened;
        } catch (error) {
          target.size--;
          this.#notify(target);
          throw error;
        }
      }
      await this.#wait(target, signal);
    }
  }

  /** Gives a healthy shell back for the next step. */
  release(shell: Shell): void {
    const target = this.#targets.get(shell.key);
    if (!target || this.#closed || shell.closed) {
      this.discard(shell, "released after close");
      return;
    }
    shell.lastUsed = Date.now();
    shell.idleTimer = setTimeout(() => {
      const at = target.idle.indexOf(shell);
      if (at >= 0) {
        target.idle.splice(at, 1);
        this.discard(shell, "idle");
      }
    }, this.#config.pool.idleTimeoutMs);
    shell.idleTimer.unref();
    target.idle.push(shell);
    this.#notify(target);
  }

  /** Takes a shell out of the pool and deletes it on the server (best effort, in the background). */
  discard(shell: Shell, why: string): void {
    const target = this.#targets.get(shell.key);
    if (shell.idleTimer) clearTimeout(shell.idleTimer);
    if (target && !shell.closed) {
      target.size = Math.max(0, target.size - 1);
      this.#notify(target);
    }
    if (shell.closed) return;
    this.#logger.debug({ why }, "winrm shell discarded");
    void shell.delete(AbortSignal.timeout(5000)).catch(() => shell.transport.destroy());
  }

  /** Forgets a shell the server no longer has (no Delete to send). */
  forget(shell: Shell): void {
    const target = this.#targets.get(shell.key);
    if (target && !shell.closed) {
      target.size = Math.max(0, target.size - 1);
      this.#notify(target);
    }
    shell.closed = true;
    shell.transport.destroy();
  }

  stats(): PoolStats {
    let shells = 0;
    let idle = 0;
    for (const target of this.#targets.values()) {
      shells += target.size;
      idle += target.idle.length;
    }
    return { targets: this.#targets.size, shells, idle };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const deletions: Promise<void>[] = [];
    for (const target of this.#targets.values()) {
      for (const shell of target.idle) {
        if (shell.idleTimer) clearTimeout(shell.idleTimer);
        deletions.push(shell.delete(AbortSignal.timeout(3000)).catch(() => shell.transport.destroy()));
      }
      target.idle = [];
      this.#notify(target);
    }
    this.#targets.clear();
    await Promise.all(deletions);
  }

  #wait(target: TargetPool, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        target.waiters.delete(wake);
        resolve();
      };
      const onAbort = () => {
        target.waiters.delete(wake);
        reject(abortError("waiting for a WinRM shell", signal.reason));
      };
      target.waiters.add(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #notify(target: TargetPool): void {
    for (const wake of [...target.waiters]) wake();
  }
}
