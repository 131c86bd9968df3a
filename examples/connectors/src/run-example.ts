/**
 * What every connector example does once its connector is registered and its credential and
 * connection exist: load a small runbook (approved), take in a ticket, show the dry run's plan,
 * then run it for real, approving each step that asks for it as a second person would, and print
 * what ran where and what it printed.
 */
import type { Actor, Engine, PlanEntry, StepRecord, TicketInput } from "@runwarden/core";

/** The person who set the example up (loads the runbook) and starts the run. */
export const operator: Actor = { id: "example-operator", roles: ["admin"] };
/** A second person with the approver role: approves the steps that need it. */
export const approver: Actor = { id: "example-approver", roles: ["approver"] };

/** Reads an environment variable, or its default; exits with a clear message when it has none. */
export function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === "") {
    console.error(`set ${name} (see examples/connectors/README.md)`);
    process.exit(2);
  }
  return value;
}

const indent = (text: string) =>
  text
    .trimEnd()
    .split("\n")
    .map((line) => (line ? `      ${line}` : ""))
    .join("\n");

function printPlan(plan: readonly PlanEntry[]) {
  console.log("dry run: nothing ran; the plan is");
  for (const entry of plan) {
    const where = entry.connection
      ? `${entry.connection.name} (${entry.connection.connectionType} ${entry.connection.targetHost ?? ""}${entry.connection.targetPort ? `:${entry.connection.targetPort}` : ""})`
      : "no connection";
    const gate = entry.requiresApproval ? `needs approval, ${entry.severity}` : entry.severity;
    console.log(`  ${entry.phase.padEnd(10)} ${entry.name} → ${where} [${gate}]`);
    console.log(indent(entry.rendered ?? `cannot render: ${entry.error}`));
  }
}

function printStep(step: StepRecord) {
  console.log(`  ${step.phase.padEnd(10)} ${step.name}: ${step.status} (exit ${step.exitCode ?? "none"})`);
  if (step.stdout.trim()) console.log(indent(step.stdout));
  if (step.stderr.trim()) console.log(indent(`stderr: ${step.stderr}`));
}

/**
 * Loads `runbook` as approved, ingests `ticket` without auto-execution, prints the dry run, runs
 * it, approves what asks for approval, prints each step, closes the engine and sets the exit code
 * (0 when the session succeeded).
 */
export async function runExample(engine: Engine, runbook: string, ticket: TicketInput): Promise<void> {
  try {
    const { runbook: loaded, warnings } = await engine.runbooks.create(runbook, {
      actor: operator,
      status: "approved",
    });
    for (const warning of warnings) console.log(`runbook warning: ${warning.message}`);
    const { ticket: stored } = await engine.tickets.ingest(ticket, { autoExecute: false });
    console.log(`ticket #${stored.id}: ${stored.title} (service ${JSON.stringify(stored.service)})`);
    console.log(`runbook #${loaded.id}: ${loaded.title}\n`);

    const dry = await engine.executions.start(stored.id, loaded.id, { actor: operator, dryRun: true });
    printPlan(dry.plan ?? []);

    const { session } = await engine.executions.start(stored.id, loaded.id, { actor: operator });
    console.log(`\nsession #${session.id} started by ${operator.id}`);
    let state = await engine.executions.settled(session.id);
    while (state.status === "awaiting_approval") {
      const pending = (await engine.approvals.list({ status: "pending", sessionId: session.id })).items;
      for (const approval of pending) {
        console.log(
          `  approval #${approval.id} for ${approval.stepName} on ${approval.target} (${approval.risk}):`,
        );
        console.log(indent(approval.renderedCommand));
        await engine.approvals.approve(approval.id, { actor: approver, comment: "approved by the example" });
        console.log(`  approved by ${approver.id}`);
      }
      state = await engine.executions.settled(session.id);
    }

    const detail = await engine.executions.get(session.id);
    console.log(`\nsession #${session.id}: ${detail.session.status}`);
    for (const step of detail.steps) printStep(step);
    console.log(`ticket #${stored.id}: ${(await engine.tickets.get(stored.id)).status}`);
    process.exitCode = detail.session.status === "succeeded" ? 0 : 1;
  } finally {
    await engine.close();
  }
}
