/**
 * `testTicketingIdempotency(definition, options)`: contract checks for a ticketing connector's
 * idempotency, against a live target (a vendor fake the connector's tests start). The engine's
 * outbox retries create/update/comment after a crash or timeout with the same idempotency key, so
 * a retry must never duplicate a remote ticket or note.
 */
import type { ConnectorDefinition, RemoteTicketRef, Ticket, TicketingConnector } from "@runwarden/core";
import { beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { createTestContext } from "./context.js";

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
  let instance: TicketingConnector;
  const signal = () => AbortSignal.timeout(10_000);
  const key = `contract-${Math.random().toString(36).slice(2, 10)}`;

  describe(`ticketing idempotency contract: ${definition.name}`, () => {
    beforeAll(async () => {
      const { ctx } = createTestContext();
      instance = await definition.create(definition.configSchema.parse(options.config()), ctx);
    });

    it("returns the same remote ticket when create is retried with the same key", async () => {
      const before = await options.countTickets?.();
      const first = await instance.create(options.ticket, {
        idempotencyKey: `${key}-create`,
        signal: signal(),
      });
      const again = await instance.create(options.ticket, {
        idempotencyKey: `${key}-create`,
        signal: signal(),
      });
      expect(again.externalId).toBe(first.externalId);
      if (before !== undefined) expect(await options.countTickets!()).toBe(before + 1);
    });

    it("adds a comment once when it is retried with the same key", async () => {
      const ref = await instance.create(options.ticket, {
        idempotencyKey: `${key}-create`,
        signal: signal(),
      });
      const before = await options.countComments?.(ref);
      await instance.comment(ref, "contract note", { idempotencyKey: `${key}-note`, signal: signal() });
      await instance.comment(ref, "contract note", { idempotencyKey: `${key}-note`, signal: signal() });
      if (before !== undefined) expect(await options.countComments!(ref)).toBe(before + 1);
    });

    it("accepts an update retried with the same key", async () => {
      const ref = await instance.create(options.ticket, {
        idempotencyKey: `${key}-create`,
        signal: signal(),
      });
      await instance.update(
        ref,
        { status: "resolved" },
        { idempotencyKey: `${key}-update`, signal: signal() },
      );
      await instance.update(
        ref,
        { status: "resolved" },
        { idempotencyKey: `${key}-update`, signal: signal() },
      );
    });

    it("returns a cursor from pullChanges that does not repeat what it returned", async () => {
      if (!instance.pullChanges) return;
      const first = await instance.pullChanges({ signal: signal() });
      expect(typeof first.cursor).toBe("string");
      const second = await instance.pullChanges({ cursor: first.cursor, signal: signal() });
      const seen = new Set(first.changes.map((c) => `${c.externalId}@${c.updatedAt}`));
      for (const change of second.changes)
        expect(seen.has(`${change.externalId}@${change.updatedAt}`)).toBe(false);
    });
  });
}
