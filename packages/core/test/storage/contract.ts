/**
 * The storage contract: one vitest suite every `Storage` implementation runs (memory, SQLite,
 * PostgreSQL), so they behave the same. Call `describeStorageContract` from a store's test file.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ExecutionSession, Ticket } from "../../src/domain.js";
import { isRunwardenError } from "../../src/errors.js";
import type { NewDoc, Storage } from "../../src/storage.js";
import {
  at,
  newApproval,
  newAudit,
  newConnection,
  newConnectorConfig,
  newCredential,
  newOutbox,
  newRunbook,
  newSession,
  newStep,
  newTicket,
  newToken,
  newWebhookSource,
  T0,
} from "./fixtures.js";

export interface OpenedStorage {
  storage: Storage;
  /** Opens the same data again after `storage` was closed (durable stores). */
  reopen?: () => Promise<Storage>;
  /** Opens a second, concurrent instance on the same data (shared stores, or a second file handle). */
  peer?: () => Promise<Storage>;
  cleanup?: () => Promise<void>;
}

export interface ContractOptions {
  /** False for stores that keep nothing after close (memory); then `reopen` is not expected. */
  durable?: boolean;
}

/** Registers the contract suite for one store. `open` gives a fresh, empty store per test. */
export function describeStorageContract(
  name: string,
  open: () => Promise<OpenedStorage>,
  options: ContractOptions = {},
): void {
  const durable = options.durable ?? true;

  describe(`Storage contract: ${name}`, () => {
    let opened: OpenedStorage;
    let storage: Storage;
    const extra: Storage[] = [];

    beforeEach(async () => {
      opened = await open();
      storage = opened.storage;
    });

    afterEach(async () => {
      for (const store of [storage, ...extra.splice(0)]) await store.close();
      await opened.cleanup?.();
    });

    async function peer(): Promise<Storage | undefined> {
      const other = await opened.peer?.();
      if (other) extra.push(other);
      return other;
    }

    describe("collections", () => {
      it("assigns increasing ids and version 1 when inserting", async () => {
        const a = await storage.tickets.insert(newTicket());
        const b = await storage.tickets.insert(newTicket({ title: "second" }));
        expect(a.version).toBe(1);
        expect(b.id).toBeGreaterThan(a.id);
        expect(await storage.tickets.get(a.id)).toEqual({ id: a.id, version: 1, ...newTicket() });
      });

      it("stores every field of every collection when round-tripping", async () => {
        const docs = {
          tickets: newTicket({ externalId: "INC-1", metaData: { nested: { deep: [1, "two", null, true] } } }),
          runbooks: newRunbook(),
          sessions: newSession({ lease: { owner: "a", expiresAt: at(1000) } }),
          steps: { ...newStep(0), sessionId: 7 },
          approvals: newApproval({ decisions: [{ actor: "bob", decision: "approve", comment: "", at: T0 }] }),
          credentials: newCredential(),
          connections: newConnection(),
          audit: newAudit(),
          outbox: newOutbox(),
          tokens: newToken(),
          webhookSources: newWebhookSource(),
          connectorConfigs: newConnectorConfig(),
        } as const;
        for (const [collection, doc] of Object.entries(docs)) {
          const target = storage[collection as keyof typeof docs] as unknown as {
            insert(d: unknown): Promise<{ id: number }>;
            get(id: number): Promise<unknown>;
          };
          const stored = await target.insert(doc);
          expect(await target.get(stored.id), collection).toEqual({ id: stored.id, version: 1, ...doc });
        }
      });

      it("returns undefined when getting an id that does not exist", async () => {
        expect(await storage.tickets.get(424242)).toBeUndefined();
      });

      it("never aliases stored documents when callers mutate inputs or results", async () => {
        const input = newTicket();
        const stored = await storage.tickets.insert(input);
        input.metaData.region = "changed";
        stored.metaData.region = "changed too";
        (stored.metaData.tags as string[]).push("x");
        const found = await storage.tickets.find();
        found[0]!.title = "mutated";
        const again = await storage.tickets.get(stored.id);
        expect(again?.metaData).toEqual({ region: "eu-west-1", tags: ["disk", "web"] });
        expect(again?.title).toBe(newTicket().title);
      });

      it("ignores id and version given in a new document", async () => {
        const sneaky = { ...newTicket(), id: 999, version: 42 } as NewDoc<Ticket>;
        const stored = await storage.tickets.insert(sneaky);
        expect(stored.version).toBe(1);
        expect(stored.id).not.toBe(999);
      });

      it("filters by equality, null, id and { in } when finding", async () => {
        const a = await storage.tickets.insert(newTicket({ status: "new", severity: "high" }));
        const b = await storage.tickets.insert(newTicket({ status: "analyzed", externalId: "X-1" }));
        const c = await storage.tickets.insert(newTicket({ status: "closed", severity: "low" }));
        const ids = (docs: { id: number }[]) => docs.map((d) => d.id);
        expect(ids(await storage.tickets.find({ where: { status: "analyzed" } }))).toEqual([b.id]);
        expect(ids(await storage.tickets.find({ where: { status: { in: ["new", "closed"] } } }))).toEqual([
          a.id,
          c.id,
        ]);
        expect(ids(await storage.tickets.find({ where: { status: { in: [] } } }))).toEqual([]);
        expect(ids(await storage.tickets.find({ where: { externalId: null } }))).toEqual([a.id, c.id]);
        expect(ids(await storage.tickets.find({ where: { id: b.id } }))).toEqual([b.id]);
        expect(ids(await storage.tickets.find({ where: { id: { in: [c.id, a.id, 9999] } } }))).toEqual([
          a.id,
          c.id,
        ]);
        expect(ids(await storage.tickets.find({ where: { status: "new", severity: "low" } }))).toEqual([]);
        expect(
          ids(await storage.tickets.find({ where: { severity: "low", status: { in: ["closed"] } } })),
        ).toEqual([c.id]);
        expect(await storage.tickets.count({ status: { in: ["new", "analyzed"] } })).toBe(2);
        expect(await storage.tickets.count()).toBe(3);
        expect(await storage.runbooks.count({ revision: 1 })).toBe(0);
      });

      it("orders, limits and pages with a cursor when finding", async () => {
        const stored = await storage.tickets.insertMany(
          Array.from({ length: 25 }, (_, i) => newTicket({ title: `t${i}` })),
        );
        const ids = stored.map((t) => t.id);
        expect((await storage.tickets.find({ order: "desc", limit: 3 })).map((t) => t.id)).toEqual(
          ids.slice(-3).reverse(),
        );
        expect(await storage.tickets.find({ limit: 0 })).toEqual([]);
        for (const order of ["asc", "desc"] as const) {
          const seen: number[] = [];
          let cursor: number | undefined;
          for (;;) {
            const page = await storage.tickets.find({ order, cursor, limit: 10 });
            if (page.length === 0) break;
            seen.push(...page.map((t) => t.id));
            cursor = page.at(-1)!.id;
          }
          expect(seen).toEqual(order === "asc" ? ids : [...ids].reverse());
        }
        const afterFifth = await storage.tickets.find({ cursor: ids[4], where: { status: "new" }, limit: 2 });
        expect(afterFifth.map((t) => t.id)).toEqual(ids.slice(5, 7));
      });

      it("refuses a field that is not filterable when finding", async () => {
        const hostile = { where: { 'status" = status; DROP TABLE tickets; --': "x" } } as never;
        await expectCode(storage.tickets.find(hostile), "RW_ERR_INPUT_INVALID");
        await expectCode(storage.tickets.find({ where: { title: "x" } } as never), "RW_ERR_INPUT_INVALID");
        await expectCode(storage.tickets.count({ description: "x" } as never), "RW_ERR_INPUT_INVALID");
        await expectCode(storage.tickets.find({ limit: -1 }), "RW_ERR_INPUT_INVALID");
        await storage.tickets.insert(newTicket());
        expect(await storage.tickets.count()).toBe(1);
      });

      it("stores hostile strings verbatim when values carry quotes and SQL", async () => {
        const evil = `'); DROP TABLE tickets; -- "\u2028\\${"x".repeat(3)}`;
        const stored = await storage.tickets.insert(
          newTicket({ title: evil, fingerprint: evil, metaData: { [evil]: evil } }),
        );
        expect((await storage.tickets.find({ where: { fingerprint: evil } })).map((t) => t.id)).toEqual([
          stored.id,
        ]);
        expect((await storage.tickets.get(stored.id))?.metaData).toEqual({ [evil]: evil });
      });

      it("inserts all documents in input order when inserting many", async () => {
        const stored = await storage.runbooks.insertMany([
          newRunbook({ revision: 1 }),
          newRunbook({ revision: 2 }),
          newRunbook({ key: "other", revision: 1 }),
        ]);
        expect(stored.map((r) => [r.key, r.revision])).toEqual([
          ["clean-disk", 1],
          ["clean-disk", 2],
          ["other", 1],
        ]);
        expect(stored[1]!.id).toBeGreaterThan(stored[0]!.id);
        expect(stored[2]!.id).toBeGreaterThan(stored[1]!.id);
        expect(await storage.runbooks.insertMany([])).toEqual([]);
      });

      it("inserts nothing when one document of many breaks a unique key", async () => {
        await storage.credentials.insert(newCredential({ name: "taken" }));
        await expectCode(
          storage.credentials.insertMany([
            newCredential({ name: "fresh" }),
            newCredential({ name: "taken" }),
          ]),
          "RW_ERR_STORAGE_CONFLICT",
        );
        await expectCode(
          storage.credentials.insertMany([newCredential({ name: "dup" }), newCredential({ name: "dup" })]),
          "RW_ERR_STORAGE_CONFLICT",
        );
        expect((await storage.credentials.find()).map((c) => c.name)).toEqual(["taken"]);
      });

      it("merges changes and bumps the version when updating", async () => {
        const stored = await storage.tickets.insert(newTicket());
        const updated = await storage.tickets.update(stored.id, 1, {
          status: "analyzed",
          statusReason: "matched",
        });
        expect(updated).toEqual({ ...stored, version: 2, status: "analyzed", statusReason: "matched" });
        expect(await storage.tickets.get(stored.id)).toEqual(updated);
        expect(await storage.tickets.find({ where: { status: "analyzed" } })).toHaveLength(1);
        expect(await storage.tickets.find({ where: { status: "new" } })).toHaveLength(0);
      });

      it("keeps id and version under the store's control when changes name them", async () => {
        const stored = await storage.tickets.insert(newTicket());
        const updated = await storage.tickets.update(stored.id, 1, {
          id: 77,
          version: 9,
          title: "x",
        } as never);
        expect(updated.id).toBe(stored.id);
        expect(updated.version).toBe(2);
      });

      it("throws a conflict when updating with a stale version", async () => {
        const stored = await storage.tickets.insert(newTicket());
        await storage.tickets.update(stored.id, 1, { status: "analyzed" });
        const err = await expectCode(
          storage.tickets.update(stored.id, 1, { status: "closed" }),
          "RW_ERR_STORAGE_CONFLICT",
        );
        expect(err.retryable).toBe(true);
        expect((await storage.tickets.get(stored.id))?.status).toBe("analyzed");
      });

      it("throws not found when updating a document that does not exist", async () => {
        await expectCode(storage.tickets.update(123456, 1, { status: "closed" }), "RW_ERR_STORAGE_NOT_FOUND");
      });

      it("lets exactly one of 20 concurrent updaters win when they hold the same version", async () => {
        const stored = await storage.approvals.insert(newApproval());
        const updaters = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            storage.approvals.update(stored.id, stored.version, { status: "approved", stepName: `by ${i}` }),
          ),
        );
        const won = updaters.filter((r) => r.status === "fulfilled");
        expect(won).toHaveLength(1);
        for (const lost of updaters.filter((r) => r.status === "rejected")) {
          expect((lost as PromiseRejectedResult).reason.code).toBe("RW_ERR_STORAGE_CONFLICT");
        }
        expect((await storage.approvals.get(stored.id))?.version).toBe(2);
      });

      it("enforces every unique key when inserting and updating", async () => {
        await storage.credentials.insert(newCredential({ name: "db" }));
        await expectCode(
          storage.credentials.insert(newCredential({ name: "db" })),
          "RW_ERR_STORAGE_CONFLICT",
        );
        await storage.connections.insert(newConnection({ name: "c" }));
        await expectCode(storage.connections.insert(newConnection({ name: "c" })), "RW_ERR_STORAGE_CONFLICT");
        await storage.runbooks.insert(newRunbook({ key: "k", revision: 1 }));
        await storage.runbooks.insert(newRunbook({ key: "k", revision: 2 }));
        await storage.runbooks.insert(newRunbook({ key: "j", revision: 1 }));
        await expectCode(
          storage.runbooks.insert(newRunbook({ key: "k", revision: 2 })),
          "RW_ERR_STORAGE_CONFLICT",
        );
        await storage.tokens.insert(newToken({ tokenHash: "h" }));
        await expectCode(storage.tokens.insert(newToken({ tokenHash: "h" })), "RW_ERR_STORAGE_CONFLICT");
        const source = await storage.webhookSources.insert(newWebhookSource({ name: "kuma" }));
        await expectCode(
          storage.webhookSources.insert(newWebhookSource({ name: "kuma" })),
          "RW_ERR_STORAGE_CONFLICT",
        );
        expect((await storage.webhookSources.find({ where: { name: "kuma" } })).map((s) => s.id)).toEqual([
          source.id,
        ]);
        await storage.outbox.insert(newOutbox({ idempotencyKey: "i" }));
        await expectCode(
          storage.outbox.insert(newOutbox({ idempotencyKey: "i" })),
          "RW_ERR_STORAGE_CONFLICT",
        );

        const other = await storage.credentials.insert(newCredential({ name: "other" }));
        await expectCode(storage.credentials.update(other.id, 1, { name: "db" }), "RW_ERR_STORAGE_CONFLICT");
        expect((await storage.credentials.get(other.id))?.name).toBe("other");
        expect(
          await storage.credentials.update(other.id, 1, { name: "other", environment: "staging" }),
        ).toMatchObject({
          version: 2,
        });
        await storage.tokens.insert(newToken({ tokenHash: "h2", actor: "alice" }));
        expect(await storage.tokens.count({ actor: "alice" })).toBe(2);
      });

      it("keeps one stored connector configuration per kind and name", async () => {
        const stored = await storage.connectorConfigs.insert(newConnectorConfig());
        await expectCode(
          storage.connectorConfigs.insert(newConnectorConfig({ config: {} })),
          "RW_ERR_STORAGE_CONFLICT",
        );
        // Another kind, or another name, is another configuration.
        await storage.connectorConfigs.insert(newConnectorConfig({ kind: "ticketing" }));
        await storage.connectorConfigs.insert(newConnectorConfig({ name: "datadog" }));
        expect(await storage.connectorConfigs.count({ kind: "monitoring" })).toBe(2);
        const [found] = await storage.connectorConfigs.find({
          where: { kind: "monitoring", name: "prometheus" },
        });
        expect(found).toEqual(stored);
        const updated = await storage.connectorConfigs.update(stored.id, 1, {
          config: { webhookAuth: { type: "none" } },
          secretPaths: [],
          ciphertext: "v1.k1.other",
          updatedAt: at(1000),
        });
        expect(updated).toMatchObject({ version: 2, name: "prometheus", secretPaths: [] });
        await expectCode(
          storage.connectorConfigs.update(stored.id, 1, { updatedBy: "late" }),
          "RW_ERR_STORAGE_CONFLICT",
        );
        expect(await storage.connectorConfigs.delete(stored.id, 2)).toBe(true);
        await storage.connectorConfigs.insert(newConnectorConfig());
      });

      it("frees a unique key when its document is deleted", async () => {
        const first = await storage.credentials.insert(newCredential({ name: "db" }));
        expect(await storage.credentials.delete(first.id)).toBe(true);
        await expect(storage.credentials.insert(newCredential({ name: "db" }))).resolves.toMatchObject({
          name: "db",
        });
      });

      it("deletes with an optional version check", async () => {
        const a = await storage.outbox.insert(newOutbox({ idempotencyKey: "a" }));
        const b = await storage.outbox.insert(newOutbox({ idempotencyKey: "b" }));
        expect(await storage.outbox.delete(a.id)).toBe(true);
        expect(await storage.outbox.delete(a.id)).toBe(false);
        expect(await storage.outbox.get(a.id)).toBeUndefined();
        await expectCode(storage.outbox.delete(b.id, 5), "RW_ERR_STORAGE_CONFLICT");
        expect(await storage.outbox.delete(b.id, 1)).toBe(true);
        expect(await storage.outbox.count()).toBe(0);
      });

      it("refuses to update or delete audit events", async () => {
        const event = await storage.audit.insert(newAudit());
        await expectCode(
          storage.audit.update(event.id, 1, { actor: "mallory" }),
          "RW_ERR_STORAGE_APPEND_ONLY",
        );
        await expectCode(storage.audit.delete(event.id), "RW_ERR_STORAGE_APPEND_ONLY");
        expect(await storage.audit.get(event.id)).toEqual(event);
        await storage.audit.insertMany([newAudit({ action: "a.b" }), newAudit({ action: "c.d" })]);
        expect((await storage.audit.find({ where: { actor: "alice" } })).map((e) => e.action)).toEqual([
          "approval.approved",
          "a.b",
          "c.d",
        ]);
      });

      it("loses nothing when 200 writers insert and update concurrently", async () => {
        const inserted = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            storage.tickets.insert(newTicket({ title: `t${i}`, fingerprint: `f${i % 20}` })),
          ),
        );
        expect(new Set(inserted.map((t) => t.id)).size).toBe(200);
        // Four writers per ticket each add one occurrence with read-modify-write and retry on conflict.
        const bump = async (id: number) => {
          for (;;) {
            const current = (await storage.tickets.get(id))!;
            try {
              await storage.tickets.update(id, current.version, { occurrences: current.occurrences + 1 });
              return;
            } catch (err) {
              if (!isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT") throw err;
            }
          }
        };
        await Promise.all(
          inserted.slice(0, 50).flatMap((t) => [bump(t.id), bump(t.id), bump(t.id), bump(t.id)]),
        );
        expect(await storage.tickets.count()).toBe(200);
        const bumped = new Set(inserted.slice(0, 50).map((t) => t.id));
        for (const ticket of await storage.tickets.find()) {
          const expected = bumped.has(ticket.id) ? 5 : 1;
          expect([ticket.occurrences, ticket.version]).toEqual([expected, expected]);
        }
      });
    });

    describe("ingestTickets", () => {
      const window = 60_000;

      it("folds a repeat of an open ticket seen within the window", async () => {
        const [first] = await storage.ingestTickets([newTicket()], { dedupeWindowMs: window, now: T0 });
        expect(first).toMatchObject({ deduplicated: false, ticket: { occurrences: 1, version: 1 } });
        const [repeat] = await storage.ingestTickets(
          [newTicket({ title: "again", receivedAt: at(30_000) })],
          {
            dedupeWindowMs: window,
            now: at(30_000),
          },
        );
        expect(repeat!.deduplicated).toBe(true);
        expect(repeat!.ticket).toMatchObject({
          id: first!.ticket.id,
          title: newTicket().title,
          occurrences: 2,
          version: 2,
          lastSeenAt: at(30_000),
          updatedAt: at(30_000),
        });
        expect(await storage.tickets.get(first!.ticket.id)).toEqual(repeat!.ticket);
        expect(await storage.tickets.count()).toBe(1);
      });

      it("creates a new ticket when the open one was last seen outside the window", async () => {
        const [first] = await storage.ingestTickets([newTicket()], { dedupeWindowMs: window, now: T0 });
        const seen = { receivedAt: at(window + 1), lastSeenAt: at(window + 1) };
        const [late] = await storage.ingestTickets([newTicket(seen)], {
          dedupeWindowMs: window,
          now: at(window + 1),
        });
        expect(late!.deduplicated).toBe(false);
        expect(late!.ticket.id).not.toBe(first!.ticket.id);
        // The window slides with lastSeenAt: the new ticket takes the next repeat.
        const [next] = await storage.ingestTickets([newTicket()], {
          dedupeWindowMs: window,
          now: at(window + 2),
        });
        expect(next!.ticket.id).toBe(late!.ticket.id);
      });

      it("reopens a ticket resolved within the window for a person instead of creating a new one", async () => {
        const [first] = await storage.ingestTickets([newTicket({ fingerprint: "flap" })], {
          dedupeWindowMs: window,
          now: T0,
        });
        await storage.tickets.update(first!.ticket.id, first!.ticket.version, { status: "resolved" });
        const [again] = await storage.ingestTickets([newTicket({ fingerprint: "flap" })], {
          dedupeWindowMs: window,
          now: at(1),
        });
        expect(again!.deduplicated).toBe(true);
        expect(again!.ticket).toMatchObject({ id: first!.ticket.id, status: "needs_human", occurrences: 2 });
        expect(again!.ticket.statusReason).toMatch(/fired again/);
        expect(await storage.tickets.count({ fingerprint: "flap" })).toBe(1);
      });

      it("creates a new ticket when the matching one is closed or failed", async () => {
        for (const status of ["closed", "failed"] as const) {
          const [first] = await storage.ingestTickets([newTicket({ fingerprint: status })], {
            dedupeWindowMs: window,
            now: T0,
          });
          await storage.tickets.update(first!.ticket.id, first!.ticket.version, { status });
          const [again] = await storage.ingestTickets([newTicket({ fingerprint: status })], {
            dedupeWindowMs: window,
            now: at(1),
          });
          expect(again!.deduplicated, status).toBe(false);
          expect(again!.ticket.id).not.toBe(first!.ticket.id);
          expect((await storage.tickets.get(first!.ticket.id))?.occurrences).toBe(1);
        }
      });

      it("folds duplicates inside one batch and keeps outcomes in input order", async () => {
        const outcomes = await storage.ingestTickets(
          [
            newTicket({ fingerprint: "a", title: "a1" }),
            newTicket({ fingerprint: "b", title: "b1" }),
            newTicket({ fingerprint: "a", title: "a2" }),
            newTicket({ fingerprint: "a", title: "a3" }),
            newTicket({ fingerprint: "c", status: "closed", title: "c1" }),
            newTicket({ fingerprint: "c", title: "c2" }),
          ],
          { dedupeWindowMs: window, now: at(5) },
        );
        expect(outcomes.map((o) => [o.ticket.title, o.deduplicated])).toEqual([
          ["a1", false],
          ["b1", false],
          ["a1", true],
          ["a1", true],
          ["c1", false],
          ["c2", false],
        ]);
        expect(outcomes[0]!.ticket).toEqual(outcomes[3]!.ticket);
        expect(outcomes[0]!.ticket).toMatchObject({ occurrences: 3, lastSeenAt: at(5) });
        expect(outcomes[1]!.ticket.id).toBeGreaterThan(outcomes[0]!.ticket.id);
        expect(await storage.tickets.count()).toBe(4);
        expect(await storage.tickets.get(outcomes[0]!.ticket.id)).toEqual(outcomes[0]!.ticket);
      });

      it("folds a batch into an existing open ticket with one version bump", async () => {
        const [first] = await storage.ingestTickets([newTicket({ status: "analyzed" })], {
          dedupeWindowMs: window,
          now: T0,
        });
        await storage.tickets.update(first!.ticket.id, 1, { status: "needs_human" });
        const outcomes = await storage.ingestTickets(
          [newTicket(), newTicket(), newTicket({ fingerprint: "z" })],
          {
            dedupeWindowMs: window,
            now: at(10),
          },
        );
        expect(outcomes.map((o) => o.deduplicated)).toEqual([true, true, false]);
        expect(outcomes[0]!.ticket).toMatchObject({
          id: first!.ticket.id,
          occurrences: 3,
          status: "needs_human",
        });
        expect(outcomes[0]!.ticket.version).toBeGreaterThan(2);
        expect(await storage.tickets.get(first!.ticket.id)).toEqual(outcomes[1]!.ticket);
      });

      it("refuses a timestamp that is not a date", async () => {
        await expectCode(
          storage.ingestTickets([newTicket()], { dedupeWindowMs: 1, now: "yesterday" }),
          "RW_ERR_INPUT_INVALID",
        );
        expect(await storage.tickets.count()).toBe(0);
      });
    });

    describe("createSession", () => {
      it("creates the session and its steps with the session's id and steps in order", async () => {
        const { session, steps } = await storage.createSession(newSession(), [
          newStep(0),
          newStep(1),
          newStep(2),
        ]);
        expect(session).toMatchObject({ version: 1, status: "pending", lease: null });
        expect(steps.map((s) => [s.sessionId, s.index, s.version])).toEqual([
          [session.id, 0, 1],
          [session.id, 1, 1],
          [session.id, 2, 1],
        ]);
        expect(steps[1]!.id).toBeGreaterThan(steps[0]!.id);
        expect(await storage.steps.find({ where: { sessionId: session.id } })).toEqual(steps);
        expect(await storage.sessions.get(session.id)).toEqual(session);
      });

      it("refuses a second live session for the same fingerprint and runbook, creating nothing", async () => {
        const live = await storage.createSession(newSession(), [newStep(0)]);
        await expectCode(
          storage.createSession(newSession(), [newStep(0), newStep(1)]),
          "RW_ERR_STORAGE_CONFLICT",
        );
        expect(await storage.sessions.count()).toBe(1);
        expect(await storage.steps.count()).toBe(1);
        // A dry run, another runbook or an empty fingerprint do not collide.
        await storage.createSession(newSession({ dryRun: true }), []);
        await storage.createSession(newSession({ runbookKey: "other" }), []);
        await storage.createSession(newSession({ fingerprint: "" }), []);
        await storage.createSession(newSession({ fingerprint: "" }), []);
        // Once the live one is over, the same remediation may run again.
        await storage.sessions.update(live.session.id, 1, { status: "succeeded" });
        await expect(storage.createSession(newSession(), [])).resolves.toBeTruthy();
      });

      it("refuses to bring a finished session back to life while another is live", async () => {
        const old = await storage.createSession(newSession({ status: "failed" }), []);
        await storage.createSession(newSession(), []);
        await expectCode(
          storage.sessions.update(old.session.id, 1, { status: "pending" }),
          "RW_ERR_STORAGE_CONFLICT",
        );
      });
    });

    describe("batch", () => {
      it("applies inserts and updates in order and returns what was stored", async () => {
        const { session, steps } = await storage.createSession(newSession({ status: "running" }), [
          newStep(0),
          newStep(1),
        ]);
        const ticket = await storage.tickets.insert(newTicket());
        const stored = await storage.batch([
          {
            collection: "steps",
            update: { id: steps[0]!.id, expectedVersion: 1, changes: { status: "succeeded" } },
          },
          {
            collection: "steps",
            update: { id: steps[1]!.id, expectedVersion: 1, changes: { status: "running" } },
          },
          {
            collection: "sessions",
            update: { id: session.id, expectedVersion: 1, changes: { phase: "postchecks" } },
          },
          { collection: "audit", insert: newAudit({ action: "session.finished" }) },
          {
            collection: "tickets",
            update: { id: ticket.id, expectedVersion: 1, changes: { status: "executing" } },
          },
          {
            collection: "tickets",
            update: { id: ticket.id, expectedVersion: 2, changes: { status: "resolved" } },
          },
        ]);
        expect(stored.map((doc) => doc.version)).toEqual([2, 2, 2, 1, 2, 3]);
        expect(stored[0]).toEqual({ ...steps[0], version: 2, status: "succeeded" });
        expect(stored[2]).toEqual({ ...session, version: 2, phase: "postchecks" });
        expect(await storage.steps.get(steps[1]!.id)).toEqual(stored[1]);
        expect(await storage.sessions.get(session.id)).toEqual(stored[2]);
        expect(await storage.audit.get(stored[3]!.id)).toEqual(stored[3]);
        expect(await storage.tickets.get(ticket.id)).toEqual(stored[5]);
        expect(await storage.batch([])).toEqual([]);
      });

      it("stores nothing when one write has a stale version", async () => {
        const { session, steps } = await storage.createSession(newSession({ status: "running" }), [
          newStep(0),
        ]);
        const ticket = await storage.tickets.insert(newTicket());
        const err = await expectCode(
          storage.batch([
            { collection: "audit", insert: newAudit() },
            {
              collection: "steps",
              update: { id: steps[0]!.id, expectedVersion: 1, changes: { status: "succeeded" } },
            },
            {
              collection: "tickets",
              update: { id: ticket.id, expectedVersion: 1, changes: { status: "resolved" } },
            },
            {
              collection: "sessions",
              update: { id: session.id, expectedVersion: 7, changes: { status: "succeeded" } },
            },
          ]),
          "RW_ERR_STORAGE_CONFLICT",
        );
        expect(err.details).toMatchObject({ entity: "sessions", id: session.id, reason: "version" });
        expect(await storage.audit.count()).toBe(0);
        expect(await storage.steps.get(steps[0]!.id)).toEqual(steps[0]);
        expect(await storage.tickets.get(ticket.id)).toEqual(ticket);
        expect(await storage.sessions.get(session.id)).toEqual(session);
        expect(await storage.sessions.find({ where: { status: "running" } })).toHaveLength(1);
        expect(await storage.steps.find({ where: { status: "succeeded" } })).toHaveLength(0);
      });

      it("stores nothing when one write breaks a unique key or names a missing document", async () => {
        await storage.credentials.insert(newCredential({ name: "taken" }));
        const ticket = await storage.tickets.insert(newTicket());
        const bump = {
          collection: "tickets",
          update: { id: ticket.id, expectedVersion: 1, changes: { title: "x" } },
        } as const;
        await expectCode(
          storage.batch([
            { collection: "credentials", insert: newCredential({ name: "fresh" }) },
            bump,
            { collection: "credentials", insert: newCredential({ name: "taken" }) },
          ]),
          "RW_ERR_STORAGE_CONFLICT",
        );
        await expectCode(
          storage.batch([
            bump,
            { collection: "steps", update: { id: 424242, expectedVersion: 1, changes: {} } },
          ]),
          "RW_ERR_STORAGE_NOT_FOUND",
        );
        expect((await storage.credentials.find()).map((c) => c.name)).toEqual(["taken"]);
        expect(await storage.tickets.get(ticket.id)).toEqual(ticket);
        // The ids a failed batch would have used stay usable.
        const fresh = await storage.credentials.insert(newCredential({ name: "fresh" }));
        expect(await storage.credentials.get(fresh.id)).toMatchObject({ name: "fresh" });
      });

      it("refuses to update an audit event, storing nothing", async () => {
        const event = await storage.audit.insert(newAudit());
        await expectCode(
          storage.batch([
            { collection: "audit", insert: newAudit({ action: "other" }) },
            {
              collection: "audit",
              update: { id: event.id, expectedVersion: 1, changes: { actor: "mallory" } },
            },
          ]),
          "RW_ERR_STORAGE_APPEND_ONLY",
        );
        expect(await storage.audit.find()).toEqual([event]);
      });
    });

    describe("leases", () => {
      const claim = (owner: string, now: string, extra: Partial<{ limit: number; ttlMs: number }> = {}) =>
        storage.claimSessions({
          owner,
          now,
          ttlMs: 30_000,
          statuses: ["pending", "running"],
          limit: 10,
          ...extra,
        });

      async function sessions(count: number, over: Partial<NewDoc<ExecutionSession>> = {}) {
        const made: ExecutionSession[] = [];
        for (let i = 0; i < count; i++) {
          made.push(
            (await storage.createSession(newSession({ fingerprint: `fp${i}`, ...over }), [])).session,
          );
        }
        return made;
      }

      it("claims sessions in the given statuses, oldest first, up to the limit", async () => {
        const [a, b, c] = await sessions(3);
        const waiting = (
          await storage.createSession(newSession({ fingerprint: "w", status: "awaiting_approval" }), [])
        ).session;
        const got = await claim("one", T0, { limit: 2 });
        expect(got.map((s) => s.id)).toEqual([a!.id, b!.id]);
        expect(got[0]!.lease).toEqual({ owner: "one", expiresAt: at(30_000) });
        expect((await claim("two", T0)).map((s) => s.id)).toEqual([c!.id]);
        expect(await claim("three", T0)).toEqual([]);
        expect((await storage.sessions.get(waiting.id))?.lease).toBeNull();
      });

      it("does not change a session's version when leasing", async () => {
        const [a] = await sessions(1);
        await claim("one", T0);
        expect(await storage.renewLease(a!.id, "one", 30_000, at(1000))).toBe(true);
        await storage.releaseLease(a!.id, "one");
        expect((await storage.sessions.get(a!.id))?.version).toBe(1);
        const updated = await storage.sessions.update(a!.id, 1, { status: "running" });
        expect(updated.version).toBe(2);
      });

      it("claims an expired lease but not a live one", async () => {
        const [a] = await sessions(1);
        await claim("one", T0);
        expect(await claim("two", at(29_999))).toEqual([]);
        const taken = await claim("two", at(30_000));
        expect(taken.map((s) => s.lease?.owner)).toEqual(["two"]);
        expect(await storage.renewLease(a!.id, "one", 30_000, at(30_001))).toBe(false);
      });

      it("renews only the holder's unexpired lease", async () => {
        const [a] = await sessions(1);
        await claim("one", T0);
        expect(await storage.renewLease(a!.id, "two", 30_000, at(1))).toBe(false);
        expect(await storage.renewLease(a!.id, "one", 60_000, at(20_000))).toBe(true);
        expect((await storage.sessions.get(a!.id))?.lease).toEqual({ owner: "one", expiresAt: at(80_000) });
        expect(await claim("two", at(79_999))).toEqual([]);
        expect(await storage.renewLease(a!.id, "one", 1, at(80_000))).toBe(false);
        expect(await storage.renewLease(999_999, "one", 1, T0)).toBe(false);
      });

      it("releases only the holder's lease", async () => {
        const [a] = await sessions(1);
        await claim("one", T0);
        await storage.releaseLease(a!.id, "two");
        expect((await storage.sessions.get(a!.id))?.lease?.owner).toBe("one");
        await storage.releaseLease(a!.id, "one");
        expect((await storage.sessions.get(a!.id))?.lease).toBeNull();
        expect((await claim("two", at(1))).map((s) => s.id)).toEqual([a!.id]);
      });

      it("keeps the lease when a session is updated", async () => {
        const [a] = await sessions(1);
        await claim("one", T0);
        const updated = await storage.sessions.update(a!.id, 1, { status: "running", lease: null } as never);
        expect(updated.lease).toEqual({ owner: "one", expiresAt: at(30_000) });
        expect((await storage.sessions.get(a!.id))?.lease?.owner).toBe("one");
      });

      it("never gives one session to two owners racing for it", async () => {
        const made = await sessions(30);
        const other = (await peer()) ?? storage;
        const owners = ["a", "b", "c", "d", "e", "f"];
        const results = await Promise.all(
          owners.map((owner, i) =>
            (i % 2 === 0 ? storage : other).claimSessions({
              owner,
              now: T0,
              ttlMs: 30_000,
              statuses: ["pending"],
              limit: 7,
            }),
          ),
        );
        const claimed = results.flat().map((s) => s.id);
        expect(new Set(claimed).size).toBe(claimed.length);
        expect(claimed.length).toBe(30);
        expect(new Set(claimed)).toEqual(new Set(made.map((s) => s.id)));
        for (const [i, result] of results.entries()) {
          for (const session of result) {
            expect((await storage.sessions.get(session.id))?.lease?.owner).toBe(owners[i]);
          }
        }
      });
    });

    describe("named leases", () => {
      it("gives a free lease to the first owner and refuses it to another until it expires", async () => {
        expect(await storage.leases.acquire("monitoring:prometheus", "one", 30_000, T0)).toBe(true);
        expect(await storage.leases.acquire("monitoring:prometheus", "two", 30_000, at(29_999))).toBe(false);
        expect(await storage.leases.get("monitoring:prometheus")).toEqual({
          owner: "one",
          expiresAt: at(30_000),
        });
        expect(await storage.leases.acquire("monitoring:prometheus", "two", 30_000, at(30_000))).toBe(true);
        expect(await storage.leases.get("monitoring:prometheus")).toEqual({
          owner: "two",
          expiresAt: at(60_000),
        });
      });

      it("renews the holder's lease and keeps names apart", async () => {
        expect(await storage.leases.acquire("a", "one", 10_000, T0)).toBe(true);
        expect(await storage.leases.acquire("a", "one", 10_000, at(9_000))).toBe(true);
        expect(await storage.leases.acquire("a", "two", 10_000, at(15_000))).toBe(false);
        expect(await storage.leases.acquire("b", "two", 10_000, at(15_000))).toBe(true);
        expect(await storage.leases.get("a")).toEqual({ owner: "one", expiresAt: at(19_000) });
      });

      it("releases only the holder's lease", async () => {
        expect(await storage.leases.get("a")).toBeUndefined();
        await storage.leases.acquire("a", "one", 10_000, T0);
        await storage.leases.release("a", "two");
        expect((await storage.leases.get("a"))?.owner).toBe("one");
        await storage.leases.release("a", "one");
        expect(await storage.leases.get("a")).toBeUndefined();
        expect(await storage.leases.acquire("a", "two", 10_000, T0)).toBe(true);
      });

      it("gives one lease to exactly one of many owners racing for it", async () => {
        const other = (await peer()) ?? storage;
        const owners = Array.from({ length: 12 }, (_, i) => `owner-${i}`);
        const won = await Promise.all(
          owners.map((owner, i) => (i % 2 === 0 ? storage : other).leases.acquire("race", owner, 30_000, T0)),
        );
        expect(won.filter(Boolean)).toHaveLength(1);
        expect((await storage.leases.get("race"))?.owner).toBe(owners[won.indexOf(true)]);
      });
    });

    describe("intake queue", () => {
      const roomy = {
        maxEntries: 100,
        maxBytes: 1_000_000,
        maxSourceEntries: 100,
        maxSourceBytes: 1_000_000,
      };
      const entry = (source: string, payload = `{"from":"${source}"}`) => ({
        source,
        kind: "webhook" as const,
        payload,
        receivedAt: T0,
      });

      it("reads only the entries of the kind asked for, in id order, when a kind is given", async () => {
        const a = await storage.enqueueIntake(entry("a"), roomy);
        const csv = await storage.enqueueIntake({ ...entry("csv:1", '{"rows":[]}'), kind: "csv" }, roomy);
        const b = await storage.enqueueIntake(entry("b"), roomy);
        if (!a.accepted || !csv.accepted || !b.accepted) throw new Error("refused");
        expect(csv.entry.kind).toBe("csv");
        expect(await storage.pendingIntake({ limit: 10, kind: "webhook" })).toEqual([a.entry, b.entry]);
        expect(await storage.pendingIntake({ limit: 10, kind: "csv" })).toEqual([csv.entry]);
        expect(await storage.pendingIntake({ afterId: a.entry.id, limit: 1, kind: "webhook" })).toEqual([
          b.entry,
        ]);
        expect(await storage.pendingIntake({ limit: 10 })).toEqual([a.entry, csv.entry, b.entry]);
      });

      it("keeps entries in id order with their payload and byte size when enqueued", async () => {
        const a = await storage.enqueueIntake(entry("a", '{"é":1}'), roomy);
        const b = await storage.enqueueIntake(entry("b"), roomy);
        const c = await storage.enqueueIntake(entry("a"), roomy);
        if (!a.accepted || !b.accepted || !c.accepted) throw new Error("refused");
        expect(a.entry.bytes).toBe(8);
        expect(b.entry.id).toBeGreaterThan(a.entry.id);
        expect(c.depth).toEqual({ entries: 3, bytes: 8 + 12 + 12, sourceEntries: 2, sourceBytes: 8 + 12 });
        const pending = await storage.pendingIntake({ limit: 10 });
        expect(pending).toEqual([a.entry, b.entry, c.entry]);
        expect(await storage.pendingIntake({ afterId: a.entry.id, limit: 1 })).toEqual([b.entry]);
        expect(await storage.intakeDepth()).toEqual({
          entries: 3,
          bytes: 32,
          sources: { a: { entries: 2, bytes: 20 }, b: { entries: 1, bytes: 12 } },
        });
      });

      it("refuses an entry past the whole queue's bound and stores nothing", async () => {
        const bounds = { ...roomy, maxEntries: 2 };
        expect((await storage.enqueueIntake(entry("a"), bounds)).accepted).toBe(true);
        expect((await storage.enqueueIntake(entry("b"), bounds)).accepted).toBe(true);
        const refused = await storage.enqueueIntake(entry("c"), bounds);
        expect(refused).toMatchObject({
          accepted: false,
          full: "queue",
          depth: { entries: 2, sourceEntries: 0 },
        });
        const byBytes = await storage.enqueueIntake(entry("c"), { ...roomy, maxBytes: 30 });
        expect(byBytes).toMatchObject({ accepted: false, full: "queue" });
        expect((await storage.intakeDepth()).entries).toBe(2);
      });

      it("refuses a source past its share while other sources still get in", async () => {
        const bounds = { ...roomy, maxEntries: 10, maxSourceEntries: 2 };
        for (let i = 0; i < 2; i++)
          expect((await storage.enqueueIntake(entry("noisy"), bounds)).accepted).toBe(true);
        expect(await storage.enqueueIntake(entry("noisy"), bounds)).toMatchObject({
          accepted: false,
          full: "source",
          depth: { sourceEntries: 2 },
        });
        expect((await storage.enqueueIntake(entry("quiet"), bounds)).accepted).toBe(true);
        const bySourceBytes = await storage.enqueueIntake(entry("quiet"), { ...bounds, maxSourceBytes: 20 });
        expect(bySourceBytes).toMatchObject({ accepted: false, full: "source" });
      });

      it("removes the entries an ingest consumes in the same transaction", async () => {
        const a = await storage.enqueueIntake(entry("a"), roomy);
        const b = await storage.enqueueIntake(entry("a"), roomy);
        if (!a.accepted || !b.accepted) throw new Error("refused");
        const [outcome] = await storage.ingestTickets([newTicket()], {
          dedupeWindowMs: 60_000,
          now: T0,
          consumeIntake: [a.entry.id],
        });
        expect(outcome?.deduplicated).toBe(false);
        expect(await storage.pendingIntake({ limit: 10 })).toEqual([b.entry]);
      });

      it("stores nothing and throws a conflict when an ingest's entry was already consumed", async () => {
        const a = await storage.enqueueIntake(entry("a"), roomy);
        if (!a.accepted) throw new Error("refused");
        await storage.completeIntake([a.entry.id]);
        await expectCode(
          storage.ingestTickets([newTicket()], {
            dedupeWindowMs: 60_000,
            now: T0,
            consumeIntake: [a.entry.id],
          }),
          "RW_ERR_STORAGE_CONFLICT",
        );
        expect(await storage.tickets.count()).toBe(0);
        await storage.completeIntake([a.entry.id, 999_999]);
      });

      it("keeps queued entries when the store is closed and reopened", async () => {
        if (!durable) return;
        const a = await storage.enqueueIntake(entry("a"), roomy);
        await storage.close();
        storage = await opened.reopen!();
        expect(await storage.pendingIntake({ limit: 10 })).toEqual([a.accepted && a.entry]);
      });
    });

    describe("values", () => {
      it("returns undefined until set, then the latest value", async () => {
        expect(await storage.getValue("cursor:servicenow")).toBeUndefined();
        await storage.setValue("cursor:servicenow", "2025-01-01");
        await storage.setValue("cursor:servicenow", "2025-01-02");
        await storage.setValue("other", "");
        expect(await storage.getValue("cursor:servicenow")).toBe("2025-01-02");
        expect(await storage.getValue("other")).toBe("");
      });
    });

    describe("signals", () => {
      it("delivers a publish to subscribers of its topic until they unsubscribe", async () => {
        const got: string[] = [];
        const elsewhere: string[] = [];
        const unsubscribe = storage.signals.subscribe("sessions.ready", (payload) => got.push(payload));
        storage.signals.subscribe("other", (payload) => elsewhere.push(payload));
        await storage.signals.publish("sessions.ready", "42");
        await waitFor(() => got.length === 1);
        expect(got).toEqual(["42"]);
        unsubscribe();
        await storage.signals.publish("sessions.ready", "43");
        await storage.signals.publish("other", "x");
        await waitFor(() => elsewhere.length === 1);
        expect(got).toEqual(["42"]);
      });

      it("keeps delivering when a listener throws", async () => {
        const got: string[] = [];
        storage.signals.subscribe("t", () => {
          throw new Error("listener bug");
        });
        storage.signals.subscribe("t", (payload) => got.push(payload));
        await storage.signals.publish("t", "1");
        await waitFor(() => got.length === 1);
      });

      it("refuses a topic or payload every store cannot carry", async () => {
        await expectCode(storage.signals.publish("bad topic; --", "x"), "RW_ERR_INPUT_INVALID");
        await expectCode(storage.signals.publish("ok", "x".repeat(9000)), "RW_ERR_INPUT_INVALID");
      });
    });

    describe("lifecycle", () => {
      it("keeps every row when the store is closed and reopened", async () => {
        if (!durable) {
          expect(opened.reopen).toBeUndefined();
          return;
        }
        expect(opened.reopen).toBeTypeOf("function");
        const tickets = await storage.tickets.insertMany(
          Array.from({ length: 50 }, (_, i) => newTicket({ title: `t${i}` })),
        );
        await storage.tickets.update(tickets[3]!.id, 1, { status: "closed" });
        const { session, steps } = await storage.createSession(newSession(), [newStep(0), newStep(1)]);
        await storage.claimSessions({
          owner: "one",
          now: T0,
          ttlMs: 30_000,
          statuses: ["pending"],
          limit: 1,
        });
        await storage.audit.insert(newAudit());
        await storage.credentials.insert(newCredential());
        await storage.setValue("k", "v");
        const before = await snapshot(storage);
        await storage.close();
        storage = await opened.reopen!();
        expect(await snapshot(storage)).toEqual(before);
        expect((await storage.sessions.get(session.id))?.lease?.owner).toBe("one");
        expect(await storage.steps.count({ sessionId: session.id })).toBe(steps.length);
        expect(await storage.getValue("k")).toBe("v");
        const next = await storage.tickets.insert(newTicket());
        expect(next.id).toBeGreaterThan(tickets.at(-1)!.id);
        await expectCode(storage.credentials.insert(newCredential()), "RW_ERR_STORAGE_CONFLICT");
      });

      it("keeps who submitted a ticket and who started and caused a session and its approval when reopened", async () => {
        const [ingested] = await storage.ingestTickets([newTicket({ submittedBy: "alice" })], {
          dedupeWindowMs: 60_000,
          now: T0,
        });
        const { session } = await storage.createSession(
          newSession({ causedBy: "alice", warnings: ["connection_config ignored"] }),
          [newStep(0)],
        );
        const approval = await storage.approvals.insert(
          newApproval({ sessionId: session.id, risk: "high_risk", startedBy: "engine", causedBy: "alice" }),
        );
        const check = async (store: Storage) => {
          expect((await store.tickets.get(ingested!.ticket.id))?.submittedBy).toBe("alice");
          expect(await store.sessions.get(session.id)).toMatchObject({
            startedBy: "engine",
            causedBy: "alice",
            warnings: ["connection_config ignored"],
          });
          expect(await store.approvals.get(approval.id)).toMatchObject({
            startedBy: "engine",
            causedBy: "alice",
          });
        };
        await check(storage);
        // A later write of other fields keeps them.
        await storage.sessions.update(session.id, session.version, { status: "running" });
        await check(storage);
        if (!durable) return;
        await storage.close();
        storage = await opened.reopen!();
        await check(storage);
      });

      it("refuses every call after close", async () => {
        await storage.close();
        await expectCode(storage.tickets.get(1), "RW_ERR_STORAGE_UNAVAILABLE");
        await expectCode(storage.tickets.insert(newTicket()), "RW_ERR_STORAGE_UNAVAILABLE");
        await expectCode(
          storage.ingestTickets([newTicket()], { dedupeWindowMs: 1, now: T0 }),
          "RW_ERR_STORAGE_UNAVAILABLE",
        );
        await expectCode(storage.getValue("k"), "RW_ERR_STORAGE_UNAVAILABLE");
        await expectCode(storage.signals.publish("t", "x"), "RW_ERR_STORAGE_UNAVAILABLE");
        await storage.close();
      });
    });
  });
}

async function snapshot(storage: Storage) {
  return {
    tickets: await storage.tickets.find(),
    sessions: await storage.sessions.find(),
    steps: await storage.steps.find(),
    audit: await storage.audit.find(),
    credentials: await storage.credentials.find(),
  };
}

/** Awaits a rejection and checks its Runwarden error code. */
export async function expectCode(promise: Promise<unknown>, code: string) {
  const err = await promise.then(
    () => {
      throw new Error(`expected ${code}, but it resolved`);
    },
    (e: unknown) => e,
  );
  if (!isRunwardenError(err)) throw err;
  expect(err.code).toBe(code);
  return err;
}

/** Polls until `check` holds (signals may arrive after publish resolves on networked stores). */
export async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
