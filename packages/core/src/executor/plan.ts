/**
 * Preparing a step: rendering its command, resolving its connection (step → runbook front
 * matter → ticket `metaData.connection_config`, only when the runbook's `ticket_connections`
 * allows it → `local`) under the ticket's environment and the host policy, and the hash an
 * approval of it is bound to.
 */
import { createHash } from "node:crypto";
import type { Runbook, Step } from "@runwarden/runbook-parser";
import type { Phase, Ticket } from "../domain.js";
import { isRunwardenError, rwError } from "../errors.js";
import type { ConnectionResolver, Resolution } from "../internal/connection-resolver.js";
import type { Policy } from "../policy.js";
import { type RenderedCommand, renderCommand } from "./templates.js";

/** A runbook step with its place in the session. */
export interface PlannedStep {
  index: number;
  phase: Phase;
  step: Step;
  /** For a compensation: the index of the step it undoes. */
  compensates?: number;
}

/**
 * Every step of a runbook in session order: prechecks, main, postchecks, then the rollback phase:
 * the compensations of main steps and postchecks in reverse order, then the declared rollback
 * steps. Compensations are planned up front like every step, so each has a step record before
 * the session runs; when the session rolls back, those whose step did not succeed are skipped.
 * A runbook with no `compensate` plans exactly as before.
 */
export function flattenRunbook(runbook: Runbook): PlannedStep[] {
  const out: PlannedStep[] = [];
  for (const phase of ["prechecks", "main", "postchecks"] as const) {
    for (const step of runbook.phases[phase]) out.push({ index: out.length, phase, step });
  }
  const undoable = out.filter((p) => p.phase !== "prechecks" && p.step.compensate !== undefined);
  for (const target of undoable.reverse()) {
    out.push({
      index: out.length,
      phase: "rollback",
      step: compensationStep(target.step),
      compensates: target.index,
    });
  }
  for (const step of runbook.phases.rollback) out.push({ index: out.length, phase: "rollback", step });
  return out;
}

/** The name of the step that undoes `stepName`: what step records, approvals and the plan show. */
export function compensationName(stepName: string): string {
  return `compensation of ${stepName}`;
}

/**
 * A step's compensation as a step of its own: its command in the step's language, on the step's
 * connection, with the step's approval requirement, severity and timeout. No retries and no
 * `expect` (those describe the step's command), and never idempotent: a compensation
 * interrupted by a crash waits for a person rather than running again on its own.
 */
function compensationStep(step: Step): Step {
  const compensation: Step = {
    name: compensationName(step.name),
    command: step.compensate!.command,
    language: step.language,
    ...(step.languageDeclared ? { languageDeclared: true as const } : {}),
    requiresApproval: step.requiresApproval,
    severity: step.severity,
    retries: 0,
    onFailure: "abort",
    idempotent: false,
    description: `Undoes step "${step.name}" when the session rolls back after it succeeded.`,
    variables: step.compensate!.variables,
    position: step.position,
  };
  if (step.timeoutMs !== undefined) compensation.timeoutMs = step.timeoutMs;
  if (step.connection !== undefined) compensation.connection = step.connection;
  return compensation;
}

/** A step ready to run or to be approved. */
export interface PreparedStep {
  /** The language the step is rendered and run in: its own, or its connection's when it defaulted. */
  language: string;
  rendered: RenderedCommand;
  resolution: Resolution;
  /** sha256 over exactly the rendered command, the target and the credential identity. */
  bindingHash: string;
  /** Where the connection came from, for the plan. */
  connectionSource: "step" | "runbook" | "ticket" | "default";
  /** What a person reads as the step's title: see {@link stepTitle}. */
  title: string;
}

export interface PrepareInput {
  step: Step;
  runbook: Runbook;
  ticket: Ticket;
  vars: Readonly<Record<string, string>>;
  policy: Policy;
  resolver: ConnectionResolver;
  /** The step languages a connection's connector runs (its declared `languages`). */
  languagesFor?(resolution: Resolution): readonly string[] | undefined;
}

