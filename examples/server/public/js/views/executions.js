// Executions: the list, and one session's timeline of steps with live output, approvals and who
// decided what.
import { api } from "../api.js";
import { h, mount, riskBadge, statusBadge, table, time, toast } from "../dom.js";

const statuses = [
  "",
  "pending",
  "running",
  "awaiting_approval",
  "interrupted",
  "succeeded",
  "failed",
  "rolled_back",
  "rejected",
  "cancelled",
];
const finalStatuses = new Set(["succeeded", "failed", "rolled_back", "rejected", "cancelled"]);
const icons = {
  succeeded: "✓",
  failed: "✕",
  timed_out: "!",
  rejected: "✕",
  cancelled: "–",
  skipped: "–",
  running: "…",
  awaiting_approval: "?",
  approved: "✓",
  interrupted: "!",
};

export async function render(ctx) {
  if (ctx.id) return renderDetail(ctx, Number(ctx.id));
  const filter = h(
    "select",
    { "aria-label": "Status" },
    statuses.map((s) => h("option", { value: s }, s ? s.replaceAll("_", " ") : "All statuses")),
  );
  const list = h("div", { class: "panel panel-flush" });
  const load = async () => {
    const page = await api("GET", "/executions", { query: { status: filter.value, limit: 200 } });
    mount(
      list,
      table(
        ["#", "Ticket", "Runbook", "Status", "Phase", "Started by", "Started", "Finished"],
        page.items.map((s) =>
          h(
            "tr",
            { class: "clickable", onClick: () => (location.hash = `#/executions/${s.id}`) },
            h("td", { class: "num" }, s.id),
            h("td", null, h("a", { href: `#/tickets/${s.ticket_id}` }, `#${s.ticket_id}`)),
            h(
              "td",
              null,
              `${s.runbook_key} v${s.runbook_revision}`,
              s.dry_run ? h("span", { class: "muted small" }, " (dry run)") : null,
            ),
            h("td", null, statusBadge(s.status)),
            h("td", null, s.phase),
            h("td", null, s.started_by),
            h("td", null, time(s.created_at)),
            h("td", null, time(s.finished_at)),
          ),
        ),
        { empty: "No executions yet." },
      ),
    );
  };
  filter.addEventListener("change", load);
  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(load, 300);
  };
  ctx.on("session:created", soon);
  ctx.on("session:updated", soon);
  ctx.on("session:finished", soon);
  ctx.onLeave(() => clearTimeout(timer));
  mount(
    ctx.main,
    h(
      "div",
      { class: "page-head" },
      h("div", null, h("h1", null, "Executions"), h("p", { class: "sub" }, "Runbook runs, newest first.")),
      filter,
    ),
    list,
  );
  await load();
}

async function renderDetail(ctx, id) {
  const container = h("div");
  const outputs = new Map();
  let timer = null;

  const load = async () => {
    const detail = await api("GET", `/executions/${id}`);
    draw(ctx, container, detail, outputs, load);
  };
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(load, 150);
  };
  const mine = (e) => e.session_id === id;
  ctx.on("step:output", (e) => {
    if (!mine(e)) return;
    const pre = outputs.get(e.step_id);
    if (!pre) return soon();
    pre.hidden = false;
    pre.append(e.stream === "stderr" ? h("span", { class: "err" }, e.chunk) : e.chunk);
    pre.scrollTop = pre.scrollHeight;
  });
  for (const name of [
    "step:started",
    "step:finished",
    "session:updated",
    "session:finished",
    "approval:requested",
    "approval:decided",
  ]) {
    ctx.on(name, (e) => mine(e) && soon());
  }
  ctx.onLeave(() => clearTimeout(timer));
  mount(ctx.main, container);
  await load();
}

