/**
 * Where the local connector's processes are forked. `fork()` copies the page tables of the
 * process that calls it, so in a large engine process every step costs milliseconds of the main
 * thread before the command even starts. The helper is a tiny, long-lived Node process (no engine
 * modules loaded) that does the forking instead, on another core, and streams what happens back
 * over its IPC channel.
 *
 * The helper only spawns, decodes output and reports; every decision stays in the engine: it
 * holds the process id and kills the process group itself (timeouts, cancel), applies the output
 * caps and redaction, and settles the step. Should the helper die, the engine kills the groups of
 * the steps it was running and fails them; the next step starts a new helper. Should the engine
 * die (even by SIGKILL), the helper sees its IPC channel close: it SIGKILLs the process group of
 * every step still running, then exits, so no step finishes its side effect unwatched while its
 * record says `interrupted`. (Steps forked directly, without the helper, are reaped by the next
 * engine from the process group the step journal recorded.)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { StringDecoder } from "node:string_decoder";

/** What a running process reports, whoever forked it. */
export interface ProcessEvents {
  /** The process exists: its id, which is also its process group's. */
  pid(pid: number): void;
  /** Decoded output (UTF-8; a character split across reads is held until it is whole). */
  output(stream: "stdout" | "stderr", chunk: string): void;
  /** The process exited (its pipes may still be held open by its children). */
  exit(): void;
  /** The process exited and its pipes are closed: nothing more will be reported. */
  close(code: number | null, signal: NodeJS.Signals | null): void;
  /** It could not be started (or its runner failed): `code` is the errno code when there is one. */
  error(err: { code?: string; message: string }): void;
}

export interface SpawnSpec {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** The user and group to run as (the local connector's `runAs`); unset: the engine's own. */
  uid?: number;
  gid?: number;
}

/** Forks `spec` in its own process group, piping stdout and stderr; reports through `events`. */
export type Launcher = (spec: SpawnSpec, events: ProcessEvents) => void;

/** Forks from this process: the fallback when no helper can run, and the helper's own code path. */
export const launchDirect: Launcher = (spec, events) => {
  let child: ChildProcess;
  try {
    child = spawn(spec.file, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      uid: spec.uid,
      gid: spec.gid,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    events.error({ code: (err as NodeJS.ErrnoException).code, message: (err as Error).message });
    return;
  }
  if (child.pid !== undefined) events.pid(child.pid);
  const decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream]?.on("data", (data: Buffer) => {
      const chunk = decoders[stream].write(data);
      if (chunk.length > 0) events.output(stream, chunk);
    });
  }
  child.on("error", (err: NodeJS.ErrnoException) => events.error({ code: err.code, message: err.message }));
  child.on("exit", () => events.exit());
  child.on("close", (code, signal) => {
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = decoders[stream].end();
      if (rest.length > 0) events.output(stream, rest);
    }
    events.close(code, signal);
  });
};

/**
 * The helper's program, run with `node -e`: plain CommonJS with no dependencies, so it starts in
 * tens of milliseconds and stays small (cheap to fork from). It mirrors launchDirect, and pauses
 * a process's pipes while too many of its messages wait to be sent, so a chatty step cannot grow
 * the helper's memory without bound (the engine caps what it keeps anyway).
 */
const helperSource = `"use strict";
const { spawn } = require("node:child_process");
const { StringDecoder } = require("node:string_decoder");
let unsent = 0;
const paused = new Set();
function send(message) {
  if (!process.connected) return;
  unsent++;
  process.send(message, () => {
    unsent--;
    if (unsent < 64 && paused.size > 0) {
      for (const stream of paused) stream.resume();
      paused.clear();
    }
  });
}
const groups = new Set();
function start(m) {
  const id = m.id;
  let child;
  try {
    child = spawn(m.file, m.args, {
      cwd: m.cwd,
      env: m.env,
      uid: m.uid,
      gid: m.gid,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    send({ t: "error", id, code: err.code, message: err.message });
    return;
  }
  const pgid = child.pid;
  if (pgid !== undefined) {
    groups.add(pgid);
    send({ t: "pid", id, pid: pgid });
  }
  const decoders = [new StringDecoder("utf8"), new StringDecoder("utf8")];
  [child.stdout, child.stderr].forEach((stream, s) => {
    stream.on("data", (data) => {
      const chunk = decoders[s].write(data);
      if (chunk.length === 0) return;
      send({ t: "out", id, s, chunk });
      if (unsent >= 256) {
        stream.pause();
        paused.add(stream);
      }
    });
  });
  child.on("error", (err) => send({ t: "error", id, code: err.code, message: err.message }));
  child.on("exit", () => send({ t: "exit", id }));
  child.on("close", (code, signal) => {
    groups.delete(pgid);
    decoders.forEach((decoder, s) => {
      const rest = decoder.end();
      if (rest.length > 0) send({ t: "out", id, s, chunk: rest });
    });
    send({ t: "close", id, code, signal });
  });
}
process.on("message", (m) => {
  if (m && m.t === "spawn") start(m);
});
// The engine is gone (exited, crashed, SIGKILLed): nobody watches these steps any more.
process.on("disconnect", () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {}
  }
  process.exit(0);
});
send({ t: "ready" });
`;

