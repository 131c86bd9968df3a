/**
 * A fake Zendesk for tests: the Tickets API (create, show by external_id, update with a comment),
 * ticket comments with cursor pagination, the cursor-based incremental ticket export and
 * `/users/me`. It enforces what the documentation says a client sends — the Basic
 * `{email}/token:{token}` or Bearer authorization, `Content-Type: application/json` on writes, the
 * `{ ticket: {...} }` envelope with documented fields and enum values only — and refuses anything
 * else the way Zendesk does (401, 415, 422 RecordInvalid). Every answer carries `x-rate-limit`
 * and `x-rate-limit-remaining`.
 */
import {
  type FakeRequest,
  type FakeResponse,
  type FakeServer,
  fakeServer,
} from "@runwarden/connector-testkit";
import { z } from "zod";

export interface FakeComment {
  id: number;
  body: string;
  public: boolean;
  created_at: string;
}

export interface FakeTicket {
  id: number;
  external_id: string | null;
  subject: string;
  description: string;
  status: "new" | "open" | "pending" | "hold" | "solved" | "closed";
  priority: "urgent" | "high" | "normal" | "low" | null;
  type: "problem" | "incident" | "question" | "task" | null;
  tags: string[];
  group_id: number | null;
  requester_id: number;
  created_at: string;
  updated_at: string;
  comments: FakeComment[];
  /** The change sequence of the last update (the export's order). */
  seq: number;
}

export interface FakeZendesk {
  server: FakeServer;
  url: string;
  tickets: FakeTicket[];
  /** The instance's time (ISO); bump it to order updates. */
  clock: { now: string };
  /** What the next answers report as `x-rate-limit-remaining`. */
  rateLimit: { limit: number; remaining: number };
  /** Answer the next n API calls with this response instead. */
  failNext(n: number, response: FakeResponse): void;
  /** A change made by a person in Zendesk (status, subject…): bumps updated_at and the export sequence. */
  touch(
    id: number,
    change: Partial<Pick<FakeTicket, "status" | "subject" | "priority" | "tags" | "group_id">>,
  ): void;
  /** A ticket opened by someone else (an end user, an agent). */
  open(ticket: Partial<FakeTicket> & { subject: string }): FakeTicket;
  close(): Promise<void>;
}

const Status = z.enum(["new", "open", "pending", "hold", "solved", "closed"]);
const Priority = z.enum(["urgent", "high", "normal", "low"]);
const Type = z.enum(["problem", "incident", "question", "task"]);
const Comment = z.strictObject({
  body: z.string().min(1).optional(),
  html_body: z.string().min(1).optional(),
  public: z.boolean().optional(),
});
const Tag = z.string().regex(/^[^\s,]+$/);
/** The documented ticket properties a client may write; anything else is refused. */
const TicketWrite = z.strictObject({
  subject: z.string().max(255).optional(),
  comment: Comment.optional(),
  priority: Priority.nullable().optional(),
  type: Type.nullable().optional(),
  status: Status.optional(),
  tags: z.array(Tag).optional(),
  external_id: z.string().max(255).nullable().optional(),
  requester_id: z.number().int().positive().optional(),
  assignee_id: z.number().int().positive().nullable().optional(),
  group_id: z.number().int().positive().nullable().optional(),
  custom_status_id: z.number().int().positive().optional(),
  custom_fields: z.array(z.object({ id: z.number(), value: z.unknown() })).optional(),
  due_at: z.string().nullable().optional(),
});

const epoch = (iso: string) => Math.floor(Date.parse(iso) / 1000);

function cursorOf(seq: number): string {
  return Buffer.from(`${seq}.0||rw`).toString("base64");
}
function seqOf(cursor: string): number | undefined {
  const match = /^(\d+)\.0\|\|rw$/.exec(Buffer.from(cursor, "base64").toString("utf8"));
  return match ? Number(match[1]) : undefined;
}

