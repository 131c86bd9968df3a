/**
 * Runwarden with no HTTP at all: a worker consumes alerts from the team's queue, ingests them as
 * tickets (the engine matches and starts runbooks), posts each approval request to the team's
 * chat outbox, and applies the decisions people send back, all through the SDK.
 *
 * The queue here is a small in-process one ({@link MemoryQueue}); the worker only needs
 * `consume(handler)` and `close()`, so an SQS, Kafka or Redis consumer fits the same way.
 */
import { randomBytes } from "node:crypto";
import {
  type Actor,
  createEngine,
  type Engine,
  type Logger,
  localConnector,
  rwError,
  type TicketInput,
} from "@runwarden/core";
import { createPostgresStorage } from "@runwarden/storage-postgres";

/** A message on the team's queue: an alert to ingest, or a decision on an approval. */
export type Message =
  | { type: "alert"; body: unknown }
  | { type: "decision"; approvalId: number; approve: boolean; by: string; comment?: string };

/** The part of a queue consumer the worker uses. */
export interface Queue<T> {
  /** Calls `handler` for each message, one at a time; a throw dead-letters that message. */
  consume(handler: (message: T) => Promise<void>): void;
  /** Stops delivering new messages and resolves once the one being handled is done. */
  close(): Promise<void>;
}

/** An in-process queue: what the tests and the demo use. */
export class MemoryQueue<T> implements Queue<T> {
  private readonly items: T[] = [];
  private handler: ((message: T) => Promise<void>) | undefined;
  private busy: Promise<void> = Promise.resolve();
  private closed = false;
  readonly deadLetters: { message: T; error: unknown }[] = [];

  publish(message: T): void {
    if (this.closed) throw new Error("the queue is closed");
    this.items.push(message);
    this.pump();
  }

  consume(handler: (message: T) => Promise<void>): void {
    this.handler = handler;
    this.pump();
  }

  /** Resolves when every message published so far has been handled. */
  async idle(): Promise<void> {
    while (this.items.length > 0 || this.running) await this.busy;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.busy;
  }

  private running = false;
  private pump(): void {
    if (this.running || !this.handler) return;
    this.running = true;
    const handler = this.handler;
    this.busy = (async () => {
      while (!this.closed && this.items.length > 0) {
        const message = this.items.shift()!;
        try {
          await handler(message);
        } catch (error) {
          this.deadLetters.push({ message, error });
        }
      }
      this.running = false;
    })();
  }
}

/** Where approval requests go (the team's chat, pager, …). */
export type ApprovalRequestSink = (request: {
  approvalId: number;
  ticketId: number;
  risk: string;
  command: string;
}) => void | Promise<void>;

export interface WorkerOptions {
  databaseUrl: string;
  logger: Logger;
  queue: Queue<Message>;
  notify: ApprovalRequestSink;
  /** Who may decide approvals from the queue, and with which Runwarden roles. */
  approvers: Record<string, Actor["roles"]>;
  vaultKey?: Buffer;
}

export interface Worker {
  engine: Engine;
  /** Stops consuming, lets the step in flight finish, closes the store. */
  shutdown(): Promise<void>;
}

/** The actor alerts are ingested as (and so the one who "caused" auto-executions). */
export const queueActor = "queue:alerts";

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { logger, queue } = options;
  const engine = await createEngine({
    storage: await createPostgresStorage({ connectionString: options.databaseUrl, logger }),
    logger,
    vault: { key: options.vaultKey ?? randomBytes(32) },
    connectors: [{ connector: localConnector, config: { env: { SERVICE: "orders" } } }],
  });
  engine.events.on("approval:requested", (event) => {
    engine.approvals
      .get(event.approvalId)
      .then((approval) =>
        options.notify({
          approvalId: approval.id,
          ticketId: event.ticketId,
          risk: approval.risk,
          command: approval.renderedCommand,
        }),
      )
      .catch((err: unknown) =>
        logger.error({ err, approvalId: event.approvalId }, "approval request not sent"),
      );
  });
  await engine.start();

  queue.consume(async (message) => {
    if (message.type === "alert") {
      // ingest validates with core's own schema: hostile input is refused with RW_ERR_INPUT_INVALID.
      const { ticket, deduplicated } = await engine.tickets.ingest(message.body as TicketInput, {
        submittedBy: queueActor,
      });
      logger.info(
        { ticketId: ticket.id, deduplicated, decision: ticket.analysis?.decision.action },
        "alert ingested",
      );
      return;
    }
    const roles = Object.hasOwn(options.approvers, message.by) ? options.approvers[message.by] : undefined;
    if (!roles) {
      throw rwError("RW_ERR_AUTH_FORBIDDEN", `${message.by} may not decide approvals`);
    }
    const actor: Actor = { id: message.by, roles };
    const decision = { actor, origin: "queue", ...(message.comment ? { comment: message.comment } : {}) };
    const approval = message.approve
      ? await engine.approvals.approve(message.approvalId, decision)
      : await engine.approvals.reject(message.approvalId, decision);
    logger.info({ approvalId: approval.id, status: approval.status, by: actor.id }, "approval decided");
  });

  let closing: Promise<void> | undefined;
  return {
    engine,
    shutdown() {
      closing ??= (async () => {
        logger.info({}, "shutting down: draining steps in flight");
        await queue.close();
        await engine.close();
      })();
      return closing;
    },
  };
}
