/**
 * The runbooks API: upload Markdown (each upload of an existing key is its next revision), approve,
 * retire, read, and match tickets against the current runbooks. Parsed plans are kept in the
 * parser's cache, keyed by the sha256 of their Markdown, so a stored runbook is parsed once.
 */
import {
  createRunbookCache,
  type Diagnostic,
  hashRunbook,
  parseRunbook,
  type Runbook,
} from "@runwarden/runbook-parser";
import {
  type IndexablePlan,
  type MatchOptions,
  type MatchQuery,
  RunbookIndex,
  type RunbookMatch,
} from "./analyzer/match-index.js";
import type { RunbookRecord, RunbookStatus } from "./domain.js";
import { rwError } from "./errors.js";
import type { EngineContext } from "./internal/context.js";
import type { Actor } from "./policy.js";
import { clampLimit, notFound, pageOf } from "./storage-kit.js";

export type { MatchOptions, MatchQuery, RunbookMatch } from "./analyzer/match-index.js";

/** The part of the audit log the runbooks API writes to. */
export interface AuditRecorder {
  /** Appends one audit event. */
  record(entry: {
    actor: string;
    action: string;
    objectType: string;
    objectId: string;
    origin?: string | null;
    details?: Record<string, unknown>;
  }): Promise<unknown>;
}

/** Options of {@link RunbooksApi.create}. */
export interface CreateRunbookOptions {
  /** Who uploads it: recorded as `createdBy` and in the audit log. */
  actor: Actor;
  /**
   * The initial status. Default `draft`, or the front matter's `status` when
   * `useFrontMatterStatus` is set. `approved` needs an actor the policy lets approve.
   */
  status?: RunbookStatus;
  /** Honour the front matter's `status` for the initial status (e.g. loading trusted sample runbooks). */
  useFrontMatterStatus?: boolean;
  /** Where the actor acted from, for the audit log. */
  origin?: string;
}

/** What {@link RunbooksApi.create} stored. */
export interface CreatedRunbook {
  /** The stored runbook version. */
  runbook: RunbookRecord;
  /** Its parsed plan. */
  plan: Runbook;
  /** The parser's warnings (the runbook loaded despite them). */
  warnings: Diagnostic[];
  /** False when the same Markdown was already stored under this key: that revision is returned. */
  created: boolean;
}

/** What {@link RunbooksApi.lint} says about Markdown: what an upload would say, nothing stored. */
export interface LintedRunbook {
  /** The parsed plan; null when the Markdown has an error. */
  plan: Runbook | null;
  /** The key it would be stored under (front matter `id`, else the title's slug); null when invalid. */
  key: string | null;
  /** Every error and warning, with line and column (the warnings `create` adds included). */
  diagnostics: Diagnostic[];
}

/** Who changes a runbook's status (approve, retire), for the policy and the audit log. */
export interface LifecycleOptions {
  /** The acting actor; approving needs one the policy lets approve. */
  actor: Actor;
  /** Where the actor acted from, for the audit log. */
  origin?: string;
}

/** Filters of {@link RunbooksApi.list}. */
export interface ListRunbooksQuery {
  /** Only versions in this status. */
  status?: RunbookStatus;
  /** Only versions of this key. */
  key?: string;
  /** Default 50, at most 500. */
  limit?: number;
  /** Keyset cursor: the `nextCursor` of the previous page. */
  cursor?: number;
}

/** One page of a keyset-paginated list. */
export interface Page<T> {
  /** The items of this page, in the list's order. */
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: number | null;
}

/**
 * `engine.runbooks`: store, lint, approve, retire and match Markdown runbooks, one version per
 * revision of a key.
 */
