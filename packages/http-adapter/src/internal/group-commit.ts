/**
 * Group commit for `POST /tickets/webhook/generic`: the tickets of every webhook request that
 * arrives while the store is busy are stored together, in one `tickets.ingestMany` transaction,
 * and each request is answered once that transaction has committed. One fsync then serves many
 * requests, instead of one per request, and every 2xx still means "durable".
 *
 * Only bodies that are certainly valid join a batch (one invalid ticket would refuse the whole
 * `ingestMany` call): anything else — invalid fields, metaData nested too deep, resolved
 * alerts — goes through `tickets.ingestWebhook` on its own, which answers with the exact error
 * or resolution. Should a batch still fail, each of its requests is stored again on its own, so
 * one request's failure is never another's.
 */
import {
  type Engine,
  GenericWebhookTicket,
  type IngestResult,
  normalizeSeverity,
  TicketInput,
} from "@runwarden/core";

/** What the generic source would store for this body, or undefined when it must go the slow way. */
export interface PreparedWebhook {
  inputs: unknown[];
  warnings: string[];
}

const maxItems = 1_000;
/** The generic ticket's fields: any other key of a body is ignored, with a warning. */
const knownFields: ReadonlySet<string> = new Set(Object.keys(GenericWebhookTicket.shape));

/**
 * Maps a generic webhook body to ticket inputs exactly as `tickets.ingestWebhook("generic")`
 * does, or returns undefined when the body is not plainly valid (the caller then lets core
 * answer it).
 */
export function prepareGeneric(body: unknown, source: string): PreparedWebhook | undefined {
  if (body === null || typeof body !== "object") return undefined;
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0 || items.length > maxItems) return undefined;
  const inputs: unknown[] = [];
  const warnings: string[] = [];
  for (const [i, item] of items.entries()) {
    const prefix = Array.isArray(body) ? `[${i}].` : "";
    const parsed = GenericWebhookTicket.safeParse(item);
    if (!parsed.success || parsed.data.resolved) return undefined;
    const t = parsed.data;
    const ignored = Object.keys(item as object).filter((k) => !knownFields.has(k));
    if (ignored.length > 0)
      warnings.push(`${prefix}ignored unknown field(s): ${ignored.slice(0, 10).join(", ")}`);
    let severity: string | undefined;
    if (t.severity !== undefined && t.severity !== "") {
      severity = normalizeSeverity(t.severity);
      if (!severity) {
        warnings.push(`${prefix}severity: unknown severity "${t.severity.slice(0, 40)}" mapped to medium`);
        severity = "medium";
      }
    }
    const candidate = {
      title: t.title,
      description: t.description,
      severity,
      environment: t.environment,
      service: t.service,
      source: t.source ?? source,
      externalId: t.external_id === undefined ? undefined : String(t.external_id),
      fingerprint: t.fingerprint,
      metaData: t.meta_data,
      receivedAt: t.received_at,
    };
    const valid = TicketInput.safeParse(candidate);
    if (!valid.success) return undefined;
    inputs.push(valid.data);
  }
  return { inputs, warnings };
}

interface Pending {
  inputs: unknown[];
  /** Who sent them (each ticket's submittedBy). */
  submittedBy: string;
  resolve(results: IngestResult[]): void;
  reject(err: unknown): void;
}

export interface GroupCommit {
  /** Stores the inputs with whatever else is waiting; resolves once they are committed. */
  submit(inputs: unknown[], submittedBy: string): Promise<IngestResult[]>;
}

/**
 * Batches `ingestMany` calls: requests queue while a transaction is in flight, and the next
 * transaction takes all of them (up to `maxBatch` tickets).
 */
export function createGroupCommit(engine: Engine, options: { maxBatch?: number } = {}): GroupCommit {
  const maxBatch = options.maxBatch ?? 500;
  const queue: Pending[] = [];
  let flushing = false;

  async function alone(p: Pending): Promise<void> {
    try {
      p.resolve(await engine.tickets.ingestMany(p.inputs, { autoExecute: true }));
    } catch (err) {
      p.reject(err);
    }
  }

  async function flush(): Promise<void> {
    flushing = true;
    while (queue.length > 0) {
      const batch: Pending[] = [];
      let size = 0;
      while (queue.length > 0 && (batch.length === 0 || size + queue[0]!.inputs.length <= maxBatch)) {
        const next = queue.shift()!;
        size += next.inputs.length;
        batch.push(next);
      }
      try {
        const results = await engine.tickets.ingestMany(
          batch.flatMap((p) => p.inputs),
          { autoExecute: true, submittedBy: batch.flatMap((p) => p.inputs.map(() => p.submittedBy)) },
        );
        let offset = 0;
        for (const p of batch) {
          p.resolve(results.slice(offset, offset + p.inputs.length));
          offset += p.inputs.length;
        }
      } catch (err) {
        // One transaction: nothing of this batch was stored. One member's failure must not be
        // the others': each is stored again on its own, and only the one that fails is refused.
        if (batch.length === 1) batch[0]!.reject(err);
        else await Promise.all(batch.map((p) => alone(p)));
      }
    }
    flushing = false;
  }

  return {
    submit(inputs, submittedBy) {
      return new Promise((resolve, reject) => {
        queue.push({ inputs, submittedBy, resolve, reject });
        // Wait for the rest of this turn of the event loop to arrive, then commit together.
        if (!flushing) {
          flushing = true;
          setImmediate(() => void flush());
        }
      });
    },
  };
}