export async function fakeZendesk(options: {
  auth: "token" | "oauth";
  email?: string;
  token?: string;
  accessToken?: string;
}): Promise<FakeZendesk> {
  let failures: { left: number; response: FakeResponse } = { left: 0, response: {} };
  let nextId = 35_436;
  let nextComment = 2_127_301_163;
  let seq = 0;
  const state: FakeZendesk = {
    server: undefined as unknown as FakeServer,
    url: "",
    tickets: [],
    clock: { now: "2025-05-14T09:00:00Z" },
    rateLimit: { limit: 700, remaining: 699 },
    failNext(n, response) {
      failures = { left: n, response };
    },
    touch(id, change) {
      const ticket = state.tickets.find((t) => t.id === id);
      if (!ticket) throw new Error(`no fake ticket ${id}`);
      Object.assign(ticket, change, { updated_at: state.clock.now, seq: ++seq });
    },
    open(ticket) {
      const made: FakeTicket = {
        id: nextId++,
        external_id: null,
        description: "",
        status: "new",
        priority: null,
        type: null,
        tags: [],
        group_id: null,
        requester_id: 20_978_392,
        created_at: state.clock.now,
        updated_at: state.clock.now,
        comments: [],
        ...ticket,
        seq: ++seq,
      };
      if (made.description)
        made.comments.push({
          id: nextComment++,
          body: made.description,
          public: true,
          created_at: state.clock.now,
        });
      state.tickets.push(made);
      return made;
    },
    close: () => state.server.close(),
  };

  const rateHeaders = () => ({
    "x-rate-limit": String(state.rateLimit.limit),
    "x-rate-limit-remaining": String(Math.max(0, state.rateLimit.remaining)),
  });

  function authorized(req: FakeRequest): boolean {
    const header = req.headers.authorization ?? "";
    if (options.auth === "token") {
      return header === `Basic ${Buffer.from(`${options.email}/token:${options.token}`).toString("base64")}`;
    }
    return header === `Bearer ${options.accessToken}`;
  }

  /** Auth, injected failures, and (for writes) the JSON content type. */
  function guard(req: FakeRequest): FakeResponse | undefined {
    if (!authorized(req)) return { status: 401, body: { error: "Couldn't authenticate you" } };
    if (failures.left > 0) {
      failures.left--;
      return failures.response;
    }
    if (
      (req.method === "POST" || req.method === "PUT") &&
      !/^application\/json\b/.test(req.headers["content-type"] ?? "")
    ) {
      return { status: 415, body: { error: "Unsupported Media Type" } };
    }
    return undefined;
  }

  function ok(body: unknown, status = 200, headers: Record<string, string> = {}): FakeResponse {
    return { status, headers: { ...rateHeaders(), ...headers }, body };
  }

  function invalid(message: string): FakeResponse {
    return ok(
      {
        error: "RecordInvalid",
        description: "Record validation errors",
        details: { base: [{ description: message }] },
      },
      422,
    );
  }

  function view(t: FakeTicket) {
    const { comments: _c, seq: _s, ...rest } = t;
    return {
      ...rest,
      url: `${state.url}/api/v2/tickets/${t.id}.json`,
      generated_timestamp: epoch(t.updated_at),
    };
  }

  function write(req: FakeRequest): z.infer<typeof TicketWrite> | FakeResponse {
    let parsed: unknown;
    try {
      parsed = req.json();
    } catch {
      return ok({ error: "Unprocessable Entity", description: "Body is not JSON" }, 400);
    }
    const envelope = z.strictObject({ ticket: TicketWrite }).safeParse(parsed);
    if (!envelope.success)
      return invalid(envelope.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    const { comment } = envelope.data.ticket;
    if (comment && comment.body === undefined && comment.html_body === undefined)
      return invalid("comment: body is required");
    return envelope.data.ticket;
  }

  const ticketId = (req: FakeRequest) => Number(req.params.id!.replace(/\.json$/, ""));

  state.server = await fakeServer({
    "GET /api/v2/users/me.json": (req) =>
      guard(req) ??
      ok({ user: { id: 20_978_392, name: "Runwarden", email: options.email ?? null, role: "agent" } }),

    "GET /api/v2/tickets.json": (req) => {
      const denied = guard(req);
      if (denied) return denied;
      const externalId = req.query.get("external_id");
      const found =
        externalId === null ? state.tickets : state.tickets.filter((t) => t.external_id === externalId);
      return ok({ tickets: found.map(view), next_page: null, previous_page: null, count: found.length });
    },

    "POST /api/v2/tickets.json": (req) => {
      const denied = guard(req);
      if (denied) return denied;
      const input = write(req);
      if ("status" in input && typeof input.status === "number") return input as FakeResponse;
      const data = input as z.infer<typeof TicketWrite>;
      if (!data.comment) return invalid("comment: a new ticket needs a first comment");
      const body = data.comment.body ?? data.comment.html_body ?? "";
      const ticket: FakeTicket = {
        id: nextId++,
        external_id: data.external_id ?? null,
        subject: data.subject ?? body.slice(0, 50),
        description: body,
        status: data.status ?? "new",
        priority: data.priority ?? null,
        type: data.type ?? null,
        tags: data.tags ?? [],
        group_id: data.group_id ?? null,
        requester_id: data.requester_id ?? 20_978_392,
        created_at: state.clock.now,
        updated_at: state.clock.now,
        comments: [
          { id: nextComment++, body, public: data.comment.public ?? true, created_at: state.clock.now },
        ],
        seq: ++seq,
      };
      state.tickets.push(ticket);
      return ok(
        {
          ticket: view(ticket),
          audit: { id: nextComment++, ticket_id: ticket.id, created_at: state.clock.now, events: [] },
        },
        201,
        {
          Location: `${state.url}/api/v2/tickets/${ticket.id}.json`,
        },
      );
    },

    "PUT /api/v2/tickets/:id": (req) => {
      const denied = guard(req);
      if (denied) return denied;
      const ticket = state.tickets.find((t) => t.id === ticketId(req));
      if (!ticket) return ok({ error: "RecordNotFound", description: "Not found" }, 404);
      if (ticket.status === "closed") return invalid("status: closed prevents ticket update");
      const input = write(req);
      if ("status" in input && typeof input.status === "number") return input as FakeResponse;
      const { comment, ...fields } = input as z.infer<typeof TicketWrite>;
      Object.assign(ticket, fields, { updated_at: state.clock.now, seq: ++seq });
      if (comment) {
        ticket.comments.push({
          id: nextComment++,
          body: comment.body ?? comment.html_body ?? "",
          public: comment.public ?? true,
          created_at: state.clock.now,
        });
      }
      return ok({ ticket: view(ticket), audit: { id: nextComment++, ticket_id: ticket.id, events: [] } });
    },

    "GET /api/v2/tickets/:id/comments.json": (req) => {
      const denied = guard(req);
      if (denied) return denied;
      const ticket = state.tickets.find((t) => t.id === Number(req.params.id));
      if (!ticket) return ok({ error: "RecordNotFound", description: "Not found" }, 404);
      const size = Math.min(100, Number(req.query.get("page[size]") ?? 100));
      const after = Number(req.query.get("page[after]") ?? 0);
      const page = ticket.comments.filter((c) => c.id > after).slice(0, size);
      const last = page.at(-1);
      const hasMore = last !== undefined && ticket.comments.some((c) => c.id > last.id);
      return ok({
        comments: page.map((c) => ({ ...c, type: "Comment", author_id: 20_978_392 })),
        meta: { has_more: hasMore, after_cursor: last ? String(last.id) : null, before_cursor: null },
        links: {
          next: hasMore
            ? `${state.url}/api/v2/tickets/${ticket.id}/comments.json?page[size]=${size}&page[after]=${last!.id}`
            : null,
          prev: null,
        },
      });
    },

    "GET /api/v2/incremental/tickets/cursor.json": (req) => {
      const denied = guard(req);
      if (denied) return denied;
      const perPage = Number(req.query.get("per_page") ?? 1000);
      if (!Number.isInteger(perPage) || perPage < 1 || perPage > 1000)
        return ok({ error: "InvalidPaginationParameter" }, 400);
      const cursor = req.query.get("cursor");
      const startTime = req.query.get("start_time");
      let rows: FakeTicket[];
      let from: number;
      if (cursor !== null) {
        const at = seqOf(cursor);
        if (at === undefined)
          return ok({ error: "InvalidPaginationParameter", description: "invalid cursor" }, 400);
        from = at;
        rows = state.tickets.filter((t) => t.seq > at);
      } else if (startTime !== null && /^\d+$/.test(startTime)) {
        from = 0;
        rows = state.tickets.filter((t) => epoch(t.updated_at) >= Number(startTime));
      } else {
        return ok({ error: "InvalidValue", description: "start_time or cursor is required" }, 400);
      }
      rows = rows.sort((a, b) => a.seq - b.seq);
      const page = rows.slice(0, perPage);
      const lastSeq = page.at(-1)?.seq ?? (cursor === null ? seq : from);
      const after = cursorOf(lastSeq);
      return ok({
        tickets: page.map(view),
        after_url: `${state.url}/api/v2/incremental/tickets/cursor.json?cursor=${encodeURIComponent(after)}`,
        after_cursor: after,
        before_url: null,
        before_cursor: null,
        end_of_stream: rows.length <= perPage,
      });
    },
  });
  state.url = state.server.url;
  return state;
}