export interface RunbooksApi {
  /** Parses and stores a runbook. Throws RW_ERR_RUNBOOK_INVALID with `details.diagnostics`. */
  create(markdown: string, options: CreateRunbookOptions): Promise<CreatedRunbook>;
  /**
   * Checks Markdown as `create` would, storing, auditing and emitting nothing (for editors, as the
   * author types). Throws RW_ERR_INPUT_INVALID only for what is not text.
   */
  lint(markdown: string): Promise<LintedRunbook>;
  /** Throws RW_ERR_STORAGE_NOT_FOUND. */
  get(id: number): Promise<RunbookRecord>;
  /** Newest first. */
  list(query?: ListRunbooksQuery): Promise<Page<RunbookRecord>>;
  /**
   * Approves a draft: it may now run automatically. Older approved revisions of the same key are
   * retired (superseded). Throws RW_ERR_RUNBOOK_LIFECYCLE, RW_ERR_APPROVAL_FORBIDDEN.
   */
  approve(id: number, options: LifecycleOptions): Promise<RunbookRecord>;
  /** Retires a draft or approved runbook: it is no longer matched or run. */
  retire(id: number, options: LifecycleOptions): Promise<RunbookRecord>;
  /** The parsed plan of a stored runbook (cached by the Markdown's sha256). */
  plan(record: Pick<RunbookRecord, "hash" | "markdown">): Runbook;
  /**
   * Ranks the current runbooks for a ticket (per key: the approved revision, else the newest
   * draft). The index is built from the store on first use and kept up to date afterwards.
   */
  match(query: MatchQuery, options?: MatchOptions): Promise<RunbookMatch[]>;
}

/**
 * The current runbooks as the matching index holds them, for rebuilding the same index elsewhere
 * (an analysis worker thread): each runbook's record and the parts of its plan the index reads,
 * in the order they were last indexed, so an index built by upserting them in turn ranks like
 * this one. `version` changes whenever the index does.
 */
export interface RunbookIndexSnapshot {
  /** Changes with every change of the index: a copy built from an older snapshot is stale. */
  version: number;
  /** The indexed runbooks, least recently (re)indexed first. */
  entries: { record: IndexedRecord; plan: IndexablePlan }[];
}

/** The fields of a runbook record the matching index keeps. */
export type IndexedRecord = Pick<RunbookRecord, "id" | "key" | "revision" | "title" | "status">;

/** The runbooks API with what only the engine's parts use (never exported from the package). */
export interface EngineRunbooks extends RunbooksApi {
  /** The index's version, once it is built (see {@link RunbookIndexSnapshot.version}). */
  indexVersion(): Promise<number>;
  /** The current runbooks as the index holds them (built first if need be). */
  indexSnapshot(): Promise<RunbookIndexSnapshot>;
}

const maxKeyLength = 128;

/** The key a runbook is stored under: its front matter's `id`, else its title's slug. */
function keyOf(runbook: Runbook): string {
  return (runbook.metadata.id?.trim() || slugify(runbook.title)).slice(0, maxKeyLength);
}

/** A runbook's stable key from its title: lower-case words joined by hyphens. */
export function slugify(title: string): string {
  const slug = title
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64)
    .replace(/-+$/, "");
  return slug || "runbook";
}

