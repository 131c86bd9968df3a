import { distance } from "fastest-levenshtein";
import type { PhaseName } from "./schema.js";

/**
 * Section headings, matched case-insensitively and ignoring everything but letters, so
 * "Pre-checks", "PRE CHECKS" and "## 1. Prechecks" all name the same phase.
 */
const synonyms: Record<PhaseName, readonly string[]> = {
  prechecks: [
    "prechecks",
    "precheck",
    "preflight",
    "preflightchecks",
    "preconditions",
    "checksbefore",
    "beforeyoubegin",
  ],
  main: [
    "main",
    "mainsteps",
    "steps",
    "step",
    "remediation",
    "remediationsteps",
    "procedure",
    "actions",
    "resolution",
    "fix",
  ],
  postchecks: [
    "postchecks",
    "postcheck",
    "postflight",
    "postflightchecks",
    "verification",
    "verify",
    "validation",
    "checksafter",
  ],
  rollback: ["rollback", "rollbacksteps", "rollingback", "revert", "undo", "backout"],
};

const byKey = new Map<string, PhaseName>();
for (const [phase, keys] of Object.entries(synonyms) as [PhaseName, readonly string[]][]) {
  for (const key of keys) byKey.set(key, phase);
}
const allKeys = [...byKey.keys()];

/** The canonical heading the formatter writes for each phase. */
export const phaseHeadings: Record<PhaseName, string> = {
  prechecks: "Prechecks",
  main: "Main Steps",
  postchecks: "Postchecks",
  rollback: "Rollback",
};

function normalize(heading: string): string {
  return heading.toLowerCase().replace(/[^a-z]/g, "");
}

/** The phase a section heading names, or undefined when it names none (the section is a note). */
export function classifyHeading(heading: string): PhaseName | undefined {
  const key = normalize(heading);
  const phase = byKey.get(key);
  if (phase !== undefined) return phase;
  // "Verification steps", "Rollback plan", "Pre-flight checks": a phase word plus a generic noun.
  const stem = key.replace(/(steps?|checks?|plan|procedure)$/, "");
  return stem.length > 0 && stem !== key ? byKey.get(stem) : undefined;
}

/**
 * For a heading that names no phase: the phase it most likely misspells, when it is close enough
 * to one to be a typo ("Precheks", "Rollbak"), else undefined.
 */
export function nearestPhase(heading: string): { phase: PhaseName; heading: string } | undefined {
  const full = normalize(heading);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  let allowed = 0;
  for (const key of new Set([full, full.replace(/(steps?|checks?|plan|procedure)$/, "")])) {
    if (key.length < 4) continue;
    for (const candidate of allKeys) {
      if (Math.abs(candidate.length - key.length) > 2) continue;
      const d = distance(key, candidate);
      if (d < bestDistance) {
        bestDistance = d;
        best = candidate;
        allowed = key.length >= 8 ? 2 : 1;
      }
    }
  }
  if (best === undefined || bestDistance === 0 || bestDistance > allowed) return undefined;
  const phase = byKey.get(best)!;
  return { phase, heading: phaseHeadings[phase] };
}
