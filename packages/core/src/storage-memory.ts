/**
 * The in-memory store: the default when no store is given, and the reference the SQL stores are
 * tested against. Everything is lost on exit. Documents are deep-copied in and out, so a caller
 * can never change a stored object by holding on to it.
 */
import type { Logger } from "pino";
import type { ExecutionSession, StepRecord, Ticket } from "./domain.js";
import { rwError } from "./errors.js";
import type {
  BatchResult,
  ClaimOptions,
  Collection,
  CollectionName,
  IngestOptions,
  IngestOutcome,
  IntakeEntry,
  NewDoc,
  Query,
  Storage,
  StoredTypes,
  Where,
} from "./storage.js";
import { indexedFields, leaseKey, uniqueKeys } from "./storage.js";
import {
  type Condition,
  checkQuery,
  checkWhere,
  createLocalSignals,
  decodeLease,
  documentNotFound,
  encodeLease,
  intakeGone,
  intakeOverflow,
  liveSessionKey,
  planIngest,
  utf8Bytes,
} from "./storage-kit.js";

/** Options of {@link createMemoryStorage}. */
export interface MemoryStorageOptions {
  /** Receives warnings (a failing signal listener); default silent. */
  logger?: Logger;
}

type Doc = Record<string, unknown> & { id: number; version: number };

const collectionNames = Object.keys(indexedFields) as CollectionName[];

