/**
 * The local connector's `runAs` option: the OS user its steps run as, resolved once from
 * `/etc/passwd` (a user name, or `uid[:gid]`). The engine must run as root to use another user.
 */
import { readFileSync, statSync } from "node:fs";
import { rwError } from "../errors.js";

/** Who a local step runs as. */
export interface RunAsUser {
  uid: number;
  gid: number;
  /** The user name (the uid as text when `/etc/passwd` has no entry for it). */
  name: string;
  /** The user's home directory from `/etc/passwd`; "/" when there is none. */
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function readPasswd(file: string): PasswdEntry[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const entries: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields.length < 7 || line.startsWith("#")) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    entries.push({ name: fields[0]!, uid, gid, home: fields[5] || "/" });
  }
  return entries;
}

const invalid = (message: string, runAs: string) =>
  rwError("RW_ERR_CONFIG_INVALID", `runAs: ${message}`, {
    details: { issues: [{ path: "runAs", message }], runAs },
  });

/**
 * Resolves `runAs` (a user name, or `uid[:gid]`) to ids. Throws RW_ERR_CONFIG_INVALID for an
 * unknown user name, or when this process may not switch to that user (it is not root).
 */
export function resolveRunAs(runAs: string, passwdFile = "/etc/passwd"): RunAsUser {
  const entries = readPasswd(passwdFile);
  let user: RunAsUser;
  const ids = /^(\d+)(?::(\d+))?$/.exec(runAs);
  if (ids) {
    const uid = Number(ids[1]);
    const entry = entries.find((e) => e.uid === uid);
    user = {
      uid,
      gid: ids[2] !== undefined ? Number(ids[2]) : (entry?.gid ?? uid),
      name: entry?.name ?? String(uid),
      home: entry?.home ?? "/",
    };
  } else {
    const entry = entries.find((e) => e.name === runAs);
    if (!entry) throw invalid(`no user named "${runAs}" in ${passwdFile}`, runAs);
    user = { uid: entry.uid, gid: entry.gid, name: entry.name, home: entry.home };
  }
  const own = process.getuid?.();
  if (own !== undefined && own !== 0 && own !== user.uid) {
    throw invalid(
      `running steps as ${user.name} needs the engine to run as root (it runs as uid ${own})`,
      runAs,
    );
  }
  return user;
}

/** A working directory the user can use: its home when that exists, otherwise /tmp. */
export function workingDirectoryOf(user: RunAsUser): string {
  if (user.home === "/") return "/tmp";
  try {
    return statSync(user.home).isDirectory() ? user.home : "/tmp";
  } catch {
    return "/tmp";
  }
}
