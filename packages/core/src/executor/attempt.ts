/**
 * Runs one prepared step: each attempt (connection slot, open, exec with the step's timeout,
 * output captured and redacted, exit code and output judged), retries with backoff, and the
 * result held back for the session's next commit.
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { StepProcess, StepRecord } from "../domain.js";
import { callSignal, endCallSignal, timedOut } from "../internal/call-signal.js";
import type { EngineContext } from "../internal/context.js";
import type { ExecResult } from "../plugin.js";
import type { KeyedSemaphore } from "./concurrency.js";
import type { Interrupts } from "./interrupt.js";
import { type ExecutorDeps, errorText, type Live, type StopReason } from "./live.js";
import { CappedText, defaultOutputCap } from "./output.js";
import type { PreparedStep } from "./plan.js";
import type { SessionWriter } from "./session-writer.js";

/** A remote connector that ignores its timeout is stopped this long after it. */
const engineTimeoutGraceMs = 5_000;

export class Attempts {
  readonly log: Logger;
  readonly deps: Pick<ExecutorDeps, "registry">;
  private readonly writer: SessionWriter;
  private readonly interrupts: Interrupts;
  private readonly perConnection: KeyedSemaphore;
  private readonly isClosing: () => boolean;

  constructor(
    readonly ctx: EngineContext,
    parts: {
      log: Logger;
      deps: Pick<ExecutorDeps, "registry">;
      writer: SessionWriter;
      interrupts: Interrupts;
      /** Steps running at once per connection. */
      perConnection: KeyedSemaphore;
      /** True once the executor is closing: no retry starts. */
      isClosing: () => boolean;
    },
  ) {
    this.log = parts.log;
    this.deps = parts.deps;
    this.writer = parts.writer;
    this.interrupts = parts.interrupts;
    this.perConnection = parts.perConnection;
    this.isClosing = parts.isClosing;
  }

  /** Runs a prepared step, with its retries, and records the outcome. */
  async execute(
    live: Live,
    step: StepRecord,
    prepared: PreparedStep,
  ): Promise<"succeeded" | "failed" | "paused"> {
    const planned = live.planned[step.index]!;
    const timeoutMs =
      planned.step.timeoutMs ?? live.runbook.metadata.timeoutMs ?? this.ctx.policy.defaultStepTimeoutMs;
    let current = step;
    for (let attempt = step.attempts + 1; ; attempt++) {
      const startedAt = this.ctx.nowIso();
      current = await this.writer.saveStep(live, current, {
        status: "running",
        attempts: attempt,
        rendered: prepared.rendered.command,
        connection: prepared.resolution.resolved.name,
        startedAt,
        finishedAt: null,
        exitCode: null,
        error: null,
        process: null,
      });
      this.ctx.events.emit("step:started", {
        sessionId: live.session.id,
        stepId: current.id,
        name: current.name,
        phase: current.phase,
        attempt,
      });
      const began = performance.now();
      const outcome = await this.runOnce(live, current, prepared, timeoutMs);
      const durationMs = Math.round(performance.now() - began);
      const finishedAt = this.ctx.nowIso();
      if (outcome.status === "stopped") {
        const reason = (live.signal.reason as StopReason | undefined)?.kind ?? "close";
        if (reason === "cancel") {
          current = await this.writer
            .saveStep(live, current, {
              status: "cancelled",
              stdout: outcome.stdout,
              stderr: outcome.stderr,
              error: "cancelled while running",
              finishedAt,
            })
            .catch(() => current);
          this.writer.emitStepFinished(live, current, durationMs);
        } else if (reason === "close") {
          await this.interrupts.interrupt(live, current, { stdout: outcome.stdout, stderr: outcome.stderr });
        }
        // A lost lease: another instance owns the session now and will see the step as running.
        return "paused";
      }
      const retry =
        outcome.status !== "succeeded" &&
        attempt <= planned.step.retries &&
        !live.signal.aborted &&
        !this.isClosing();
      if (retry) {
        const waitMs = Math.min(this.ctx.policy.retryBackoffMs * 2 ** (attempt - 1), 60_000);
        current = await this.writer.saveStep(live, current, {
          status: current.requiresApproval ? "approved" : "pending",
          exitCode: outcome.exitCode,
          stdout: outcome.stdout,
          stderr: outcome.stderr,
          error: `attempt ${attempt} ${outcome.status === "timed_out" ? "timed out" : "failed"}: ${outcome.error}; retrying in ${waitMs} ms`,
          finishedAt,
        });
        this.log.warn(
          { sessionId: live.session.id, stepId: current.id, attempt, waitMs },
          "step failed, retrying",
        );
        try {
          await sleep(waitMs, undefined, { signal: live.signal });
        } catch {
          return "paused";
        }
        if (this.isClosing()) return "paused";
        continue;
      }
      // Stored with whatever the session does next (the next step's start, its end): before it.
      this.writer.deferStep(
        live,
        current,
        {
          status: outcome.status,
          exitCode: outcome.exitCode,
          stdout: outcome.stdout,
          stderr: outcome.stderr,
          error: outcome.status === "succeeded" ? null : outcome.error,
          finishedAt,
        },
        durationMs,
      );
      return outcome.status === "succeeded" ? "succeeded" : "failed";
    }
  }

