/**
 * Running one command on a pooled connection: output streamed and capped, exit code or signal,
 * timeout and abort kill the remote command (TERM, then KILL and channel close).
 */
import { StringDecoder } from "node:string_decoder";
import { type ExecRequest, type ExecResult, type Logger, rwError } from "@runwarden/core";
import type { ClientChannel } from "ssh2";
import type { SshConfig } from "../config.js";
import type { Settings } from "./connect.js";
import { abortError } from "./errors.js";
import type { Pooled, SshPool } from "./pool.js";

/** Collects one stream's text up to a byte cap, decoding UTF-8 across chunk boundaries. */
class Capture {
  readonly #decoder = new StringDecoder("utf8");
  readonly #parts: string[] = [];
  #bytes = 0;
  #dropped = 0;
  readonly #cap: number;

  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Returns the text kept from this chunk ("" once the cap is reached). */
  push(chunk: Buffer): string {
    const room = this.#cap - this.#bytes;
    if (room <= 0) {
      this.#dropped += chunk.length;
      return "";
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#dropped += chunk.length - kept.length;
    this.#bytes += kept.length;
    const text = this.#decoder.write(kept);
    this.#parts.push(text);
    return text;
  }

  text(): string {
    const tail = this.#decoder.end();
    const body = this.#parts.join("") + tail;
    return this.#dropped > 0
      ? `${body}\n[runwarden: ${this.#dropped} more bytes dropped after ${this.#cap}]\n`
      : body;
  }
}

const MAX_OPEN_ATTEMPTS = 5;

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function channelError(error: unknown, settings: Settings) {
  return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `cannot open an SSH channel on ${settings.label}`, {
    cause: error,
    details: { reason: "unreachable", host: settings.target.host, port: settings.target.port },
  });
}

interface ChannelInternals {
  outgoing?: { id: number; state: string };
  _client?: { _protocol?: { signal(id: number, name: string): void } };
}

/**
 * Sends a signal request. ssh2's `Channel.signal()` is a no-op once our side sent EOF (we close
 * stdin at once), so the request goes through the channel's protocol object in that case.
 * sshd delivers it with killpg() to the command's process group.
 */
function sendSignal(channel: ClientChannel, name: "TERM" | "KILL"): void {
  if (channel.writable) return void channel.signal(name);
  const internals = channel as unknown as ChannelInternals;
  if (internals.outgoing?.state === "open" || internals.outgoing?.state === "eof")
    internals._client?._protocol?.signal(internals.outgoing.id, name);
}

function openChannel(pooled: Pooled, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      pooled.client.exec(command, (error, stream) => (error ? reject(error) : resolve(stream)));
    } catch (error) {
      reject(error);
    }
  });
}

/**
 * Runs `request.command` on a pooled connection. A command that outlives its timeout resolves
 * with `timedOut: true` and the output so far; an abort rejects with RW_ERR_CONNECTOR_TIMEOUT.
 */
export async function runCommand(
  pool: SshPool,
  settings: Settings,
  request: ExecRequest,
  config: SshConfig,
  logger: Logger,
): Promise<ExecResult> {
  const { signal } = request;
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) throw abortError("SSH command", signal.reason);
    const pooled = await pool.acquire(settings, signal);
    let channel: ClientChannel;
    try {
      channel = await openChannel(pooled, request.command);
    } catch (error) {
      pool.release(pooled);
      // The command never started, so trying again is safe. "(SSH) Channel open failure" comes
      // from a live connection (sshd had not yet freed a just-closed session); anything else
      // ("Not connected", no response) means the connection is gone: replace it.
      const alive = !pooled.closed && /channel open failure/i.test(String((error as Error)?.message));
      if (!alive) pool.discard(pooled, "channel open failed");
      if (attempt < MAX_OPEN_ATTEMPTS - 1) {
        logger.debug({ target: settings.label, attempt, alive }, "ssh channel open failed, retrying");
        if (alive) await delay(10 * (attempt + 1), signal);
        continue;
      }
      throw channelError(error, settings);
    }
    return drive(pool, pooled, channel, request, config);
  }
}

function drive(
  pool: SshPool,
  pooled: Pooled,
  channel: ClientChannel,
  request: ExecRequest,
  config: SshConfig,
): Promise<ExecResult> {
  const { signal } = request;
  const stdout = new Capture(config.maxOutputBytes);
  const stderr = new Capture(config.maxOutputBytes);
  let exit: { code: number | null; signal: string | null } | undefined;
  let timedOut = false;
  let aborted = false;
  let killing = false;
  const timers: NodeJS.Timeout[] = [];

  return new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };

    const kill = () => {
      if (killing) return;
      killing = true;
      sendSignal(channel, "TERM");
      timers.push(
        setTimeout(() => {
          sendSignal(channel, "KILL");
          channel.close();
          // If the server never answers the close, give up on it: the connection is suspect.
          timers.push(setTimeout(() => pool.discard(pooled, "channel did not close"), 5000));
        }, config.killGraceMs),
      );
    };

    const onAbort = () => {
      aborted = true;
      kill();
      settle(() => reject(abortError("SSH command", signal.reason)));
    };

    const timeoutMs = request.timeoutMs ?? config.commandTimeoutMs;
    timers.push(
      setTimeout(() => {
        timedOut = true;
        kill();
      }, timeoutMs),
    );
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();

    channel.on("data", (chunk: Buffer) => {
      const text = stdout.push(chunk);
      if (text && !aborted) request.onOutput?.("stdout", text);
    });
    channel.stderr.on("data", (chunk: Buffer) => {
      const text = stderr.push(chunk);
      if (text && !aborted) request.onOutput?.("stderr", text);
    });
    channel.on("exit", (code: number | null, signalName?: string) => {
      exit = { code: typeof code === "number" ? code : null, signal: signalName ?? null };
    });
    // ssh2 repeats the exit status on "close"; it matters when "exit" fired before we listened.
    channel.once("close", (code?: number | null, signalName?: string) => {
      if (exit === undefined && (typeof code === "number" || typeof signalName === "string")) {
        exit = { code: typeof code === "number" ? code : null, signal: signalName ?? null };
      }
      for (const timer of timers) clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      pool.release(pooled);
      if (exit === undefined && !timedOut && !aborted) {
        pool.discard(pooled, "channel closed without exit status");
        settle(() =>
          reject(
            rwError(
              "RW_ERR_CONNECTOR_UNREACHABLE",
              "the SSH connection dropped while the command ran; it may or may not have finished",
              {
                details: { reason: "unreachable", dropped: true },
              },
            ),
          ),
        );
        return;
      }
      settle(() =>
        resolve({
          exitCode: exit?.code ?? null,
          exitSignal: exit?.signal ?? null,
          stdout: stdout.text(),
          stderr: stderr.text(),
          ...(timedOut ? { timedOut: true } : {}),
        }),
      );
    });
    // No stdin: a command that reads it sees end-of-file instead of hanging.
    channel.end();
  });
}