function draw(ctx, container, detail, outputs, reload) {
  const { session, steps, approvals, timeline } = detail;
  outputs.clear();
  const byStep = new Map();
  for (const a of approvals) {
    if (!byStep.has(a.step_id)) byStep.set(a.step_id, []);
    byStep.get(a.step_id).push(a);
  }
  const phases = ["prechecks", "main", "postchecks", "rollback"];
  const cancel = async () => {
    try {
      await api("POST", `/executions/${session.id}/cancel`, {
        json: { reason: "cancelled from the dashboard" },
      });
      reload();
    } catch (err) {
      toast(`${err.code}: ${err.message}`, "bad");
    }
  };

  // An interrupted step waits for a person: what became of its process is shown beside the choice.
  const resolver =
    ctx.can("approver") && session.status === "interrupted"
      ? async (step, choice) => {
          try {
            await api("POST", `/executions/${session.id}/steps/${step.id}/resolve`, { json: { choice } });
            reload();
          } catch (err) {
            toast(`${err.code}: ${err.message}`, "bad");
          }
        }
      : null;

  mount(
    container,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        null,
        h("a", { class: "crumb", href: "#/executions" }, "← Executions"),
        h("h1", null, `Execution #${session.id}: ${session.runbook_key} v${session.runbook_revision}`),
        h(
          "p",
          { class: "sub" },
          statusBadge(session.status),
          session.dry_run ? " dry run · " : " · ",
          "ticket ",
          h("a", { href: `#/tickets/${session.ticket_id}` }, `#${session.ticket_id}`),
          ` · started by ${session.started_by} `,
          session.caused_by && session.caused_by !== session.started_by
            ? `· caused by ${session.caused_by} `
            : "",
          time(session.created_at),
        ),
        session.error ? h("p", { class: "form-error" }, session.error) : null,
        (session.warnings ?? []).map((w) =>
          h("p", { class: "session-warning", "data-warning": "" }, `⚠ ${w}`),
        ),
      ),
      ctx.can("operator") && !finalStatuses.has(session.status)
        ? h("button", { type: "button", class: "btn btn-danger", onClick: cancel }, "Cancel execution")
        : null,
    ),
    h(
      "div",
      { class: "grid-3" },
      h(
        "div",
        { class: "panel", id: "steps" },
        h("h2", null, "Steps"),
        phases.map((phase) => {
          const list = steps.filter((s) => s.phase === phase);
          if (list.length === 0) return null;
          return [
            h("div", { class: "phase-title" }, phase),
            h(
              "ol",
              { class: "timeline" },
              list.map((s) => stepItem(s, byStep.get(s.id) ?? [], outputs, resolver)),
            ),
          ];
        }),
      ),
      h(
        "div",
        { class: "panel" },
        h("h2", null, "Timeline"),
        h(
          "ul",
          { class: "feed" },
          timeline.map((t) =>
            h("li", null, h("time", null, new Date(t.at).toLocaleTimeString()), h("span", null, t.message)),
          ),
        ),
      ),
    ),
  );
}

function stepItem(step, approvals, outputs, resolver) {
  const out = h("pre", { class: "output", hidden: !(step.stdout || step.stderr) });
  if (step.stdout) out.append(step.stdout);
  if (step.stderr) out.append(h("span", { class: "err" }, step.stderr));
  outputs.set(step.id, out);
  const duration =
    step.started_at && step.finished_at
      ? `${((new Date(step.finished_at) - new Date(step.started_at)) / 1000).toFixed(2)} s`
      : null;
  return h(
    "li",
    { class: `step s-${step.status}`, "data-step": step.id, "data-status": step.status },
    h(
      "div",
      { class: "step-head" },
      h("span", { class: "step-name" }, h("span", { class: "icon" }, icons[step.status] ?? "•"), step.name),
      h(
        "span",
        { class: "actions" },
        riskBadge(step.severity),
        statusBadge(step.status),
        step.exit_code !== null ? h("span", { class: "badge" }, `exit ${step.exit_code}`) : null,
        duration ? h("span", { class: "muted small" }, duration) : null,
      ),
    ),
    h("div", { class: "muted small mono" }, `${step.connection} $ `, step.rendered ?? step.command),
    approvals.flatMap((a) =>
      a.decisions.map((d) =>
        h(
          "div",
          { class: "decision" },
          h("b", null, d.actor),
          d.decision === "approve" ? " approved" : " rejected",
          d.comment ? `: “${d.comment}”` : "",
          " ",
          time(d.at),
        ),
      ),
    ),
    approvals.some((a) => a.status === "pending")
      ? h(
          "div",
          { class: "decision" },
          "Waiting for approval on the ",
          h("a", { href: "#/approvals" }, "Agent Dashboard"),
        )
      : null,
    step.error ? h("div", { class: "form-error" }, step.error) : null,
    step.process_check
      ? h(
          "div",
          { class: "decision", "data-process-check": step.process_check.outcome },
          h("b", null, `Process: ${step.process_check.outcome}`),
          ` — ${step.process_check.reason} `,
          time(step.process_check.at),
        )
      : null,
    resolver && step.status === "interrupted"
      ? h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "btn", onClick: () => resolver(step, "retry") }, "Retry step"),
          h("button", { type: "button", class: "btn", onClick: () => resolver(step, "skip") }, "Skip step"),
          h(
            "button",
            { type: "button", class: "btn btn-danger", onClick: () => resolver(step, "abort") },
            "Abort session",
          ),
        )
      : null,
    out,
  );
}