/**
 * Resolves a step's connection, picks the language it runs in there (see {@link stepLanguage})
 * and renders it; throws RW_ERR_EXEC_TEMPLATE or RW_ERR_EXEC_CONNECTION.
 */
export async function prepareStep(input: PrepareInput): Promise<PreparedStep> {
  const { resolution, source } = await resolveConnection(input);
  const language = stepLanguage(input.step, resolution, input.languagesFor?.(resolution));
  const rendered = renderCommand(input.step.command, language, {
    ticket: input.ticket,
    vars: input.vars,
  });
  return {
    language,
    rendered,
    resolution,
    bindingHash: bindingHash(language, rendered, resolution),
    connectionSource: source,
    title: stepTitle(input.step),
  };
}

/**
 * A step's title for people: the first sentence of the text the runbook writes under it (Markdown
 * marks dropped, at most 120 characters), or its name (a `name` annotation, or derived from the
 * command) when it has none.
 */
export function stepTitle(step: Pick<Step, "name" | "description">): string {
  if (!step.description) return step.name;
  const text = step.description
    .replace(/`([^`]*)`/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[*_]{1,2}([^*_]+)[*_]{1,2}/g, "$1")
    .replace(/\s+/g, " ")
    .trim();
  const sentence = /^(.+?[.!?])(\s|$)/.exec(text)?.[1] ?? text;
  return sentence.length > 120 ? `${sentence.slice(0, 119).trimEnd()}…` : sentence;
}

/**
 * The language a step runs in on its connection. A step whose language defaulted to `sh` (a list
 * item, a fence without a language) takes the connector's first language, so on a SQL connection
 * every template value is a bound parameter. A step that declares a language the connector does
 * not run is refused, naming the step, its line:column and what to write instead.
 */
export function stepLanguage(
  step: Step,
  resolution: Resolution,
  languages: readonly string[] | undefined,
): string {
  if (languages === undefined || languages.length === 0 || languages.includes(step.language)) {
    return step.language;
  }
  if (step.languageDeclared !== true && step.language === "sh") return languages[0]!;
  const { line, column } = step.position;
  const { connection, connectionType, targetService } = resolution.binding;
  const type =
    connectionType === "database" && targetService ? `${connectionType}:${targetService}` : connectionType;
  const wanted = languages[0]!;
  throw connectionError(
    `step "${step.name}" (line ${line}:${column}) is written as ${step.language}, but connection "${connection}" (${type}) runs ${languages.join(", ")} steps: write the step as a \`\`\`${wanted} fence${wanted === "sql" ? " (template values are bound as parameters)" : ""}, or run it on a connection that runs ${step.language}`,
    {
      step: step.name,
      line,
      column,
      language: step.language,
      connection,
      connectionType: type,
      languages: [...languages],
    },
  );
}

export function bindingHash(language: string, rendered: RenderedCommand, resolution: Resolution): string {
  return createHash("sha256")
    .update(
      JSON.stringify({
        language,
        command: rendered.command,
        sql: rendered.sql ?? null,
        target: resolution.binding,
      }),
    )
    .digest("hex");
}

/** The connection name a step would use, without opening anything (for step records). */
export function declaredConnection(step: Step, runbook: Runbook, ticket: Ticket): string {
  if (step.connection) return step.connection;
  if (runbook.metadata.connection) return runbook.metadata.connection;
  const config = ticketChoice(runbook, ticket);
  if (config && typeof config === "object" && !Array.isArray(config)) {
    const c = config as Record<string, unknown>;
    const name = c.connection ?? c.connection_name ?? c.name;
    if (typeof name === "string") return name;
    if (typeof c.connection_id === "number") return `#${c.connection_id}`;
    if (typeof c.host === "string") {
      const port = typeof c.port === "number" ? `:${c.port}` : "";
      return `${String(c.connector_type ?? c.connection_type ?? "ssh")}://${c.host.trim().toLowerCase()}${port}`;
    }
  }
  return "local";
}

