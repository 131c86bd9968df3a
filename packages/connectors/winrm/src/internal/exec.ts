/**
 * Running one step on a pooled shell: Command, Receive until CommandState/Done (streaming output
 * as it arrives), Signal terminate (which also frees the command on the server). A timeout or an
 * abort sends Signal terminate to the running command.
 */
import { StringDecoder } from "node:string_decoder";
import { type ExecRequest, type ExecResult, type Logger, rwError } from "@runwarden/core";
import type { WinrmConfig } from "../config.js";
import { cleanClixml } from "./clixml.js";
import { abortError } from "./errors.js";
import { type Shell, ShellGoneError, type ShellPool } from "./shell.js";
import type { Settings } from "./transport.js";

/** cmd.exe's command-line limit (CreateProcess allows 32767; cmd /c, which WinRM uses, 8191). */
const MAX_COMMAND_LINE = 8191;

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

  /** The decoder's tail (an incomplete character at the end), to stream before `text()`. */
  flush(): string {
    const tail = this.#decoder.end();
    if (tail) this.#parts.push(tail);
    return tail;
  }

  text(): string {
    const body = this.#parts.join("");
    return this.#dropped > 0
      ? `${body}\n[runwarden: ${this.#dropped} more bytes dropped after ${this.#cap}]\n`
      : body;
  }
}

/** The Command and Arguments a step becomes: cmd as written, PowerShell as -EncodedCommand (UTF-16LE base64). */
export function commandLine(request: Pick<ExecRequest, "command" | "language">): {
  command: string;
  args?: string;
} {
  const language = request.language.toLowerCase();
  if (language === "powershell") {
    const encoded = Buffer.from(request.command, "utf16le").toString("base64");
    const args = `-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ${encoded}`;
    if (args.length + 16 > MAX_COMMAND_LINE)
      throw rwError(
        "RW_ERR_CONNECTOR_REJECTED",
        `the PowerShell script is too long for one WinRM command line (${args.length} characters encoded, at most ${MAX_COMMAND_LINE - 16}): split the step or ship the script to the host`,
        { details: { reason: "too-long", language } },
      );
    return { command: "powershell.exe", args };
  }
  if (language === "cmd") {
    if (/[\r\n]/.test(request.command))
      throw rwError(
        "RW_ERR_CONNECTOR_REJECTED",
        "a cmd step is one command line: write one step per command, or use a powershell step",
        {
          details: { reason: "multi-line", language },
        },
      );
    if (request.command.length > MAX_COMMAND_LINE)
      throw rwError(
        "RW_ERR_CONNECTOR_REJECTED",
        `the cmd command line is longer than ${MAX_COMMAND_LINE} characters`,
        {
          details: { reason: "too-long", language },
        },
      );
    return { command: request.command };
  }
  throw rwError(
    "RW_ERR_CONNECTOR_REJECTED",
    `the WinRM connector runs powershell and cmd steps, not ${request.language}`,
    {
      details: { reason: "language", language: request.language },
    },
  );
}

/**
 * Runs `request` on a pooled shell. A command that outlives its timeout is terminated and
 * resolves with `timedOut: true` and the output so far; an abort terminates it and rejects with
 * RW_ERR_CONNECTOR_TIMEOUT at once.
 */
export async function runCommand(
  pool: ShellPool,
  settings: Settings,
  request: ExecRequest,
  config: WinrmConfig,
  logger: Logger,
): Promise<ExecResult> {
  const { signal } = request;
  const line = commandLine(request);
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) throw abortError("WinRM command", signal.reason);
    const shell = await pool.acquire(settings, signal);
    let commandId: string;
    try {
      commandId = await shell.command(line.command, line.args, signal);
    } catch (error) {
      if (error instanceof ShellGoneError && attempt === 0) {
        // The server dropped the shell while it sat in the pool: nothing ran, use a fresh one.
        logger.debug({ target: settings.label }, "winrm shell gone, replacing it");
        pool.forget(shell);
        continue;
      }
      pool.discard(shell, "command failed");
      if (error instanceof ShellGoneError)
        throw rwError(
          "RW_ERR_CONNECTOR_UNREACHABLE",
          `the WinRM server ${settings.label} keeps dropping shells`,
          {
            details: { reason: "unreachable", target: settings.label },
          },
        );
      throw error;
    }
    return drive(pool, shell, commandId, request, config);
  }
}

async function drive(
  pool: ShellPool,
  shell: Shell,
  commandId: string,
  request: ExecRequest,
  config: WinrmConfig,
): Promise<ExecResult> {
  const { signal } = request;
  const stdout = new Capture(config.maxOutputBytes);
  const stderr = new Capture(config.maxOutputBytes);
  const stop = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort(new Error("step timeout"));
  }, request.timeoutMs ?? config.commandTimeoutMs);
  const onAbort = () => stop.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  if (signal.aborted) onAbort();

  const terminate = () =>
    shell.terminate(commandId, AbortSignal.timeout(5000)).then(
      () => pool.release(shell),
      () => pool.discard(shell, "terminate failed"),
    );

  let exitCode: number | null = null;
  try {
    for (;;) {
      const result = await shell.receive(commandId, stop.signal);
      if (!result) continue;
      for (const chunk of result.chunks) {
        const text = (chunk.stream === "stdout" ? stdout : stderr).push(chunk.data);
        if (text) request.onOutput?.(chunk.stream, text);
      }
      if (result.done) {
        exitCode = result.exitCode;
        break;
      }
    }
  } catch (error) {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
    if (signal.aborted) {
      void terminate();
      throw abortError("WinRM command", signal.reason);
    }
    if (timedOut) {
      await terminate();
      return finish(stdout, stderr, request, null, true);
    }
    // The channel failed mid-command: the command's state is unknown, so is the shell's.
    pool.discard(shell, "receive failed");
    throw rwError(
      "RW_ERR_CONNECTOR_UNREACHABLE",
      `the WinRM connection to ${shell.transport.settings.label} failed while the command ran; it may or may not have finished`,
      {
        cause: error,
        details: { reason: "unreachable", dropped: true, target: shell.transport.settings.label },
      },
    );
  }
  clearTimeout(timer);
  signal.removeEventListener("abort", onAbort);
  // Signal terminate after Done frees the command on the server (pywinrm's cleanup_command).
  await terminate();
  return finish(stdout, stderr, request, exitCode, false);
}

function finish(
  stdout: Capture,
  stderr: Capture,
  request: ExecRequest,
  exitCode: number | null,
  timedOut: boolean,
): ExecResult {
  for (const [name, capture] of [
    ["stdout", stdout],
    ["stderr", stderr],
  ] as const) {
    const tail = capture.flush();
    if (tail) request.onOutput?.(name, tail);
  }
  const errors = stderr.text();
  return {
    exitCode,
    stdout: stdout.text(),
    // PowerShell's error stream arrives as CLIXML: the result holds its text (chunks streamed raw).
    stderr: request.language.toLowerCase() === "powershell" ? cleanClixml(errors) : errors,
    ...(timedOut ? { timedOut: true } : {}),
  };
}
