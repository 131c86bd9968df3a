/**
 * Runbooks: upload Markdown (422 with line:column diagnostics), lint it without storing, list,
 * read, approve, retire.
 */
import { z } from "@hono/zod-openapi";
import { DiagnosticSchema, RunbookRecord, RunbookSchema, RunbookStatus, rwError } from "@runwarden/core";
import { parseJson, readText } from "../internal/body.js";
import { IdParams, named, PageQuery } from "../internal/endpoint.js";
import { actorOptions, type RouteContext, send } from "./context.js";

const Diagnostic = named("Diagnostic", DiagnosticSchema);
const Runbook = named("Runbook", RunbookRecord);
const RunbookDetail = named("RunbookDetail", RunbookRecord.extend({ plan: RunbookSchema }));
const RunbookCreated = named(
  "RunbookCreated",
  z.object({
    runbook: RunbookDetail,
    warnings: z.array(Diagnostic),
    /** False when the same Markdown was already stored: that revision is returned. */
    created: z.boolean(),
  }),
);
const RunbookPage = z.object({ items: z.array(Runbook), nextCursor: z.number().int().nullable() });
const MarkdownJson = z.object({ markdown: z.string().min(1) }).openapi("RunbookUpload");
const RunbookLint = named(
  "RunbookLint",
  z.object({
    /** True when the Markdown has no error: it would be stored. */
    valid: z.boolean(),
    /** The key it would be stored under (its front matter's `id`, else its title's slug); null when invalid. */
    key: z.string().nullable(),
    /** Every error and warning, with line and column. */
    diagnostics: z.array(Diagnostic),
    /** The parsed plan; null when invalid. */
    plan: RunbookSchema.nullable(),
  }),
);
const markdownBody = {
  description: "The runbook's Markdown",
  content: {
    "text/markdown": { schema: z.string() },
    "application/json": { schema: MarkdownJson },
  },
};

const ListQuery = z.object({
  status: RunbookStatus.optional(),
  key: z.string().max(128).optional(),
  ...PageQuery,
});

const markdownTypes = new Set(["text/markdown", "text/x-markdown", "text/plain"]);

export function runbookRoutes(route: RouteContext): void {
  const { engine } = route;
  const viewer = { roles: ["viewer", "operator", "approver"] } as const;

  route.add({
    method: "post",
    path: "/runbooks",
    tag: "runbooks",
    summary: "Upload a runbook",
    description:
      'A `text/markdown` body, or JSON `{ "markdown": … }`. Uploading a runbook whose key exists stores its next revision, as a draft. 422 `RW_ERR_RUNBOOK_INVALID` carries `details.diagnostics`, each with a line, column, rule id and message.',
    access: { roles: ["operator"] },
    requestBody: markdownBody,
    responses: {
      201: { description: "Stored; warnings did not stop it", schema: RunbookCreated },
      200: { description: "The same Markdown was already stored: that revision", schema: RunbookCreated },
    },
    async handler(c, { actor }) {
      const markdown = await readMarkdown(c.req.raw, route.limits.runbookBytes);
      const result = await engine.runbooks.create(markdown, actorOptions(route, c, actor));
      return send(route, c, result.created ? 201 : 200, RunbookCreated, {
        runbook: { ...result.runbook, plan: result.plan },
        warnings: result.warnings,
        created: result.created,
      });
    },
  });

  route.add({
    method: "post",
    path: "/runbooks/lint",
    tag: "runbooks",
    summary: "Check a runbook without storing it",
    description:
      "The same body as `POST /runbooks`. Answers 200 whether or not the Markdown is valid: every diagnostic (line, column, rule id, message; the warnings an upload would give included), the key it would be stored under and its parsed plan. Nothing is stored or audited: editors call it as the author types.",
    access: viewer,
    requestBody: markdownBody,
    responses: { 200: { description: "The diagnostics and, when valid, the plan", schema: RunbookLint } },
    async handler(c) {
      const markdown = await readMarkdown(c.req.raw, route.limits.runbookBytes);
      const result = await engine.runbooks.lint(markdown);
      return send(route, c, 200, RunbookLint, {
        valid: result.plan !== null,
        key: result.key,
        diagnostics: result.diagnostics,
        plan: result.plan,
      });
    },
  });

  route.add({
    method: "get",
    path: "/runbooks",
    tag: "runbooks",
    summary: "List runbooks, newest first",
    access: viewer,
    query: ListQuery,
    responses: { 200: { description: "A page of runbooks", schema: RunbookPage } },
    async handler(c, { query }) {
      const page = await engine.runbooks.list({
        ...(query.status ? { status: query.status } : {}),
        ...(query.key ? { key: query.key } : {}),
        limit: query.limit,
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      });
      return send(route, c, 200, RunbookPage, page);
    },
  });

  route.add({
    method: "get",
    path: "/runbooks/{id}",
    tag: "runbooks",
    summary: "Get a runbook with its parsed plan",
    access: viewer,
    params: IdParams,
    responses: { 200: { description: "The runbook", schema: RunbookDetail } },
    async handler(c, { params }) {
      const runbook = await engine.runbooks.get(params.id);
      return send(route, c, 200, RunbookDetail, { ...runbook, plan: engine.runbooks.plan(runbook) });
    },
  });

  for (const action of ["approve", "retire"] as const) {
    route.add({
      method: "post",
      path: `/runbooks/{id}/${action}`,
      tag: "runbooks",
      summary: action === "approve" ? "Approve a draft: it may now run automatically" : "Retire a runbook",
      access: { roles: ["approver"] },
      params: IdParams,
      responses: { 200: { description: "The runbook", schema: Runbook } },
      async handler(c, { params, actor }) {
        const options = actorOptions(route, c, actor);
        const runbook =
          action === "approve"
            ? await engine.runbooks.approve(params.id, options)
            : await engine.runbooks.retire(params.id, options);
        return send(route, c, 200, Runbook, runbook);
      },
    });
  }
}

/** The Markdown of a runbook body: `text/markdown` (or plain text), or JSON `{ "markdown": … }`. */
async function readMarkdown(request: Request, limit: number): Promise<string> {
  const type = (request.headers.get("content-type") ?? "").split(";", 1)[0]!.trim().toLowerCase();
  const text = await readText(request, limit);
  let markdown: string;
  if (type === "application/json") {
    const body = MarkdownJson.safeParse(parseJson(text));
    if (!body.success) {
      throw rwError("RW_ERR_INPUT_INVALID", 'send `{ "markdown": "…" }`', {
        details: { fields: [{ field: "markdown", message: "required: the runbook's Markdown" }] },
      });
    }
    markdown = body.data.markdown;
  } else if (markdownTypes.has(type) || type === "") {
    markdown = text;
  } else {
    throw rwError("RW_ERR_INPUT_MEDIA_TYPE", "send text/markdown or application/json");
  }
  if (markdown.trim() === "") {
    throw rwError("RW_ERR_INPUT_INVALID", "the runbook is empty", {
      details: { fields: [{ field: "markdown", message: "must not be empty" }] },
    });
  }
  return markdown;
}
