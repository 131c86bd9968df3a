// Agent Dashboard: pending approvals with the exact command, target and risk; approve or reject
// with a comment. The list follows the live stream, so new requests appear without a reload.
import { api } from "../api.js";
import { clock, h, mount, riskBadge, time, toast } from "../dom.js";

const feedNames = {
  "ticket:ingested": (e) =>
    `Ticket #${e.ticket_id} received from ${e.source}${e.deduplicated ? " (repeat)" : ""}`,
  "session:created": (e) => `Execution #${e.session_id} started for ticket #${e.ticket_id}`,
  "session:finished": (e) => `Execution #${e.session_id} ${e.status.replaceAll("_", " ")}`,
  "step:finished": (e) => `Execution #${e.session_id}: ${e.name} ${e.status.replaceAll("_", " ")}`,
  "approval:requested": (e) => `Approval #${e.approval_id} requested (${e.risk.replace("_risk", " risk")})`,
  "approval:decided": (e) => `Approval #${e.approval_id} ${e.status} by ${e.actor}`,
};

export async function render(ctx) {
  const cards = h("div", { class: "cards", id: "approval-cards" });
  const summary = h("p", { class: "sub" });
  const feed = h("ul", { class: "feed", id: "activity" });

  const load = async () => {
    const page = await api("GET", "/approvals", { query: { status: "pending", limit: 200 } });
    summary.textContent =
      page.items.length === 0
        ? "Nothing waits for a decision."
        : `${page.items.length} step${page.items.length === 1 ? "" : "s"} waiting for a decision.`;
    mount(
      cards,
      page.items.length === 0
        ? h(
            "div",
            { class: "panel empty" },
            "No pending approvals. Upload tickets that match an approved runbook and they will appear here.",
          )
        : page.items.map((a) => card(ctx, a, load)),
    );
  };

  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(load, 200);
  };
  ctx.on("approval:requested", soon);
  ctx.on("approval:decided", soon);
  ctx.on("*", (data, name) => {
    const text = feedNames[name]?.(data);
    if (!text) return;
    feed.prepend(h("li", null, h("time", null, clock()), h("span", null, text)));
    while (feed.children.length > 60) feed.lastChild.remove();
  });
  ctx.onLeave(() => clearTimeout(timer));

  mount(
    ctx.main,
    h("div", { class: "page-head" }, h("div", null, h("h1", null, "Agent Dashboard"), summary)),
    h(
      "div",
      { class: "grid-3" },
      cards,
      h(
        "div",
        { class: "panel" },
        h("h2", null, "Live activity"),
        feed,
        h("p", { class: "muted small" }, "Events appear here as they happen."),
      ),
    ),
  );
  await load();
}

function card(ctx, a, reload) {
  const comment = h("textarea", {
    rows: 2,
    placeholder: "Comment (recorded in the audit log)",
    "aria-label": "Comment",
  });
  const buttons = [];
  const decide = async (decision) => {
    for (const b of buttons) b.disabled = true;
    try {
      await api("POST", `/approvals/${a.id}/${decision}`, { json: { comment: comment.value } });
      toast(
        decision === "approve" ? `Approved: ${a.step_name}` : `Rejected: ${a.step_name}`,
        decision === "approve" ? "ok" : "",
      );
      reload();
    } catch (err) {
      toast(`${err.code}: ${err.message}`, "bad");
      for (const b of buttons) b.disabled = excluded && b.dataset.action === "approve";
    }
  };
  const canDecide = ctx.can("approver");
  // The four-eyes rule: whoever started or caused the session may not approve a high_risk step.
  const me = ctx.me.actor;
  const excluded = (a.excluded_actors ?? []).includes(me);
  const excludedReason = !excluded
    ? null
    : a.caused_by === me && a.started_by !== me
      ? "You caused this session (your upload or request started it); a high_risk step needs another approver."
      : "You started this session; a high_risk step needs another approver.";
  if (canDecide) {
    buttons.push(
      h(
        "button",
        {
          type: "button",
          class: "btn btn-ok",
          "data-action": "approve",
          disabled: excluded,
          title: excludedReason,
          onClick: () => decide("approve"),
        },
        "Approve",
      ),
      h(
        "button",
        { type: "button", class: "btn btn-danger", "data-action": "reject", onClick: () => decide("reject") },
        "Reject",
      ),
    );
  }
  return h(
    "article",
    { class: `card risk-${a.risk}`, "data-approval": a.id },
    h(
      "div",
      { class: "card-head" },
      h(
        "div",
        null,
        h("div", { class: "card-title" }, a.step_name),
        h(
          "div",
          { class: "muted small" },
          h("a", { href: `#/tickets/${a.ticket_id}` }, `Ticket #${a.ticket_id}`),
          ": ",
          a.ticket_title,
        ),
      ),
      riskBadge(a.risk),
    ),
    h("pre", { class: "command" }, a.rendered_command),
    h(
      "div",
      { class: "meta" },
      h("span", null, "Target ", h("b", null, a.target)),
      h("span", null, "Execution ", h("a", { href: `#/executions/${a.session_id}` }, `#${a.session_id}`)),
      h("span", null, "Started by ", h("b", null, a.started_by)),
      a.caused_by && a.caused_by !== a.started_by
        ? h("span", null, "Caused by ", h("b", null, a.caused_by))
        : null,
      h("span", null, "Requested ", time(a.requested_at)),
      h("span", null, "Expires ", time(a.expires_at)),
      a.required_approvals > 1
        ? h("span", null, h("b", null, `${a.decisions.length}/${a.required_approvals}`), " approvals")
        : null,
    ),
    a.risk === "high_risk"
      ? h(
          "p",
          { class: "small muted" },
          "High risk: someone other than the person who started or caused the execution must approve.",
        )
      : null,
    canDecide
      ? [
          comment,
          h("div", { class: "actions" }, buttons),
          excludedReason ? h("p", { class: "small muted", "data-excluded": "" }, excludedReason) : null,
        ]
      : h("p", { class: "muted small" }, "Your token has no approver role."),
  );
}
