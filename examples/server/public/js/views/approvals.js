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
  "runbook:auto-execution-paused": (e) => `Auto-execution of ${e.key} paused after ${e.failures} failures`,
  "runbook:auto-execution-resumed": (e) => `Auto-execution of ${e.key} resumed by ${e.actor}`,
};

export async function render(ctx) {
  const cards = h("div", { id: "approval-cards", class: "groups" });
  const summary = h("p", { class: "sub" });
  const feed = h("ul", { class: "feed", id: "activity" });
  const banner = h("div", { id: "storm-banner" });
  const filters = {
    risk: h("select", { "aria-label": "Risk", "data-filter": "risk" }),
    environment: h("select", { "aria-label": "Environment", "data-filter": "environment" }),
    runbook: h("select", { "aria-label": "Runbook", "data-filter": "runbook" }),
  };
  let items = [];

  const options = (select, label, values, format = (v) => v) => {
    const current = select.value;
    mount(
      select,
      h("option", { value: "" }, label),
      [...values].sort().map((v) => h("option", { value: v }, format(v))),
    );
    select.value = values.has(current) ? current : "";
  };

  const draw = () => {
    const shown = items.filter(
      (a) =>
        (!filters.risk.value || a.risk === filters.risk.value) &&
        (!filters.environment.value || (a.environment ?? "") === filters.environment.value) &&
        (!filters.runbook.value || (a.runbook_key ?? "") === filters.runbook.value),
    );
    const hidden = items.length - shown.length;
    summary.textContent =
      items.length === 0
        ? "Nothing waits for a decision."
        : `${items.length} step${items.length === 1 ? "" : "s"} waiting for a decision` +
          (hidden > 0 ? ` (${hidden} hidden by the filters).` : ".");
    if (items.length === 0) {
      mount(
        cards,
        h(
          "div",
          { class: "panel empty" },
          "No pending approvals. Upload tickets that match an approved runbook and they will appear here.",
        ),
      );
      return;
    }
    // One group per execution (so per ticket), the group whose approval expires first on top.
    const groups = new Map();
    for (const a of shown) {
      if (!groups.has(a.session_id)) groups.set(a.session_id, []);
      groups.get(a.session_id).push(a);
    }
    const ordered = [...groups.values()]
      .map((list) => list.sort((x, y) => x.id - y.id))
      .sort((x, y) => firstExpiry(x) - firstExpiry(y));
    mount(
      cards,
      ordered.length === 0
        ? h("div", { class: "panel empty" }, "No approval matches these filters.")
        : ordered.map((list) => group(ctx, list, load)),
    );
  };

  const load = async () => {
    const page = await api("GET", "/approvals", { query: { status: "pending", limit: 200 } });
    items = page.items;
    options(filters.risk, "All risks", new Set(items.map((a) => a.risk)), (r) => r.replace("_risk", " risk"));
    options(
      filters.environment,
      "All environments",
      new Set(items.map((a) => a.environment ?? "")),
      (e) => e || "(none)",
    );
    options(
      filters.runbook,
      "All runbooks",
      new Set(items.map((a) => a.runbook_key ?? "")),
      (k) => k || "(unknown)",
    );
    draw();
  };

  const loadBanner = async () => {
    const paused = await api("GET", "/auto-execution/paused");
    mount(
      banner,
      paused.items.map((p) =>
        h(
          "div",
          { class: "notice warn", role: "alert", "data-paused": p.runbook_key },
          h(
            "p",
            null,
            h("strong", null, "Auto-execution paused: "),
            `runbook ${p.runbook_key} failed ${p.failures} time${p.failures === 1 ? "" : "s"} in a row, so its tickets wait for a person`,
            p.until ? ` until ${new Date(p.until).toLocaleTimeString()}` : "",
            ". Look at its failed executions before resuming.",
          ),
          ctx.can("approver")
            ? h(
                "button",
                {
                  type: "button",
                  class: "btn btn-small",
                  "data-action": "resume",
                  onClick: async (e) => {
                    e.currentTarget.disabled = true;
                    try {
                      await api("POST", `/auto-execution/paused/${encodeURIComponent(p.runbook_key)}/resume`);
                      toast(`Auto-execution of ${p.runbook_key} resumed.`, "ok");
                    } catch (err) {
                      toast(err.message, "bad");
                    }
                    loadBanner();
                  },
                },
                "Resume auto-execution",
              )
            : null,
        ),
      ),
    );
  };

  const addToFeed = (name, data, at) => {
    const text = feedNames[name]?.(data);
    if (!text) return;
    feed.prepend(h("li", null, h("time", null, clock(at)), h("span", null, text)));
    while (feed.children.length > 60) feed.lastChild.remove();
  };

  for (const select of Object.values(filters)) select.addEventListener("change", draw);
  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(load, 200);
  };
  ctx.on("approval:requested", soon);
  ctx.on("approval:decided", soon);
  ctx.on("runbook:auto-execution-paused", loadBanner);
  ctx.on("runbook:auto-execution-resumed", loadBanner);
  ctx.on("*", (data, name) => addToFeed(name, data, new Date()));
  ctx.onLeave(() => clearTimeout(timer));

  mount(
    ctx.main,
    h(
      "div",
      { class: "page-head" },
      h("div", null, h("h1", null, "Agent Dashboard"), summary),
      h("div", { class: "filters" }, Object.values(filters)),
    ),
    banner,
    h(
      "div",
      { class: "grid-3" },
      cards,
      h(
        "div",
        { class: "panel" },
        h("h2", null, "Live activity"),
        feed,
        h("p", { class: "muted small" }, "The latest events, then each as it happens."),
      ),
    ),
  );
  // The recent past first, so the feed is not empty on arrival.
  const [recent] = await Promise.all([
    api("GET", "/events/recent", { query: { limit: 60 } }),
    load(),
    loadBanner(),
  ]);
  for (const e of recent.items) addToFeed(e.event, e.data, new Date(e.at));
}

const firstExpiry = (list) => Math.min(...list.map((a) => Date.parse(a.expires_at)));

/** An execution's pending approvals under one heading: its ticket, runbook and environment. */
function group(ctx, list, reload) {
  const a = list[0];
  return h(
    "section",
    { class: "group", "data-session": a.session_id },
    h(
      "div",
      { class: "group-head" },
      h(
        "div",
        null,
        h("a", { href: `#/tickets/${a.ticket_id}` }, `Ticket #${a.ticket_id}`),
        ": ",
        h("strong", null, a.ticket_title),
      ),
      h(
        "div",
        { class: "muted small" },
        h("a", { href: `#/executions/${a.session_id}` }, `Execution #${a.session_id}`),
        a.runbook_key ? ` · ${a.runbook_key}` : "",
        a.environment ? ` · ${a.environment}` : "",
        " · ",
        h("span", { class: "count-badge", "data-count": list.length }, `${list.length} waiting`),
        " · expires ",
        time(new Date(firstExpiry(list)).toISOString()),
      ),
    ),
    h(
      "div",
      { class: "cards" },
      list.map((x) => card(ctx, x, reload)),
    ),
  );
}

/** An approval's card: the exact command, target, risk, expiry and (for an approver) Approve/Reject. */
export function card(ctx, a, reload) {
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
        decision === "approve"
          ? `Approved: ${a.step_title ?? a.step_name}`
          : `Rejected: ${a.step_title ?? a.step_name}`,
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
        h("div", { class: "card-title" }, a.step_title ?? a.step_name),
        h("div", { class: "muted small mono" }, a.step_name),
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
