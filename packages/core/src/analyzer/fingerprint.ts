/**
 * fingerprint: the key repeats are folded on. The source's own fingerprint (Alertmanager's, a
 * Datadog aggregation key) wins; otherwise sha256 over source, normalized title, service and
 * environment.
 */
import { hash } from "node:crypto";
import type { AnalysisSubject, AnalyzerStage } from "./stage.js";

/** sha256 (hex) of the fields that make two tickets "the same problem". */
export function computeFingerprint(fields: {
  source: string;
  title: string;
  service: string;
  environment: string;
}): string {
  const title = fields.title.replace(/\s+/g, " ").trim().toLowerCase();
  // One-shot hash (Node >= 20.12): the same digest as createHash().update().digest(), no hasher object.
  return hash(
    "sha256",
    `${fields.source}\u0000${title}\u0000${fields.service}\u0000${fields.environment}`,
    "hex",
  );
}

/** The ticket's fingerprint: the source's own (namespaced by source, so tools never collide), or computed. */
export function ticketFingerprint(subject: AnalysisSubject): string {
  return subject.sourceFingerprint
    ? `${subject.source}:${subject.sourceFingerprint}`
    : computeFingerprint(subject);
}

export const fingerprintStage: AnalyzerStage = {
  name: "fingerprint",
  run(state, { note }) {
    // Already known when the caller identified the ticket first (intake does): hashed once.
    if (!state.fingerprint) state.fingerprint = ticketFingerprint(state.ticket);
    note(
      state.ticket.sourceFingerprint
        ? "fingerprint given by the source"
        : "sha256 of source, title, service and environment",
    );
  },
};
