/** Approvals: the Agent Dashboard's queue, and the approver's decision. */
import { z } from "@hono/zod-openapi";
import {
  type Approval as ApprovalDoc,
  Approval as ApprovalSchema,
  ApprovalStatus,
  excludedApprovers,
} from "@runwarden/core";
import { IdParams, named, PageQuery } from "../internal/endpoint.js";
import { actorOptions, type RouteContext, send } from "./context.js";

const Approval = named(
  "Approval",
  ApprovalSchema.extend({
    excludedActors: z.array(z.string()).openapi({
      description:
        "Actors who may not approve it (four-eyes): for a high_risk step, whoever started the session (started_by) and whoever caused it (caused_by: the person who uploaded or sent the ticket of an auto-execution). Empty for lower risks.",
    }),
  }),
);
/** An approval as the API shows it: with the actors the four-eyes rule excludes. */
const shown = (approval: ApprovalDoc) => ({ ...approval, excludedActors: excludedApprovers(approval) });
const ApprovalPage = z.object({ items: z.array(Approval), nextCursor: z.number().int().nullable() });
const DecisionBody = named(
  "ApprovalDecision",
  z.object({ comment: z.string().trim().max(2000).default("") }),
);

const ListQuery = z.object({
  status: ApprovalStatus.optional(),
  session_id: z.coerce.number().int().positive().optional(),
  ticket_id: z.coerce.number().int().positive().optional(),
  ...PageQuery,
});

export function approvalRoutes(route: RouteContext): void {
  const { engine } = route;

  route.add({
    method: "get",
    path: "/approvals",
    tag: "approvals",
    summary: "List approvals (e.g. ?status=pending), newest first",
    description: "Each shows the fully rendered command, its target, the risk and the ticket.",
    access: { roles: ["viewer", "operator", "approver"] },
    query: ListQuery,
    responses: { 200: { description: "A page of approvals", schema: ApprovalPage } },
    async handler(c, { query }) {
      const page = await engine.approvals.list({
        ...(query.status ? { status: query.status } : {}),
        ...(query.session_id !== undefined ? { sessionId: query.session_id } : {}),
        ...(query.ticket_id !== undefined ? { ticketId: query.ticket_id } : {}),
        limit: query.limit,
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      });
      return send(route, c, 200, ApprovalPage, { ...page, items: page.items.map(shown) });
    },
  });

  route.add({
    method: "get",
    path: "/approvals/{id}",
    tag: "approvals",
    summary: "Get an approval",
    access: { roles: ["viewer", "operator", "approver"] },
    params: IdParams,
    responses: { 200: { description: "The approval", schema: Approval } },
    async handler(c, { params }) {
      return send(route, c, 200, Approval, shown(await engine.approvals.get(params.id)));
    },
  });

  for (const decision of ["approve", "reject"] as const) {
    route.add({
      method: "post",
      path: `/approvals/{id}/${decision}`,
      tag: "approvals",
      summary: decision === "approve" ? "Approve the step: it runs" : "Reject the step: the session stops",
      description:
        "Recorded with the token's actor and the comment. A high_risk step needs an approver other than whoever started or caused the session (its `excluded_actors`; 403 RW_ERR_APPROVAL_SAME_ACTOR); a decided approval answers 409, an expired one 410.",
      access: { roles: ["approver"] },
      params: IdParams,
      body: { schema: DecisionBody, required: false },
      responses: { 200: { description: "The approval after the decision", schema: Approval } },
      async handler(c, { params, body, actor }) {
        const options = { ...actorOptions(route, c, actor), comment: body?.comment ?? "" };
        const approval =
          decision === "approve"
            ? await engine.approvals.approve(params.id, options)
            : await engine.approvals.reject(params.id, options);
        return send(route, c, 200, Approval, shown(approval));
      },
    });
  }
}
