/**
 * Runwarden with no HTTP at all: a worker consumes alerts from the team's queue, ingests them as
 * tickets (the engine matches and starts runbooks), posts each approval request to the team's
 * chat outbox, and applies the decisions people send back, all through the SDK.
 *
 * The queues here are a small in-process one ({@link MemoryQueue}) and newline-delimited JSON on a
 * stream ({@link LineQueue}, what `main.ts` reads from stdin); the worker only needs
 * `consume(handler)` and `close()`, so an SQS, Kafka or Redis consumer fits the same way.
 */
import { randomBytes } from "node:crypto";
import { createInterface, type Interface } from "node:readline";
import type { Readable } from "node:stream";
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

/** A message that could not be handled: its line as read, and why. */
export interface DeadLine {
  line: string;
  error: unknown;
}

/**
 * A queue read from a stream of newline-delimited JSON (stdin, a pipe, a socket): one message a
 * line, handled one at a time in order. A line that is not JSON, or whose handler throws, is
 * dead-lettered (`deadLetters`, and `onDeadLetter` when given). `close()` stops reading; lines
 * read but not yet handled are dropped (a real broker would redeliver them).
 *
 * @example
 * ```ts
 * const queue = new LineQueue<Message>(process.stdin, { onDeadLetter: (d) => logger.warn(d) });
 * ```
 */
export class LineQueue<T> implements Queue<T> {
  readonly deadLetters: DeadLine[] = [];
  private lines: Interface | undefined;
  private busy: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly input: Readable,
    private readonly options: {
      parse?: (line: string) => T;
      onDeadLetter?: (dead: DeadLine) => void;
    } = {},
  ) {}

  consume(handler: (message: T) => Promise<void>): void {
    if (this.lines) throw new Error("the queue already has a consumer");
    const parse = this.options.parse ?? ((line: string) => JSON.parse(line) as T);
    this.lines = createInterface({ input: this.input, crlfDelay: Number.POSITIVE_INFINITY });
    this.lines.on("line", (line) => {
      if (this.closed || line.trim() === "") return;
      this.busy = this.busy.then(async () => {
        if (this.closed) return;
        try {
          await handler(parse(line));
        } catch (error) {
          const dead = { line: line.slice(0, 1_000), error };
          this.deadLetters.push(dead);
          this.options.onDeadLetter?.(dead);
        }
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.lines?.close();
    await this.busy;
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
  /**
   * Runbooks (Markdown) stored before the queue is consumed, approved unless their front matter
   * says `status: draft`. Markdown stored already is not stored again, so a restart changes nothing.
   */
  runbooks?: readonly string[];
}

export interface Worker {
  engine: Engine;
  /** Stops consuming, lets the step in flight finish, closes the store. */
  shutdown(): Promise<void>;
}

/** The actor alerts are ingested as (and so the one who "caused" auto-executions). */
export const queueActor = "queue:alerts";

/** The actor the worker stores its runbooks as. */
export const runbookAuthor: Actor = { id: "worker:runbooks", roles: ["admin"] };

/**
 * Starts the engine on PostgreSQL, stores `runbooks`, then consumes `queue`: alerts are ingested,
 * decisions applied as the named approver; approval requests go to `notify`.
 */
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
  for (const markdown of options.runbooks ?? []) {
    const { runbook, created } = await engine.runbooks.create(markdown, {
      actor: runbookAuthor,
      useFrontMatterStatus: true,
      origin: "worker",
    });
    logger.info(
      { runbookId: runbook.id, key: runbook.key, status: runbook.status, created },
      "runbook loaded",
    );
  }

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