/** Creates an empty in-memory store. Not shared: one engine instance per store. */
export function createMemoryStorage(options: MemoryStorageOptions = {}): Storage {
  const logger = options.logger?.child({ component: "storage-memory" });
  const signals = createLocalSignals(logger);
  const values = new Map<string, string>();
  let closed = false;

  const assertOpen = () => {
    if (closed) throw rwError("RW_ERR_STORAGE_UNAVAILABLE", "The memory store is closed");
  };
  const tables = Object.fromEntries(
    collectionNames.map((name) => [name, new Table(name, assertOpen)]),
  ) as unknown as { [C in CollectionName]: Table<C> };
  const sessions = tables.sessions;
  /** The intake queue, in id order (a Map keeps insertion order). */
  const intake = new Map<number, IntakeEntry>();
  let intakeId = 0;
  const intakeDepthOf = (source: string) => {
    const depth = { entries: 0, bytes: 0, sourceEntries: 0, sourceBytes: 0 };
    for (const entry of intake.values()) {
      depth.entries++;
      depth.bytes += entry.bytes;
      if (entry.source === source) {
        depth.sourceEntries++;
        depth.sourceBytes += entry.bytes;
      }
    }
    return depth;
  };

  const storage: Storage = {
    kind: "memory",
    shared: false,
    tickets: tables.tickets.api(),
    runbooks: tables.runbooks.api(),
    sessions: sessions.api(),
    steps: tables.steps.api(),
    approvals: tables.approvals.api(),
    credentials: tables.credentials.api(),
    connections: tables.connections.api(),
    audit: tables.audit.api({ appendOnly: true }),
    outbox: tables.outbox.api(),
    tokens: tables.tokens.api(),
    webhookSources: tables.webhookSources.api(),
    connectorConfigs: tables.connectorConfigs.api(),

    async ingestTickets(inputs: readonly NewDoc<Ticket>[], ingest: IngestOptions): Promise<IngestOutcome[]> {
      assertOpen();
      const consumed = ingest.consumeIntake ?? [];
      if (consumed.some((id) => !intake.has(id))) throw intakeGone();
      const tickets = tables.tickets;
      const plan = planIngest(inputs, ingest, (fingerprint) =>
        tickets.lookup([{ field: "fingerprint", eq: fingerprint }]).map((doc) => doc as unknown as Ticket),
      );
      const inserted = tickets.insertAll(plan.inserts as unknown as Record<string, unknown>[]);
      const updated = plan.updates.map((ticket) => {
        const { id, version, ...changes } = ticket;
        return tickets.write(id, version, changes);
      });
      for (const id of consumed) intake.delete(id);
      return plan.outcomes.map(({ target, deduplicated }) => ({
        ticket: copy(
          "insert" in target ? inserted[target.insert]! : updated[target.update]!,
        ) as unknown as Ticket,
        deduplicated,
      }));
    },

    async createSession(session, steps) {
      assertOpen();
      const [stored] = sessions.insertAll([session as unknown as Record<string, unknown>]);
      const sessionId = stored!.id;
      try {
        const storedSteps = tables.steps.insertAll(
          steps.map((step) => ({ ...(step as unknown as Record<string, unknown>), sessionId })),
        );
        return {
          session: copy(stored!) as unknown as ExecutionSession,
          steps: storedSteps.map((step) => copy(step) as unknown as StepRecord),
        };
      } catch (err) {
        sessions.remove(sessionId);
        throw err;
      }
    },

    async batch(writes) {
      assertOpen();
      // Applied in order; on the first failure every earlier write is undone, newest first.
      const undo: (() => void)[] = [];
      try {
        return writes.map((write) => {
          const table = tables[write.collection] as Table<CollectionName>;
          if ("insert" in write) {
            const [doc] = table.insertAll([write.insert as unknown as Record<string, unknown>]);
            undo.push(() => table.remove(doc!.id));
            return copy(doc!) as unknown as BatchResult;
          }
          if (write.collection === "audit") throw appendOnlyError("audit");
          const { id, expectedVersion, changes } = write.update;
          const before = table.docs.get(id);
          const doc = table.write(id, expectedVersion, changes as Record<string, unknown>);
          undo.push(() => table.restore(before!));
          return copy(doc) as unknown as BatchResult;
        });
      } catch (err) {
        for (const step of undo.reverse()) step();
        throw err;
      }
    },

    async claimSessions(claim: ClaimOptions) {
      assertOpen();
      const now = parseTime(claim.now);
      const expiresAt = new Date(now + claim.ttlMs).toISOString();
      const claimed: ExecutionSession[] = [];
      if (claim.limit <= 0) return claimed;
      for (const doc of sessions.lookup([{ field: "status", in: claim.statuses }])) {
        const lease = doc.lease as ExecutionSession["lease"];
        if (lease && Date.parse(lease.expiresAt) > now) continue;
        doc.lease = { owner: claim.owner, expiresAt };
        claimed.push(copy(doc) as unknown as ExecutionSession);
        if (claimed.length >= claim.limit) break;
      }
      return claimed;
    },

    async renewLease(sessionId, owner, ttlMs, now) {
      assertOpen();
      const at = parseTime(now);
      const doc = sessions.docs.get(sessionId);
      const lease = doc?.lease as ExecutionSession["lease"] | undefined;
      if (!doc || !lease || lease.owner !== owner || Date.parse(lease.expiresAt) <= at) return false;
      doc.lease = { owner, expiresAt: new Date(at + ttlMs).toISOString() };
      return true;
    },

    async releaseLease(sessionId, owner) {
      assertOpen();
      const doc = sessions.docs.get(sessionId);
      if (doc && (doc.lease as ExecutionSession["lease"])?.owner === owner) doc.lease = null;
    },

    async enqueueIntake(entry, bounds) {
      assertOpen();
      const bytes = utf8Bytes(entry.payload);
      const depth = intakeDepthOf(entry.source);
      const full = intakeOverflow(depth, bytes, bounds);
      if (full) return { accepted: false, full, depth };
      const stored: IntakeEntry = { ...entry, id: ++intakeId, bytes };
      intake.set(stored.id, stored);
      return {
        accepted: true,
        entry: { ...stored },
        depth: {
          entries: depth.entries + 1,
          bytes: depth.bytes + bytes,
          sourceEntries: depth.sourceEntries + 1,
          sourceBytes: depth.sourceBytes + bytes,
        },
      };
    },

    async pendingIntake({ afterId = 0, limit, kind }) {
      assertOpen();
      const found: IntakeEntry[] = [];
      for (const entry of intake.values()) {
        if (found.length >= limit) break;
        if (entry.id > afterId && (kind === undefined || entry.kind === kind)) found.push({ ...entry });
      }
      return found;
    },

    async completeIntake(ids) {
      assertOpen();
      for (const id of ids) intake.delete(id);
    },

    async intakeDepth() {
      assertOpen();
      const sources: Record<string, { entries: number; bytes: number }> = {};
      let entries = 0;
      let bytes = 0;
      for (const entry of intake.values()) {
        entries++;
        bytes += entry.bytes;
        const at = sources[entry.source] ?? { entries: 0, bytes: 0 };
        at.entries++;
        at.bytes += entry.bytes;
        sources[entry.source] = at;
      }
      return { entries, bytes, sources };
    },

    async getValue(key) {
      assertOpen();
      return values.get(key);
    },

    async setValue(key, value) {
      assertOpen();
      values.set(key, String(value));
    },

    leases: {
      async acquire(name, owner, ttlMs, now) {
        assertOpen();
        const at = parseTime(now);
        const held = decodeLease(values.get(leaseKey(name)));
        if (held && held.owner !== owner && Date.parse(held.expiresAt) > at) return false;
        values.set(leaseKey(name), encodeLease(owner, at + ttlMs));
        return true;
      },
      async release(name, owner) {
        assertOpen();
        if (decodeLease(values.get(leaseKey(name)))?.owner === owner) values.delete(leaseKey(name));
      },
      async get(name) {
        assertOpen();
        return decodeLease(values.get(leaseKey(name)));
      },
    },

    signals: {
      publish: async (topic, payload) => {
        assertOpen();
        await signals.publish(topic, payload);
      },
      subscribe: (topic, listener) => {
        assertOpen();
        return signals.subscribe(topic, listener);
      },
    },

    async close() {
      closed = true;
      signals.close();
    },
  };
  return storage;
}

