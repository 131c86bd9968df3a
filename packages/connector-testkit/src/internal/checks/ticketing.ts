/** Ticketing idempotency: contract/idempotent-create, -comment, -update and contract/pull-changes-cursor. */
import type { RemoteTicketRef, Ticket } from "@runwarden/core";
import type { Harness } from "../harness.js";
import { violation } from "../violation.js";
import { caught, describeError } from "./shared.js";

export interface IdempotencyTarget {
  ticket: Ticket;
  countTickets?: () => Promise<number> | number;
  countComments?: (ref: RemoteTicketRef) => Promise<number> | number;
}

const slowSignal = () => AbortSignal.timeout(10_000);

/** contract/idempotent-create: create retried with the same key returns the same remote ticket, made once. */
export async function checkIdempotentCreate(
  h: Harness<"ticketing">,
  target: IdempotencyTarget,
  key: string,
): Promise<RemoteTicketRef> {
  const before = await target.countTickets?.();
  const first = await h.instance.create(target.ticket, { idempotencyKey: key, signal: slowSignal() });
  const again = await h.instance.create(target.ticket, { idempotencyKey: key, signal: slowSignal() });
  if (again.externalId !== first.externalId)
    violation(
      "contract/idempotent-create",
      `a retried create returned ${again.externalId}, the first ${first.externalId}`,
    );
  if (before !== undefined) {
    const after = await target.countTickets!();
    if (after !== before + 1)
      violation(
        "contract/idempotent-create",
        `a retried create made ${after - before} remote tickets, not 1`,
      );
  }
  return first;
}

/** contract/idempotent-comment: a comment retried with the same key is added once. */
export async function checkIdempotentComment(
  h: Harness<"ticketing">,
  target: IdempotencyTarget,
  key: string,
): Promise<void> {
  const ref = await h.instance.create(target.ticket, {
    idempotencyKey: `${key}-create`,
    signal: slowSignal(),
  });
  const before = await target.countComments?.(ref);
  await h.instance.comment(ref, "contract note", { idempotencyKey: `${key}-note`, signal: slowSignal() });
  await h.instance.comment(ref, "contract note", { idempotencyKey: `${key}-note`, signal: slowSignal() });
  if (before !== undefined) {
    const after = await target.countComments!(ref);
    if (after !== before + 1)
      violation("contract/idempotent-comment", `a retried comment added ${after - before} notes, not 1`);
  }
}

/** contract/idempotent-update: an update retried with the same key is accepted. */
export async function checkIdempotentUpdate(
  h: Harness<"ticketing">,
  target: IdempotencyTarget,
  key: string,
): Promise<void> {
  const ref = await h.instance.create(target.ticket, {
    idempotencyKey: `${key}-create`,
    signal: slowSignal(),
  });
  for (let attempt = 0; attempt < 2; attempt++) {
    const error = await caught(() =>
      h.instance.update(
        ref,
        { status: "resolved" },
        { idempotencyKey: `${key}-update`, signal: slowSignal() },
      ),
    );
    if (error !== undefined)
      violation(
        "contract/idempotent-update",
        `update attempt ${attempt + 1} with the same key failed: ${describeError(error)}`,
      );
  }
}

/** contract/pull-changes-cursor: pullChanges returns a cursor after which it repeats nothing. */
export async function checkPullChangesCursor(h: Harness<"ticketing">): Promise<void> {
  const pull = h.instance.pullChanges;
  if (typeof pull !== "function")
    violation("contract/capability-method", "the instance has no pullChanges()");
  const first = await pull.call(h.instance, { signal: slowSignal() });
  if (typeof first.cursor !== "string")
    violation("contract/pull-changes-cursor", "pullChanges returned no string cursor");
  const second = await pull.call(h.instance, { cursor: first.cursor, signal: slowSignal() });
  const seen = new Set(first.changes.map((c) => `${c.externalId}@${c.updatedAt}`));
  for (const change of second.changes)
    if (seen.has(`${change.externalId}@${change.updatedAt}`))
      violation(
        "contract/pull-changes-cursor",
        `pullChanges after the cursor repeated ${change.externalId}@${change.updatedAt}`,
      );
}
