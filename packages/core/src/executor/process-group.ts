/**
 * The process groups of local steps as the step journal records them: what tells one is ours
 * (host, boot, the group leader's start time), and what a restarted engine does with a group a
 * crash left behind: kill it if it still runs, and say what it found.
 */
import { readdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { StepProcess, StepProcessCheck } from "../domain.js";

let bootId: string | null | undefined;

/** This boot's id, or null where the kernel does not expose one. */
function currentBootId(): string | null {
  if (bootId === undefined) {
    try {
      bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
    } catch {
      bootId = null;
    }
  }
  return bootId;
}

interface Stat {
  state: string;
  pgrp: number;
  startTicks: number;
}

/** State, process group and start time (clock ticks since boot) of a process, from /proc. */
function statOf(pid: number | string): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so field N is fields[N - 3]: pgrp is 5, starttime 22.
  return { state: fields[0]!, pgrp: Number(fields[2]), startTicks: Number(fields[19]) };
}

/** How many processes of group `pgid` still run (zombies, which have ended, do not count). */
function runningMembers(pgid: number): number {
  let count = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statOf(entry);
    if (stat && stat.pgrp === pgid && stat.state !== "Z" && stat.state !== "X") count++;
  }
  return count;
}

/** The journal record of the process group led by `pgid`, a process this engine just started. */
export function describeProcessGroup(pgid: number): StepProcess {
  return { pgid, host: hostname(), bootId: currentBootId(), startTicks: statOf(pgid)?.startTicks ?? null };
}

/**
 * Run when a restarted engine finds a step still marked running: kills the step's recorded
 * process group if it is still alive (and provably the step's), and says what it found.
 */
export function reapProcessGroup(record: StepProcess | null | undefined, at: string): StepProcessCheck {
  const check = (outcome: StepProcessCheck["outcome"], reason: string) => ({ outcome, reason, at });
  if (!record) {
    return check(
      "unknown",
      "no process group was recorded for the step (not a local step, or the engine stopped before its process started)",
    );
  }
  const { pgid } = record;
  const here = hostname();
  if (record.host !== here) {
    return check("unknown", `process group ${pgid} ran on host ${record.host}, not on this one (${here})`);
  }
  const boot = currentBootId();
  if (record.bootId === null || boot === null) {
    return check("unknown", `this host cannot tell whether process group ${pgid} is the step's (no /proc)`);
  }
  if (record.bootId !== boot) {
    return check("had exited", `the host has restarted since process group ${pgid} ran: it ended then`);
  }
  const leader = statOf(pgid);
  if (leader && record.startTicks !== null && leader.startTicks !== record.startTicks) {
    // The kernel reuses no id while a group of that id lives: the step's group is gone.
    return check("had exited", `process group ${pgid} had exited (its id now belongs to another process)`);
  }
  if (leader && record.startTicks === null && leader.state !== "Z") {
    return check("unknown", `a process group ${pgid} runs, but nothing tells whether it is the step's`);
  }
  if (runningMembers(pgid) === 0) return check("had exited", `process group ${pgid} had exited`);
  try {
    process.kill(-pgid, "SIGKILL");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EPERM") {
      return check("unknown", `process group ${pgid} still runs but this engine may not signal it`);
    }
    return check("had exited", `process group ${pgid} had exited`);
  }
  return check(
    "killed at restart",
    leader && leader.state !== "Z"
      ? `process group ${pgid} was still running; it was killed`
      : `processes of group ${pgid} were still running after its leader exited; they were killed`,
  );
}