/**
 * The ticket's `metaData.connection_config` when it may choose where steps run: present, and the
 * runbook opts in with `ticket_connections` in its front matter. Otherwise undefined (ignored).
 */
function ticketChoice(runbook: Runbook, ticket: Ticket): unknown {
  if (!runbook.metadata.ticketConnections) return undefined;
  const config = ticket.metaData.connection_config;
  return config === null ? undefined : config;
}

/**
 * Why the ticket's `meta_data.connection_config` is ignored for this runbook, or null when it is
 * not: the ticket carries one, some step names no connection and the runbook has no default,
 * and the runbook's front matter does not opt in with `ticket_connections`. The executor records
 * it as a warning on the session, so the people following it see where the steps ran and why.
 */
export function ignoredTicketConnection(
  runbook: Runbook,
  runbookKey: string,
  ticket: Ticket,
  steps: readonly Step[],
): string | null {
  const config = ticket.metaData.connection_config;
  if (config === undefined || config === null) return null;
  if (runbook.metadata.ticketConnections || runbook.metadata.connection) return null;
  if (!steps.some((s) => !s.connection)) return null;
  return `the ticket's meta_data.connection_config was ignored: runbook "${truncate(runbookKey)}" has no ticket_connections in its front matter, so steps that name no connection run on "local"; to let tickets choose, add ticket_connections: { types: [...], names: [...] } to the runbook`;
}

async function resolveConnection(
  input: PrepareInput,
): Promise<{ resolution: Resolution; source: PreparedStep["connectionSource"] }> {
  const { step, runbook, ticket, resolver } = input;
  try {
    if (step.connection) return { resolution: await named(step.connection, "step", input), source: "step" };
    if (runbook.metadata.connection) {
      return { resolution: await named(runbook.metadata.connection, "runbook", input), source: "runbook" };
    }
    const config = ticketChoice(runbook, ticket);
    if (config !== undefined) {
      const resolution = await fromTicket(config, input);
      checkTicketAllowed(resolution, input);
      return { resolution, source: "ticket" };
    }
    const local = await resolver.byName("local");
    return { resolution: local!, source: "default" };
  } catch (err) {
    // A vault or store error keeps its own code; anything else is a connection problem.
    if (isRunwardenError(err)) throw err;
    throw connectionError(`the step's connection cannot be resolved: ${(err as Error).message}`, {});
  }
}

/**
 * A connection the ticket chose must be in the runbook's `ticket_connections`: its type among
 * `types`, or its name among `names` (a raw host has no name: only its type can allow it).
 */
function checkTicketAllowed(resolution: Resolution, input: PrepareInput): void {
  const allowed = input.runbook.metadata.ticketConnections!;
  const type = resolution.binding.connectionType;
  const name = resolution.record?.name ?? null;
  if (allowed.types?.includes(type)) return;
  if (name !== null && allowed.names?.includes(name)) return;
  const { step } = input;
  const list = [
    allowed.types?.length ? `types: ${allowed.types.join(", ")}` : "",
    allowed.names?.length ? `names: ${allowed.names.join(", ")}` : "",
  ]
    .filter((p) => p !== "")
    .join("; ");
  const chosen = name === null ? truncate(resolution.binding.connection) : name;
  throw connectionError(
    `the ticket's meta_data.connection_config chooses connection "${chosen}" (type ${type}), which ticket_connections does not allow (${list}); step "${step.name}" at line ${step.position.line}:${step.position.column}: add the type or name to the runbook's ticket_connections, or name the connection on the step`,
    {
      field: "meta_data.connection_config",
      source: "ticket",
      step: step.name,
      line: step.position.line,
      column: step.position.column,
      connection: chosen,
      connectionType: type,
      allowedTypes: allowed.types ?? [],
      allowedNames: allowed.names ?? [],
    },
  );
}