export function createRunbooksApi(
  ctx: EngineContext,
  deps: {
    audit: AuditRecorder;
    /** The step languages a registered connection runs; undefined when unknown or undeclared. */
    connectionLanguages?: (name: string) => Promise<readonly string[] | undefined>;
  },
): EngineRunbooks {
  const log = ctx.logger.child({ component: "runbooks" });
  const { storage } = ctx;
  const plans = createRunbookCache({ maxEntries: 50_000 });
  const index = new RunbookIndex();
  /** The indexed records, in the order they were last upserted (what a snapshot replays). */
  const indexed = new Map<number, RunbookRecord>();
  let loading: Promise<void> | undefined;
  const topic = "runbooks";

  if (storage.shared) {
    storage.signals.subscribe(topic, (key) => {
      if (loading)
        void ready()
          .then(() => refreshKey(key))
          .catch((err) => log.warn({ err }, "runbook index refresh failed"));
    });
  }

  function plan(record: Pick<RunbookRecord, "hash" | "markdown">): Runbook {
    const result = plans.get(record.hash) ?? plans.parse(record.markdown);
    if (!result.runbook) {
      throw rwError("RW_ERR_RUNBOOK_INVALID", "a stored runbook no longer parses", {
        details: { diagnostics: result.diagnostics },
      });
    }
    return result.runbook;
  }

  async function ready(): Promise<void> {
    loading ??= (async () => {
      const started = performance.now();
      const byKey = new Map<string, RunbookRecord[]>();
      let cursor: number | undefined;
      for (;;) {
        const page = await storage.runbooks.find({
          where: { status: { in: ["draft", "approved"] } },
          order: "asc",
          limit: 1_000,
          ...(cursor === undefined ? {} : { cursor }),
        });
        for (const record of page) {
          const list = byKey.get(record.key);
          if (list) list.push(record);
          else byKey.set(record.key, [record]);
        }
        if (page.length < 1_000) break;
        cursor = page[page.length - 1]?.id;
      }
      for (const records of byKey.values()) {
        const current = pickCurrent(records);
        if (current) indexRecord(current);
      }
      log.debug({ runbooks: index.size, ms: Math.round(performance.now() - started) }, "runbook index built");
    })();
    try {
      await loading;
    } catch (err) {
      loading = undefined;
      throw err;
    }
  }

  function indexRecord(record: RunbookRecord): void {
    try {
      index.upsert(record, plan(record));
      indexed.delete(record.id);
      indexed.set(record.id, record);
    } catch (err) {
      log.warn({ runbookId: record.id, err }, "runbook left out of the index");
    }
  }

  /** Re-reads every revision of a key and indexes its current one (or none). */
  async function refreshKey(key: string): Promise<void> {
    const records = await storage.runbooks.find({ where: { key } });
    for (const record of records) {
      index.remove(record.id);
      indexed.delete(record.id);
    }
    const current = pickCurrent(records);
    if (current) indexRecord(current);
  }

  async function changed(key: string): Promise<void> {
    if (loading) await refreshKey(key);
    if (storage.shared) await storage.signals.publish(topic, key);
  }

  async function get(id: number): Promise<RunbookRecord> {
    const record = await storage.runbooks.get(id);
    if (!record) throw notFound("runbook", id, `runbook ${id} does not exist`);
    return record;
  }

  function assertCanApprove(actor: Actor, what: string): void {
    if (!ctx.policy.canApprove(actor)) {
      throw rwError("RW_ERR_APPROVAL_FORBIDDEN", `${actor.id} may not ${what}: it needs the approver role`, {
        details: { actor: actor.id },
      });
    }
  }

  async function setStatus(
    record: RunbookRecord,
    status: RunbookStatus,
    actor: Actor,
    origin: string | undefined,
    action: "approved" | "retired" | "superseded",
  ): Promise<RunbookRecord> {
    const now = ctx.nowIso();
    const updated = await storage.runbooks.update(record.id, record.version, {
      status,
      updatedAt: now,
      ...(status === "approved" ? { approvedBy: actor.id } : {}),
    });
    await deps.audit.record({
      actor: actor.id,
      action: `runbook.${action}`,
      objectType: "runbook",
      objectId: String(record.id),
      origin: origin ?? null,
      details: { key: record.key, revision: record.revision },
    });
    if (status === "approved")
      ctx.events.emit("runbook:approved", { runbookId: record.id, key: record.key, actor: actor.id });
    else ctx.events.emit("runbook:retired", { runbookId: record.id, key: record.key, actor: actor.id });
    log.info(
      { runbookId: record.id, key: record.key, revision: record.revision, status },
      `runbook ${action}`,
    );
    return updated;
  }

  /** Retires approved revisions of `key` other than `keep`. */
  async function supersede(
    key: string,
    keep: number,
    actor: Actor,
    origin: string | undefined,
  ): Promise<void> {
    const approved = await storage.runbooks.find({ where: { key, status: "approved" } });
    for (const older of approved)
      if (older.id !== keep) await setStatus(older, "retired", actor, origin, "superseded");
  }

  /**
   * `runbook/connection-language`: a step that declares a language its named connection (the
   * step's or the front matter's) does not run would be refused when it runs; say so now.
   */
  async function languageWarnings(runbook: Runbook): Promise<Diagnostic[]> {
    const lookup = deps.connectionLanguages;
    if (!lookup) return [];
    const out: Diagnostic[] = [];
    const steps = Object.values(runbook.phases).flat();
    for (const step of steps) {
      const name = step.connection ?? runbook.metadata.connection;
      if (name === undefined || step.languageDeclared !== true) continue;
      const languages = await lookup(name).catch(() => undefined);
      if (!languages || languages.length === 0 || languages.includes(step.language)) continue;
      out.push({
        severity: "warning",
        ruleId: "runbook/connection-language",
        message: `step "${step.name}" is written as ${step.language}, but connection "${name}" runs ${languages.join(", ")} steps: it will be refused; write it as a \`\`\`${languages[0]} fence or name another connection`,
        line: step.position.line,
        column: step.position.column,
      });
    }
    return out;
  }

  return {
    async create(markdown, options) {
      const { actor } = options;
      if (typeof markdown !== "string") {
        throw rwError("RW_ERR_INPUT_INVALID", "a runbook is Markdown text", {
          details: { fields: [{ field: "markdown", message: "expected a string" }] },
        });
      }
      const result = plans.parse(markdown);
      if (!result.runbook) {
        const errors = result.diagnostics.filter((d) => d.severity === "error").length;
        throw rwError(
          "RW_ERR_RUNBOOK_INVALID",
          `runbook is invalid (${errors} error${errors === 1 ? "" : "s"})`,
          {
            details: { diagnostics: result.diagnostics },
          },
        );
      }
      const parsed = result.runbook;
      const warnings = result.diagnostics.filter((d) => d.severity === "warning");
      warnings.push(...(await languageWarnings(parsed)));
      const key = keyOf(parsed);
      const status: RunbookStatus =
        options.status ?? (options.useFrontMatterStatus ? (parsed.metadata.status ?? "draft") : "draft");
      if (status === "approved") assertCanApprove(actor, "create an approved runbook");
      const hash = hashRunbook(markdown);

      const revisions = await storage.runbooks.find({ where: { key }, order: "desc" });
      const same = revisions.find((r) => r.hash === hash && r.status !== "retired");
      if (same) {
        return { runbook: same, plan: parsed, warnings, created: false };
      }
      const now = ctx.nowIso();
      const runbook = await storage.runbooks.insert({
        key,
        revision: (revisions[0]?.revision ?? 0) + 1,
        title: parsed.title,
        status,
        markdown,
        hash,
        createdAt: now,
        updatedAt: now,
        createdBy: actor.id,
        approvedBy: status === "approved" ? actor.id : null,
      });
      await deps.audit.record({
        actor: actor.id,
        action: "runbook.created",
        objectType: "runbook",
        objectId: String(runbook.id),
        origin: options.origin ?? null,
        details: { key, revision: runbook.revision, status, hash },
      });
      ctx.events.emit("runbook:created", { runbookId: runbook.id, key, revision: runbook.revision, status });
      log.info({ runbookId: runbook.id, key, revision: runbook.revision, status }, "runbook created");
      if (status === "approved") await supersede(key, runbook.id, actor, options.origin);
      await changed(key);
      return { runbook, plan: parsed, warnings, created: true };
    },

    async lint(markdown) {
      if (typeof markdown !== "string") {
        throw rwError("RW_ERR_INPUT_INVALID", "a runbook is Markdown text", {
          details: { fields: [{ field: "markdown", message: "expected a string" }] },
        });
      }
      // Not through the cache: text being typed would push stored runbooks' plans out of it.
      const result = parseRunbook(markdown);
      if (!result.runbook) return { plan: null, key: null, diagnostics: result.diagnostics };
      return {
        plan: result.runbook,
        key: keyOf(result.runbook),
        diagnostics: [...result.diagnostics, ...(await languageWarnings(result.runbook))],
      };
    },

    get,

    async list(query = {}) {
      const limit = clampLimit(query.limit);
      const where: { status?: RunbookStatus; key?: string } = {};
      if (query.status) where.status = query.status;
      if (query.key) where.key = query.key;
      const items = await storage.runbooks.find({
        where,
        order: "desc",
        limit: limit + 1,
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      });
      return pageOf(items, limit);
    },

    async approve(id, { actor, origin }) {
      assertCanApprove(actor, "approve a runbook");
      const record = await get(id);
      if (record.status !== "draft") {
        throw rwError(
          "RW_ERR_RUNBOOK_LIFECYCLE",
          record.status === "approved"
            ? `runbook ${id} is already approved`
            : `runbook ${id} is retired and cannot be approved; upload it again as a new revision`,
          { details: { id, status: record.status } },
        );
      }
      const newer = (await storage.runbooks.find({ where: { key: record.key, status: "approved" } })).find(
        (r) => r.revision > record.revision,
      );
      if (newer) {
        throw rwError(
          "RW_ERR_RUNBOOK_LIFECYCLE",
          `runbook ${id} is revision ${record.revision} of "${record.key}", but revision ${newer.revision} is already approved; upload a new revision instead`,
          { details: { id, status: record.status, approvedRevision: newer.revision } },
        );
      }
      plan(record);
      const updated = await setStatus(record, "approved", actor, origin, "approved");
      await supersede(record.key, id, actor, origin);
      await changed(record.key);
      return updated;
    },

    async retire(id, { actor, origin }) {
      const record = await get(id);
      if (record.status === "retired") {
        throw rwError("RW_ERR_RUNBOOK_LIFECYCLE", `runbook ${id} is already retired`, {
          details: { id, status: record.status },
        });
      }
      const updated = await setStatus(record, "retired", actor, origin, "retired");
      await changed(record.key);
      return updated;
    },

    plan,

    async match(query, options) {
      await ready();
      return index.match(query, options);
    },

    async indexVersion() {
      await ready();
      return index.version;
    },

    async indexSnapshot() {
      await ready();
      const entries: RunbookIndexSnapshot["entries"] = [];
      for (const record of indexed.values()) {
        const { id, key, revision, title, status } = record;
        entries.push({ record: { id, key, revision, title, status }, plan: indexablePlan(plan(record)) });
      }
      return { version: index.version, entries };
    },
  };
}

/** The parts of a plan the matching index reads, copied (a compact message to a worker thread). */
function indexablePlan(runbook: Runbook): IndexablePlan {
  const { autoExecute, match } = runbook.metadata;
  const phases: IndexablePlan["phases"] = {};
  for (const [phase, steps] of Object.entries(runbook.phases)) {
    phases[phase] = steps.map(({ name, command, description }) =>
      description === undefined ? { name, command } : { name, command, description },
    );
  }
  return {
    title: runbook.title,
    ...(runbook.description === undefined ? {} : { description: runbook.description }),
    metadata: {
      ...(autoExecute === undefined ? {} : { autoExecute }),
      ...(match === undefined ? {} : { match }),
    },
    phases,
  };
}

/** Per key: the newest approved revision, else the newest draft; never a retired one. */
function pickCurrent(records: readonly RunbookRecord[]): RunbookRecord | undefined {
  let best: RunbookRecord | undefined;
  for (const r of records) {
    if (r.status === "retired") continue;
    if (
      !best ||
      (r.status === "approved" && best.status !== "approved") ||
      (r.status === best.status && r.revision > best.revision)
    ) {
      best = r;
    }
  }
  return best;
}
