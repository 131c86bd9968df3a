/** Executions: start (or dry-run) a runbook for a ticket, follow it, cancel it. */
import { z } from "@hono/zod-openapi";
import { Approval, ExecutionSession, Phase, rwError, SessionStatus, StepRecord } from "@runwarden/core";
import { IdParams, named, PageQuery } from "../internal/endpoint.js";
import { actorOptions, type RouteContext, send } from "./context.js";

const Session = named("ExecutionSession", ExecutionSession);
const SessionPage = z.object({ items: z.array(Session), nextCursor: z.number().int().nullable() });

const TimelineEntry = z.object({
  at: z.string(),
  /** `session.created`, `step.started`, `approval.approved`, … */
  kind: z.string(),
  message: z.string(),
  actor: z.string().optional(),
  stepId: z.number().int().optional(),
  approvalId: z.number().int().optional(),
});

const PlanEntry = z.object({
  index: z.number().int(),
  phase: Phase,
  name: z.string(),
  command: z.string(),
  rendered: z.string().nullable(),
  language: z.string(),
  connection: z
    .object({
      name: z.string(),
      connectionType: z.string(),
      targetHost: z.string().nullable(),
      targetPort: z.number().int().nullable(),
      targetService: z.string().nullable(),
      environment: z.string(),
      credentialId: z.number().int().nullable(),
      source: z.string(),
    })
    .nullable(),
  requiresApproval: z.boolean(),
  approvalsRequired: z.number().int(),
  severity: z.enum(["safe", "low_risk", "medium_risk", "high_risk"]),
  timeoutMs: z.number(),
  retries: z.number().int(),
  onFailure: z.enum(["abort", "continue", "rollback"]),
  idempotent: z.boolean(),
  error: z.string().nullable(),
  /** For a compensation: the step it undoes when the session rolls back. */
  compensates: z.object({ index: z.number().int(), name: z.string() }).optional(),
});

const Detail = named(
  "ExecutionDetail",
  z.object({
    session: Session,
    steps: z.array(StepRecord),
    approvals: z.array(Approval),
    timeline: z.array(TimelineEntry),
    /** On start: what the session will do (for a dry run, what it would do). */
    plan: z.array(PlanEntry).optional(),
  }),
);

const StartBody = named(
  "StartExecution",
  z.object({
    ticketId: z.number().int().positive().openapi({ example: 123 }),
    runbookId: z.number().int().positive().openapi({ example: 1 }),
    dryRun: z.boolean().default(false),
  }),
);
const CancelBody = named("CancelExecution", z.object({ reason: z.string().trim().max(1000).optional() }));
const ResolveBody = named("ResolveInterruptedStep", z.object({ choice: z.enum(["retry", "skip", "abort"]) }));
const StepParams = z.object({
  id: IdParams.shape.id,
  step_id: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "step_id", in: "path" }, example: 1 }),
});

const ListQuery = z.object({
  ticket_id: z.coerce.number().int().positive().optional(),
  status: SessionStatus.optional(),
  ...PageQuery,
});

export function executionRoutes(route: RouteContext): void {
  const { engine } = route;
  const viewer = { roles: ["viewer", "operator", "approver"] } as const;
  const operator = { roles: ["operator"] } as const;

  route.add({
    method: "post",
    path: "/executions",
    tag: "executions",
    summary: "Start a runbook for a ticket",
    description:
      "Returns at once with the session and its plan; steps run in the background and stop at each approval. With `dry_run`, nothing runs: the answer is the rendered plan.",
    access: operator,
    body: { schema: StartBody },
    responses: {
      201: { description: "Started (or planned, for a dry run)", schema: Detail },
      409: {
        description: "A session of this runbook is already live for the ticket, or the runbook is retired",
      },
    },
    async handler(c, { body, actor }) {
      const detail = await engine.executions.start(body.ticketId, body.runbookId, {
        ...actorOptions(route, c, actor),
        dryRun: body.dryRun,
      });
      return send(route, c, 201, Detail, detail);
    },
  });

  route.add({
    method: "get",
    path: "/executions",
    tag: "executions",
    summary: "List executions, newest first",
    access: viewer,
    query: ListQuery,
    responses: { 200: { description: "A page of sessions", schema: SessionPage } },
    async handler(c, { query }) {
      const page = await engine.executions.list({
        ...(query.ticket_id !== undefined ? { ticketId: query.ticket_id } : {}),
        ...(query.status ? { status: query.status } : {}),
        limit: query.limit,
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      });
      return send(route, c, 200, SessionPage, page);
    },
  });

  route.add({
    method: "get",
    path: "/executions/{id}",
    tag: "executions",
    summary: "Get an execution: steps, output, approvals and timeline",
    access: viewer,
    params: IdParams,
    responses: { 200: { description: "The execution", schema: Detail } },
    async handler(c, { params }) {
      return send(route, c, 200, Detail, await engine.executions.get(params.id));
    },
  });

  route.add({
    method: "post",
    path: "/executions/{id}/cancel",
    tag: "executions",
    summary: "Cancel a live execution",
    description: "A running step is killed and pending approvals are voided.",
    access: operator,
    params: IdParams,
    body: { schema: CancelBody, required: false },
    responses: { 200: { description: "The cancelled session", schema: Session } },
    async handler(c, { params, body, actor }) {
      const session = await engine.executions.cancel(params.id, {
        ...actorOptions(route, c, actor),
        ...(body?.reason ? { reason: body.reason } : {}),
      });
      return send(route, c, 200, Session, session);
    },
  });

  route.add({
    method: "post",
    path: "/executions/{id}/steps/{step_id}/resolve",
    tag: "executions",
    summary: "Decide what happens to an interrupted step",
    description:
      "A step that was running when the engine stopped is never re-run silently: `retry` runs it again, `skip` goes on without it, `abort` ends the session.",
    access: { roles: ["approver"] },
    params: StepParams,
    body: { schema: ResolveBody },
    responses: { 200: { description: "The session", schema: Session } },
    async handler(c, { params, body, actor }) {
      if (!body) throw rwError("RW_ERR_INPUT_INVALID", "choice is required");
      const session = await engine.executions.resolveInterrupted(
        params.id,
        params.step_id,
        body.choice,
        actorOptions(route, c, actor),
      );
      return send(route, c, 200, Session, session);
    },
  });
}
