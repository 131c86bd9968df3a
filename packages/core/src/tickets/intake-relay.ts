/**
 * The intake queue's relay between engine instances sharing a store: the instance holding the
 * queue's lease stores a delivery another instance received and answers `processed`; this sends
 * that entry's outcome back to the receiver over the store's signals (best effort: a receiver
 * also finds its entry gone from the queue), packed under the signal size cap, an oversized
 * outcome split into parts and put together again on arrival.
 */
import type { Logger } from "pino";
import type { Storage } from "../storage.js";

/** Outcomes of entries stored by one instance for submitters waiting on another. */
export const storedTopic = "runwarden.intake.stored";
/** A signal payload stays under this many bytes (the store's cap is 7,900). */
const signalBudget = 6_000;
/** Characters of an oversized outcome per signal when it is split (UTF-8 and escapes stay under the cap). */
const partChars = 1_000;

/**
 * One entry's outcome as sent to the instance waiting for it: ticket ids (negative when folded
 * into an open ticket), resolved ticket ids and warnings; or the parsing error's code and message.
 */
export type RemoteOutcome =
  | { id: number; t: number[]; r: number[]; w: string[] }
  | { id: number; c: string | null; m: string; d?: Record<string, unknown> };
/** A `storedTopic` signal: whole outcomes, or one part of an oversized one. */
type StoredSignal =
  | { to: string; e: RemoteOutcome[] }
  | { to: string; id: number; p: number; n: number; d: string };

/** Sends outcomes to other instances and reads the ones sent here. */
export interface OutcomeRelay {
  /** Sends outcomes to the instances waiting for them (best effort: they also poll the queue). */
  send(remote: readonly { receiver: string; outcome: RemoteOutcome }[]): Promise<void>;
  /** Reads one signal: each whole outcome addressed here, or an oversized one once all its parts are in, is delivered. */
  receive(payload: string): void;
  /** Drops the parts gathered for an entry settled meanwhile. */
  forget(entryId: number): void;
}

/** Creates the relay of one instance (`instanceId`); `deliver` settles the submitter waiting for an outcome. */
export function createOutcomeRelay(deps: {
  storage: Pick<Storage, "signals">;
  instanceId: string;
  log: Logger;
  /** True while a submitter on this instance waits for the entry (parts of others are not kept). */
  isWaiting(entryId: number): boolean;
  deliver(outcome: RemoteOutcome): void;
}): OutcomeRelay {
  const { storage, instanceId, log, isWaiting, deliver } = deps;
  /** Parts of oversized outcomes sent from another instance, by entry id. */
  const parts = new Map<number, string[]>();

  return {
    async send(remote) {
      if (remote.length === 0) return;
      const byReceiver = new Map<string, RemoteOutcome[]>();
      for (const { receiver, outcome } of remote)
        byReceiver.set(receiver, [...(byReceiver.get(receiver) ?? []), outcome]);
      const payloads: string[] = [];
      for (const [to, outcomes] of byReceiver) payloads.push(...packOutcomes(to, outcomes));
      for (const payload of payloads) {
        try {
          await storage.signals.publish(storedTopic, payload);
        } catch (err) {
          log.warn({ err }, "intake outcome not sent; the waiting instance finds its entry gone");
        }
      }
    },
    receive(payload) {
      let message: StoredSignal;
      try {
        message = JSON.parse(payload) as StoredSignal;
      } catch {
        return;
      }
      if (message.to !== instanceId) return;
      if ("e" in message) {
        for (const outcome of message.e) deliver(outcome);
        return;
      }
      if (!isWaiting(message.id)) return;
      const got = parts.get(message.id) ?? new Array<string>(message.n);
      got[message.p] = message.d;
      parts.set(message.id, got);
      if (got.filter((part) => part !== undefined).length < message.n) return;
      parts.delete(message.id);
      let outcome: RemoteOutcome;
      try {
        outcome = JSON.parse(got.join("")) as RemoteOutcome;
      } catch {
        // A garbled outcome: the entry is found gone from the queue instead.
        return;
      }
      deliver(outcome);
    },
    forget(entryId) {
      parts.delete(entryId);
    },
  };
}

/**
 * Outcomes for the instance `to` as signal payloads under the store's cap: whole outcomes packed
 * together, and an oversized one (a delivery of hundreds of tickets) split into parts.
 */
function packOutcomes(to: string, outcomes: readonly RemoteOutcome[]): string[] {
  const payloads: string[] = [];
  let batch: string[] = [];
  let bytes = 0;
  const envelope = Buffer.byteLength(JSON.stringify({ to, e: [] }));
  const flush = () => {
    if (batch.length > 0) payloads.push(`{"to":${JSON.stringify(to)},"e":[${batch.join(",")}]}`);
    batch = [];
    bytes = 0;
  };
  for (const outcome of outcomes) {
    const text = JSON.stringify(outcome);
    const size = Buffer.byteLength(text) + 1;
    if (envelope + size <= signalBudget) {
      if (envelope + bytes + size > signalBudget) flush();
      batch.push(text);
      bytes += size;
      continue;
    }
    const n = Math.ceil(text.length / partChars);
    for (let p = 0; p < n; p++) {
      const part: StoredSignal = {
        to,
        id: outcome.id,
        p,
        n,
        d: text.slice(p * partChars, (p + 1) * partChars),
      };
      payloads.push(JSON.stringify(part));
    }
  }
  flush();
  return payloads;
}
