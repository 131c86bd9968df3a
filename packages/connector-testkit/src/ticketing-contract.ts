/**
 * `testTicketingIdempotency(definition, options)`: contract checks for a ticketing connector's
 * idempotency, against a live target (a vendor fake the connector's tests start). The engine's
 * outbox retries create/update/comment after a crash or timeout with the same idempotency key, so
 * a retry must never duplicate a remote ticket or note. Each check belongs to a capability and is
 * skipped when the connector does not declare it.
 */
import type { ConnectorCapability, ConnectorDefinition, RemoteTicketRef, Ticket } from "@runwarden/core";
import { afterAll, beforeAll, describe, it, type TestContext } from "vitest";
import type { z } from "zod";
import {
  checkIdempotentComment,
  checkIdempotentCreate,
  checkIdempotentUpdate,
  checkPullChangesCursor,
  type IdempotencyTarget,
} from "./internal/checks/index.js";
import { type Harness, registerForContract } from "./internal/harness.js";

/**
 * Options of {@link testTicketingIdempotency}: a config for a live target, a ticket to create and
 * counters that reveal duplicates.
 */
export interface TicketingIdempotencyOptions<S extends z.ZodType = z.ZodType> {
  /** A config pointing at a live target; read when the suite starts (after the fake is up). */
  config: () => z.input<S>;
  /** The ticket to create remotely. */
  ticket: Ticket;
  /** How many notes the remote ticket holds: lets the suite see a duplicated comment. */
  countComments?: (ref: RemoteTicketRef) => Promise<number> | number;
  /** How many remote tickets exist: lets the suite see a duplicated create. */
  countTickets?: () => Promise<number> | number;
}

/** Registers the idempotency contract for a ticketing connector. */
export function testTicketingIdempotency<S extends z.ZodType>(
  definition: ConnectorDefinition<"ticketing", S>,
  options: TicketingIdempotencyOptions<S>,
): void {
  const key = `contract-${Math.random().toString(36).slice(2, 10)}`;
  const declared = new Set<string>(definition.capabilities);
  const target: IdempotencyTarget = options;
  let harness: Harness<"ticketing"> | undefined;
  let refused: unknown;
  const subject = (ctx: TestContext, ...capabilities: ConnectorCapability<"ticketing">[]) => {
    for (const capability of capabilities)
      if (!declared.has(capability))
        ctx.skip(`${definition.name} does not declare capability "${capability}"`);
    if (!harness) throw refused ?? new Error("the connector was not registered");
    return harness;
  };

  describe(`ticketing idempotency contract: ${definition.name}`, () => {
    beforeAll(async () => {
      try {
        harness = await registerForContract(definition as ConnectorDefinition<"ticketing">, options.config());
      } catch (error) {
        refused = error;
      }
    });
    afterAll(async () => {
      await harness?.close();
    });

    it("create: returns the same remote ticket, made once, when create is retried with the same key", async (ctx) => {
      await checkIdempotentCreate(subject(ctx, "create"), target, `${key}-create`);
    });

    it("comment: adds a comment once when it is retried with the same key", (ctx) =>
      checkIdempotentComment(subject(ctx, "create", "comment"), target, key));

    it("update: accepts an update retried with the same key", (ctx) =>
      checkIdempotentUpdate(subject(ctx, "create", "update"), target, key));

    it("pull-changes: returns a cursor after which it repeats nothing", (ctx) =>
      checkPullChangesCursor(subject(ctx, "pull-changes")));
  });
}