async function named(
  name: string,
  source: "step" | "runbook" | "ticket",
  input: PrepareInput,
): Promise<Resolution> {
  const resolution = await input.resolver.byName(name);
  if (!resolution) {
    throw connectionError(`no connection named "${truncate(name)}" is registered`, {
      connection: truncate(name),
      source,
    });
  }
  checkEnvironment(resolution, source, input.ticket);
  return resolution;
}

/**
 * A ticket's environment must match the connection's. For a connection the ticket names itself
 * this is strict; for one the runbook names, it is enforced when both have an environment.
 */
function checkEnvironment(
  resolution: Resolution,
  source: "step" | "runbook" | "ticket",
  ticket: Ticket,
): void {
  if (resolution.record === null) return;
  const env = resolution.record.environment;
  const mismatch =
    source === "ticket"
      ? env !== ticket.environment
      : env !== "" && ticket.environment !== "" && env !== ticket.environment;
  if (mismatch) {
    throw connectionError(
      `connection "${resolution.record.name}" belongs to environment "${env}", the ticket to "${ticket.environment}"`,
      {
        connection: resolution.record.name,
        source,
        connectionEnvironment: env,
        ticketEnvironment: ticket.environment,
      },
    );
  }
}

/** `metaData.connection_config`: a registered connection, or a raw host the policy allows. */
async function fromTicket(config: unknown, input: PrepareInput): Promise<Resolution> {
  const { ticket, policy, resolver } = input;
  if (typeof config !== "object" || Array.isArray(config)) {
    throw connectionError("the ticket's connection_config must be an object", { source: "ticket" });
  }
  const c = config as Record<string, unknown>;
  const connectionName = c.connection ?? c.connection_name ?? c.name;
  if (typeof connectionName === "string") return named(connectionName, "ticket", input);
  if (typeof c.connection_id === "number") {
    const resolution = await resolver.byId(c.connection_id);
    if (!resolution)
      throw connectionError(`connection ${c.connection_id} does not exist`, { source: "ticket" });
    checkEnvironment(resolution, "ticket", ticket);
    return resolution;
  }
  const type = String(
    c.connector_type ?? c.connection_type ?? (typeof c.host === "string" ? "ssh" : "local"),
  );
  if (typeof c.host !== "string") {
    if (type === "local") return (await resolver.byName("local"))!;
    throw connectionError("the ticket's connection_config names no connection and no host", {
      source: "ticket",
    });
  }
  const host = c.host.trim().toLowerCase();
  const allowed = policy.allowedRawHosts.some((h) => h.toLowerCase() === host);
  if (!allowed || !/^[a-z0-9._:[\]-]+$/.test(host)) {
    throw connectionError(
      `the ticket points at host "${truncate(host)}", which the policy does not allow (policy.allowedRawHosts); register a connection for it instead`,
      { source: "ticket", host: truncate(host) },
    );
  }
  let credentialId: number | null = null;
  if (c.credential_id !== undefined && c.credential_id !== null) {
    if (typeof c.credential_id !== "number" || !Number.isInteger(c.credential_id)) {
      throw connectionError("the ticket's credential_id must be an integer", { source: "ticket" });
    }
    const env = await resolver.credentialEnvironment(c.credential_id);
    if (env === undefined)
      throw connectionError(`credential ${c.credential_id} does not exist`, { source: "ticket" });
    if (env !== ticket.environment) {
      throw connectionError(
        `credential ${c.credential_id} belongs to environment "${env}", the ticket to "${ticket.environment}"`,
        { source: "ticket", credentialId: c.credential_id },
      );
    }
    credentialId = c.credential_id;
  }
  const port =
    typeof c.port === "number" && Number.isInteger(c.port) && c.port > 0 && c.port < 65_536 ? c.port : null;
  return resolver.raw({
    connectionType: type,
    host,
    port,
    targetService: typeof c.target_service === "string" ? c.target_service : null,
    credentialId,
    environment: ticket.environment,
    options: {},
  });
}

function connectionError(message: string, details: Record<string, unknown>) {
  return rwError("RW_ERR_EXEC_CONNECTION", message, { details });
}

function truncate(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