type HelperMessage =
  | { t: "ready"; id?: undefined }
  | { t: "pid"; id: number; pid: number }
  | { t: "out"; id: number; s: 0 | 1; chunk: string }
  | { t: "exit"; id: number }
  | { t: "close"; id: number; code: number | null; signal: NodeJS.Signals | null }
  | { t: "error"; id: number; code?: string; message: string };

interface Running {
  spec: SpawnSpec;
  events: ProcessEvents;
  pid?: number;
}

/** One helper process and the steps it is running. */
class SpawnHelper {
  private readonly child: ChildProcess;
  private readonly running = new Map<number, Running>();
  private nextId = 1;
  /** Set once the helper has exited or failed: the next step starts another. */
  dead = false;
  /** Set by the helper's first message: from then on it may have forked what it was sent. */
  private ready = false;

  /** `onDead(helper, started)`: `started` is false when it died before it could run anything. */
  constructor(onDead: (helper: SpawnHelper, started: boolean) => void) {
    this.child = spawn(process.execPath, ["-e", helperSource], {
      // Nothing of the engine's environment or flags (NODE_OPTIONS loaders, inspector): each
      // step's environment travels with its request.
      env: {},
      cwd: "/",
      stdio: ["ignore", "ignore", "inherit", "ipc"],
      serialization: "json",
    });
    this.child.on("message", (m: HelperMessage) => this.dispatch(m));
    const die = (reason: string) => {
      if (this.dead) return;
      this.dead = true;
      onDead(this, this.ready);
      if (!this.ready) {
        // It never ran (no Node behind process.execPath, say): nothing was forked, so the steps
        // are forked here instead.
        for (const [, step] of this.running) launchDirect(step.spec, step.events);
        this.running.clear();
        return;
      }
      for (const [, step] of this.running) {
        // Its process may still run with nobody reading it: end it rather than leave it behind.
        if (step.pid !== undefined) killGroup(step.pid, "SIGKILL");
        step.events.error({ message: `the local process helper ${reason}` });
      }
      this.running.clear();
    };
    this.child.on("error", (err) => die(`failed: ${err.message}`));
    this.child.on("exit", (code, signal) => die(`exited (${signal ?? code})`));
    this.idle();
  }

  launch(spec: SpawnSpec, events: ProcessEvents): void {
    const id = this.nextId++;
    this.running.set(id, { spec, events });
    if (this.running.size === 1) this.busy();
    // A send can only fail on a closed channel, i.e. a helper that is exiting: its exit settles
    // the step (forked directly when the helper never ran, failed otherwise).
    this.child.send({ t: "spawn", id, ...spec }, () => {});
  }

  private dispatch(m: HelperMessage): void {
    if (m.t === "ready") {
      this.ready = true;
      return;
    }
    const step = this.running.get(m.id);
    if (!step) return;
    switch (m.t) {
      case "pid":
        step.pid = m.pid;
        step.events.pid(m.pid);
        break;
      case "out":
        step.events.output(m.s === 0 ? "stdout" : "stderr", m.chunk);
        break;
      case "exit":
        step.events.exit();
        break;
      case "close":
        this.forget(m.id);
        step.events.close(m.code, m.signal);
        break;
      case "error":
        // The process never started: nothing else will be reported for it.
        this.forget(m.id);
        step.events.error({ code: m.code, message: m.message });
        break;
    }
  }

  private forget(id: number): void {
    this.running.delete(id);
    if (this.running.size === 0) this.idle();
  }

  /** While steps run, the helper keeps this process alive, as their own pipes would. */
  private busy(): void {
    this.child.ref();
    (this.child.channel as { ref?: () => void } | undefined)?.ref?.();
  }

  private idle(): void {
    this.child.unref();
    (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
  }
}

let helper: SpawnHelper | undefined;
/** Set when a helper could not even start: this process then forks its steps itself. */
let helperUnavailable = false;

/**
 * Forks through the shared helper process, starting it on first use (and again after it died);
 * forks directly when no helper can start here.
 */
export const launchViaHelper: Launcher = (spec, events) => {
  if (helperUnavailable) {
    launchDirect(spec, events);
    return;
  }
  if (!helper || helper.dead) {
    helper = new SpawnHelper((dead, started) => {
      if (helper === dead) helper = undefined;
      if (!started) helperUnavailable = true;
    });
  }
  helper.launch(spec, events);
};

/** Signals a process group; a group that is gone already is no error. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}