/** One collection: documents by id (insertion order is id order), hash indexes, unique keys. */
class Table<C extends CollectionName> {
  readonly docs = new Map<number, Doc>();
  private nextId = 1;
  private readonly indexes = new Map<string, Map<unknown, Set<number>>>();
  private readonly uniques: { key: (doc: Doc) => string | undefined; owners: Map<string, number> }[] = [];

  constructor(
    private readonly name: C,
    private readonly assertOpen: () => void,
  ) {
    for (const field of indexedFields[name]) this.indexes.set(field, new Map());
    const keys: readonly (readonly string[])[] =
      (uniqueKeys as Partial<Record<CollectionName, readonly (readonly string[])[]>>)[name] ?? [];
    for (const fields of keys) {
      this.uniques.push({ key: (doc) => JSON.stringify(fields.map((f) => doc[f])), owners: new Map() });
    }
    if (name === "sessions") {
      this.uniques.push({
        key: (doc) => liveSessionKey(doc as unknown as ExecutionSession),
        owners: new Map(),
      });
    }
  }

  api(options: { appendOnly?: boolean } = {}): Collection<C> {
    type T = StoredTypes[C];
    const appendOnly = () => appendOnlyError(this.name);
    return {
      insert: async (doc) => {
        this.assertOpen();
        return copy(this.insertAll([doc as unknown as Record<string, unknown>])[0]!) as unknown as T;
      },
      insertMany: async (docs) => {
        this.assertOpen();
        return this.insertAll(docs as unknown as Record<string, unknown>[]).map(
          (d) => copy(d) as unknown as T,
        );
      },
      get: async (id) => {
        this.assertOpen();
        const doc = this.docs.get(id);
        return doc && (copy(doc) as unknown as T);
      },
      update: async (id, expectedVersion, changes) => {
        this.assertOpen();
        if (options.appendOnly) throw appendOnly();
        return copy(this.write(id, expectedVersion, changes as Record<string, unknown>)) as unknown as T;
      },
      delete: async (id, expectedVersion) => {
        this.assertOpen();
        if (options.appendOnly) throw appendOnly();
        const doc = this.docs.get(id);
        if (!doc) return false;
        if (expectedVersion !== undefined && doc.version !== expectedVersion) {
          throw this.conflict(id, "version", { expectedVersion, actualVersion: doc.version });
        }
        this.remove(id);
        return true;
      },
      find: async (query: Query<C> = {}) => {
        this.assertOpen();
        const conditions = checkQuery(this.name, query);
        let docs = this.lookup(conditions);
        if (query.order === "desc") docs.reverse();
        const cursor = query.cursor;
        if (cursor !== undefined) {
          docs = docs.filter((doc) => (query.order === "desc" ? doc.id < cursor : doc.id > cursor));
        }
        if (query.limit !== undefined) docs = docs.slice(0, query.limit);
        return docs.map((doc) => copy(doc) as unknown as T);
      },
      count: async (where?: Where<C>) => {
        this.assertOpen();
        return this.lookup(checkWhere(this.name, where)).length;
      },
    };
  }

  /** Stored documents matching every condition, ascending id (the stored objects: copy before returning). */
  lookup(conditions: readonly Condition[]): Doc[] {
    let candidates: Iterable<number> | undefined;
    let smallest = Number.POSITIVE_INFINITY;
    for (const condition of conditions) {
      const index = condition.field === "id" ? undefined : this.indexes.get(condition.field);
      const ids = index ? indexed(index, condition) : idsOf(condition);
      const size = Array.isArray(ids) ? ids.length : (ids as Set<number>).size;
      if (size < smallest) {
        smallest = size;
        candidates = ids;
      }
    }
    const docs: Doc[] = [];
    if (candidates === undefined) {
      for (const doc of this.docs.values()) docs.push(doc);
      return docs;
    }
    for (const id of candidates) {
      const doc = this.docs.get(id);
      if (doc && conditions.every((condition) => matches(doc, condition))) docs.push(doc);
    }
    return docs.sort((a, b) => a.id - b.id);
  }

