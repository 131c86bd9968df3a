/**
 * The append-only audit log: who did what to which object, when, from where. Every decision,
 * start, cancel and retry of an execution, every credential and connection change and every
 * runbook lifecycle change is recorded here.
 */
import type { AuditEvent } from "./domain.js";
import type { EngineContext } from "./internal/context.js";
import type { Actor } from "./policy.js";
import type { NewDoc } from "./storage.js";
import { clampLimit, pageOf } from "./storage-kit.js";
import { isSecretFieldName } from "./vault.js";

/** What to record. `actor` is an actor id or an `Actor` (its id is recorded). */
export interface AuditRecordInput {
  /** Who acted: an actor id, or an actor. */
  actor: string | Pick<Actor, "id">;
  /** `noun.verb`, e.g. `approval.approved`, `credential.created`. */
  action: string;
  /** The kind of object acted on (`ticket`, `session`, `credential`, …). */
  objectType: string;
  /** The object's id. */
  objectId: string | number;
  /** Where the actor acted from (an IP, "engine", "cli"). */
  origin?: string | null;
  /** Plain JSON context. Fields whose name marks a secret are masked before they are stored. */
  details?: Record<string, unknown>;
}

/** Filters and paging of {@link AuditLog.list}. */
export interface AuditListOptions {
  /** Only events on this kind of object. */
  objectType?: string;
  /** Only events on this object (with `objectType`). */
  objectId?: string | number;
  /** Only events by this actor id. */
  actor?: string;
  /** Only events of this action (`approval.approved`). */
  action?: string;
  /** Default 100, at most 1,000. */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: number;
  /** Default `desc` (newest first). */
  order?: "asc" | "desc";
}

/** One page of audit events. */
export interface AuditPage {
  /** The events of this page, in the requested order. */
  items: AuditEvent[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: number | null;
}

/** `engine.audit`: the append-only audit log. */
export interface AuditLog {
  /** Appends one event. */
  record(input: AuditRecordInput): Promise<AuditEvent>;
  /** Lists events, newest first unless `order: "asc"`. */
  list(options?: AuditListOptions): Promise<AuditPage>;
}

const masked = "********";

/** Creates the audit log over the engine's store. */
export function createAuditLog(ctx: EngineContext): AuditLog {
  const log = ctx.logger.child({ component: "audit" });
  return {
    async record(input) {
      const event = await ctx.storage.audit.insert(auditDoc(input, ctx.nowIso()));
      log.debug({ auditId: event.id, action: event.action, objectType: event.objectType }, "audit recorded");
      return event;
    },
    async list(options = {}) {
      const limit = clampLimit(options.limit, 100, 1000);
      const items = await ctx.storage.audit.find({
        where: {
          ...(options.objectType !== undefined ? { objectType: options.objectType } : {}),
          ...(options.objectId !== undefined ? { objectId: String(options.objectId) } : {}),
          ...(options.actor !== undefined ? { actor: options.actor } : {}),
          ...(options.action !== undefined ? { action: options.action } : {}),
        },
        order: options.order ?? "desc",
        ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
        limit: limit + 1,
      });
      return pageOf(items, limit);
    },
  };
}

/**
 * The audit event `record` stores for `input` at `at`: for writers that store it together with
 * the change it describes, in one `Storage.batch`.
 */
export function auditDoc(input: AuditRecordInput, at: string): NewDoc<AuditEvent> {
  return {
    at,
    actor: typeof input.actor === "string" ? input.actor : input.actor.id,
    action: input.action,
    objectType: input.objectType,
    objectId: String(input.objectId),
    origin: input.origin ?? null,
    details: maskSecrets(input.details ?? {}) as Record<string, unknown>,
  };
}

/** A deep copy in which every field named like a secret holds `********`. */
export function maskSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] =
      isSecretFieldName(key) && item !== null && item !== undefined ? masked : maskSecrets(item, depth + 1);
  }
  return out;
}