  /** One attempt: open the connection, exec, capture redacted output, judge the result. */
  private async runOnce(
    live: Live,
    step: StepRecord,
    prepared: PreparedStep,
    timeoutMs: number,
  ): Promise<{
    status: "succeeded" | "failed" | "timed_out" | "stopped";
    exitCode: number | null;
    stdout: string;
    stderr: string;
    error: string;
  }> {
    const planned = live.planned[step.index]!;
    const { resolved } = prepared.resolution;
    const capture = { stdout: new CappedText(defaultOutputCap), stderr: new CappedText(defaultOutputCap) };
    const streams = { stdout: live.redactor.stream(), stderr: live.redactor.stream() };
    // What a connector derives from the credential (a Basic header, a token) is redacted too.
    const redact = (value: string) => live.redactor.add([value]);
    const streamed = { stdout: false, stderr: false };
    const emitOutput = this.ctx.events.listenerCount("step:output") > 0;
    const onOutput = (stream: "stdout" | "stderr", chunk: string) => {
      streamed[stream] = true;
      const safe = streams[stream].push(chunk);
      if (safe.length === 0) return;
      capture[stream].append(safe);
      if (emitOutput)
        this.ctx.events.emit("step:output", {
          sessionId: live.session.id,
          stepId: step.id,
          stream,
          chunk: safe,
        });
    };
    const flush = () => {
      for (const stream of ["stdout", "stderr"] as const) {
        const rest = streams[stream].flush();
        if (rest.length === 0) continue;
        capture[stream].append(rest);
        if (emitOutput)
          this.ctx.events.emit("step:output", {
            sessionId: live.session.id,
            stepId: step.id,
            stream,
            chunk: rest,
          });
      }
    };
    // The one signal of this step's connector calls: the session's stop (a cancel, engine
    // shutdown after its grace) and the engine's hard timeout.
    const signal = callSignal(live.signal, timeoutMs + engineTimeoutGraceMs);
    let release: (() => void) | undefined;
    let result: ExecResult | undefined;
    let failure: unknown;
    // The process group is journaled as soon as it exists: a restart after a crash reaps it.
    let journaled: Promise<unknown> = Promise.resolve();
    const onProcess = (process: StepProcess) => {
      // Only this change: results held back for the session's next commit stay held back.
      journaled = this.writer
        .store(live, [{ kind: "step", id: step.id, changes: { process } }])
        .catch((err: unknown) =>
          this.log.warn(
            { sessionId: live.session.id, stepId: step.id, err: { message: errorText(err, live.redactor) } },
            "process group not journaled",
          ),
        );
    };
    try {
      release = await this.perConnection.acquire(`${resolved.connectionType}:${resolved.name}`, signal);
      const connector = this.deps.registry.infrastructureFor(resolved.connectionType, resolved.targetService);
      const handle = await connector.open(resolved, { signal, redact });
      try {
        result = await handle.exec({
          command: prepared.rendered.command,
          language: prepared.language,
          ...(prepared.rendered.sql ? { sql: prepared.rendered.sql } : {}),
          readOnly: step.phase === "prechecks" || step.phase === "postchecks",
          signal,
          timeoutMs,
          onOutput,
          redact,
          onProcess,
        });
      } finally {
        await handle.release().catch(() => {});
      }
    } catch (err) {
      failure = err;
    } finally {
      endCallSignal(signal);
      release?.();
      flush();
      // The step's next write must see the journal entry's version.
      await journaled;
    }
    const text = (stream: "stdout" | "stderr") => {
      if (streamed[stream] || !result) return capture[stream].toString();
      const capped = new CappedText(defaultOutputCap);
      capped.append(live.redactor.redact(result[stream]));
      return capped.toString();
    };
    const stdout = text("stdout");
    const stderr = text("stderr");
    const base = { exitCode: result?.exitCode ?? null, stdout, stderr };
    // The first abort names the reason: the hard timeout, unless the session stopped before it.
    const engineTimedOut = timedOut(signal);
    if (live.signal.aborted && !engineTimedOut) return { status: "stopped", ...base, error: "stopped" };
    if (engineTimedOut || result?.timedOut) {
      return {
        status: "timed_out",
        ...base,
        error: `RW_ERR_EXEC_TIMEOUT: the step ran past its timeout of ${timeoutMs} ms and was killed`,
      };
    }
    if (failure !== undefined || !result)
      return { status: "failed", ...base, error: errorText(failure, live.redactor) };
    const expected = planned.step.expect?.exitCode ?? 0;
    if (result.exitCode !== expected) {
      const how =
        result.exitCode === null
          ? `it was killed by ${result.exitSignal ?? "a signal"}`
          : `exit code ${result.exitCode}`;
      return { status: "failed", ...base, error: `${how}, expected ${expected}` };
    }
    const pattern = planned.step.expect?.output;
    if (pattern !== undefined && !new RegExp(pattern).test(result.stdout)) {
      return { status: "failed", ...base, error: `the output did not match /${pattern}/` };
    }
    return { status: "succeeded", ...base, error: "" };
  }
}