  /** Inserts all or none; returns the stored objects. */
  insertAll(inputs: readonly Record<string, unknown>[]): Doc[] {
    const stored: Doc[] = [];
    try {
      for (const input of inputs) {
        const { id: _id, version: _version, ...fields } = copy(input);
        const doc: Doc = { id: this.nextId, version: 1, ...fields };
        this.claimUniques(doc);
        this.nextId += 1;
        this.docs.set(doc.id, doc);
        this.index(doc);
        stored.push(doc);
      }
    } catch (err) {
      for (const doc of stored) this.remove(doc.id);
      throw err;
    }
    return stored;
  }

  /** Applies changes with a version check; returns the stored object. */
  write(id: number, expectedVersion: number, changes: Record<string, unknown>): Doc {
    const current = this.docs.get(id);
    if (!current) {
      throw documentNotFound(this.name, id);
    }
    if (current.version !== expectedVersion) {
      throw this.conflict(id, "version", { expectedVersion, actualVersion: current.version });
    }
    const { id: _id, version: _version, lease: _lease, ...fields } = copy(changes);
    const next: Doc = { ...current, ...fields, id, version: current.version + 1 };
    if ("lease" in current) next.lease = current.lease;
    this.releaseUniques(current);
    try {
      this.claimUniques(next);
    } catch (err) {
      this.claimUniques(current);
      throw err;
    }
    this.unindex(current);
    this.docs.set(id, next);
    this.index(next);
    return next;
  }

  /** Puts back a document as it was before a write (undoing a batch). */
  restore(previous: Doc): void {
    const current = this.docs.get(previous.id);
    if (current) {
      this.releaseUniques(current);
      this.unindex(current);
    }
    this.docs.set(previous.id, previous);
    this.index(previous);
    this.claimUniques(previous);
  }

  remove(id: number): void {
    const doc = this.docs.get(id);
    if (!doc) return;
    this.releaseUniques(doc);
    this.unindex(doc);
    this.docs.delete(id);
  }

  private claimUniques(doc: Doc): void {
    const keys = this.uniques.map((unique) => unique.key(doc));
    this.uniques.forEach((unique, i) => {
      const key = keys[i];
      if (key !== undefined && unique.owners.has(key) && unique.owners.get(key) !== doc.id) {
        throw this.conflict(doc.id, "unique", { constraint: i });
      }
    });
    this.uniques.forEach((unique, i) => {
      const key = keys[i];
      if (key !== undefined) unique.owners.set(key, doc.id);
    });
  }

  private releaseUniques(doc: Doc): void {
    for (const unique of this.uniques) {
      const key = unique.key(doc);
      if (key !== undefined && unique.owners.get(key) === doc.id) unique.owners.delete(key);
    }
  }

  private index(doc: Doc): void {
    for (const [field, index] of this.indexes) {
      const value = doc[field];
      let ids = index.get(value);
      if (!ids) {
        ids = new Set();
        index.set(value, ids);
      }
      ids.add(doc.id);
    }
  }

  private unindex(doc: Doc): void {
    for (const [field, index] of this.indexes) {
      const ids = index.get(doc[field]);
      ids?.delete(doc.id);
      if (ids?.size === 0) index.delete(doc[field]);
    }
  }

  private conflict(id: number, reason: "version" | "unique", details: Record<string, unknown>) {
    const message =
      reason === "version"
        ? `The ${this.name} document changed since it was read`
        : `A unique key of ${this.name} is already taken`;
    return rwError("RW_ERR_STORAGE_CONFLICT", message, {
      details: { entity: this.name, id, reason, ...details },
    });
  }
}

function appendOnlyError(name: CollectionName) {
  return rwError("RW_ERR_STORAGE_APPEND_ONLY", `The ${name} collection is append-only`, {
    details: { entity: name },
  });
}

function indexed(index: Map<unknown, Set<number>>, condition: Condition): Set<number> | number[] {
  if ("eq" in condition) return index.get(condition.eq) ?? [];
  const ids: number[] = [];
  for (const value of new Set(condition.in)) for (const id of index.get(value) ?? []) ids.push(id);
  return ids;
}

function idsOf(condition: Condition): number[] {
  const values = "eq" in condition ? [condition.eq] : [...new Set(condition.in)];
  return values.filter((value): value is number => typeof value === "number");
}

function matches(doc: Doc, condition: Condition): boolean {
  const value = doc[condition.field];
  return "eq" in condition ? value === condition.eq : condition.in.includes(value);
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

function parseTime(iso: string): number {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) {
    throw rwError("RW_ERR_INPUT_INVALID", "Expected an ISO timestamp", {
      details: { fields: [{ field: "now", message: "must be an ISO timestamp" }] },
    });
  }
  return at;
}
