/**
 * Runs a command in a container through the API server's WebSocket exec (the client negotiates
 * `v5.channel.k8s.io` or `v4.channel.k8s.io`): stdout and stderr arrive on channels 1 and 2, the
 * final V1Status on channel 3. Exit code: 0 for `Success`; for `NonZeroExitCode` the `ExitCode`
 * cause. Abort closes the socket (the API server then ends the exec stream).
 */
import { Writable } from "node:stream";
import { Exec, type V1Status } from "@kubernetes/client-node";
import { type ExecResult, rwError } from "@runwarden/core";
import type { Cluster } from "./client.js";
import { abortError, apiError } from "./errors.js";

export interface ExecOptions {
  namespace: string;
  pod: string;
  container?: string;
  command: string[];
  signal: AbortSignal;
  timeoutMs: number;
  maxOutputBytes: number;
  onOutput?(stream: "stdout" | "stderr", chunk: string): void;
}

/** A capped text sink: keeps at most `cap` bytes, decodes UTF-8 across chunk boundaries. */
class Sink extends Writable {
  text = "";
  private size = 0;
  cut = false;
  private readonly decoder = new TextDecoder("utf-8");
  constructor(
    private readonly cap: number,
    private readonly onChunk?: (chunk: string) => void,
  ) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    const room = this.cap - this.size;
    const kept = chunk.length > room ? chunk.subarray(0, Math.max(room, 0)) : chunk;
    if (kept.length < chunk.length) this.cut = true;
    this.size += kept.length;
    if (kept.length > 0) this.emitText(this.decoder.decode(kept, { stream: true }));
    done();
  }
  flushText(): void {
    this.emitText(this.decoder.decode());
  }
  private emitText(text: string): void {
    if (text === "") return;
    this.text += text;
    this.onChunk?.(text);
  }
}

/** The exit code a V1Status carries, or undefined when it reports no exit (a failure to start). */
export function exitCodeOf(status: V1Status): number | undefined {
  if (status.status === "Success") return 0;
  if (status.reason === "NonZeroExitCode") {
    const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return code;
  }
  return undefined;
}

export async function execInPod(cluster: Cluster, options: ExecOptions): Promise<ExecResult> {
  const { signal } = options;
  if (signal.aborted) throw abortError(signal.reason);
  const stdout = new Sink(options.maxOutputBytes, (c) => options.onOutput?.("stdout", c));
  const stderr = new Sink(options.maxOutputBytes, (c) => options.onOutput?.("stderr", c));
  let status: V1Status | undefined;
  const what = `exec in pod ${options.namespace}/${options.pod}`;

  let socket: Awaited<ReturnType<Exec["exec"]>>;
  try {
    socket = await abortable(
      new Exec(cluster.kc).exec(
        options.namespace,
        options.pod,
        options.container ?? "",
        options.command,
        stdout,
        stderr,
        null,
        false,
        (s) => {
          status = s;
        },
      ),
      signal,
    );
  } catch (error) {
    if (signal.aborted) throw abortError(signal.reason);
    throw apiError(error, what, cluster.server);
  }

  const outcome = await new Promise<"closed" | "aborted" | "timeout">((resolve) => {
    const timer = setTimeout(() => finish("timeout"), options.timeoutMs);
    const onAbort = () => finish("aborted");
    signal.addEventListener("abort", onAbort, { once: true });
    socket.addEventListener("close", () => finish("closed"));
    if (socket.readyState === socket.CLOSED) finish("closed");
    function finish(how: "closed" | "aborted" | "timeout") {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      if (how === "closed") {
        // nothing to end
      } else if (typeof socket.terminate === "function") socket.terminate();
      else socket.close();
      resolve(how);
    }
  });
  stdout.flushText();
  stderr.flushText();
  const notes: string[] = [];
  if (stdout.cut) notes.push(`[runwarden: stdout cut at ${options.maxOutputBytes} bytes]`);
  if (stderr.cut) notes.push(`[runwarden: stderr cut at ${options.maxOutputBytes} bytes]`);
  if (outcome === "aborted") throw abortError(signal.reason);
  /** stderr with the connector's own notes appended, each also streamed. */
  const stderrWith = (...more: string[]) => {
    const extra = [...notes, ...more].map((line) => `${line}\n`).join("");
    if (extra) options.onOutput?.("stderr", extra);
    return `${stderr.text}${extra}`;
  };
  if (outcome === "timeout")
    return {
      exitCode: null,
      exitSignal: null,
      stdout: stdout.text,
      stderr: stderrWith(`exec timed out after ${options.timeoutMs} ms`),
      timedOut: true,
    };
  if (!status)
    return {
      exitCode: null,
      exitSignal: null,
      stdout: stdout.text,
      stderr: stderrWith("[runwarden: the exec stream closed without an exit status]"),
    };
  const exitCode = exitCodeOf(status);
  if (exitCode === undefined) {
    const message = (status.message ?? "exec failed").slice(0, 300);
    if (status.reason === "NotFound" || status.code === 404)
      throw rwError("RW_ERR_CONNECTOR_NOT_FOUND", `${what}: ${message}`, {
        details: { reason: "not found" },
      });
    return { exitCode: null, exitSignal: null, stdout: stdout.text, stderr: stderrWith(message) };
  }
  return { exitCode, exitSignal: null, stdout: stdout.text, stderr: stderrWith() };
}

/** Rejects as soon as the signal aborts (closing the socket if it opens later). */
function abortable<T extends { close(): void }>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) value.close();
        else resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
