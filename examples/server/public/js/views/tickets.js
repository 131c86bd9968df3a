// Tickets: the list, and a ticket's analysis (entities, ranked runbooks with their reasons).
import { api } from "../api.js";
import { h, mount, score, severityBadge, statusBadge, table, time, toast } from "../dom.js";

const statuses = ["", "new", "analyzed", "executing", "resolved", "failed", "needs_human", "closed"];

export async function render(ctx) {
  if (ctx.id) return renderDetail(ctx, Number(ctx.id));
  const filter = h(
    "select",
    { id: "ticket-status", "aria-label": "Status" },
    statuses.map((s) => h("option", { value: s }, s ? s.replaceAll("_", " ") : "All statuses")),
  );
  const list = h("div", { class: "panel panel-flush" });
  const load = async () => {
    const page = await api("GET", "/tickets", { query: { status: filter.value, limit: 200 } });
    mount(
      list,
      table(
        ["#", "Severity", "Title", "Service", "Env", "Source", "Status", "Decision", "Received"],
        page.items.map((t) =>
          h(
            "tr",
            { class: "clickable", onClick: () => (location.hash = `#/tickets/${t.id}`) },
            h("td", { class: "num" }, t.id),
            h("td", null, severityBadge(t.severity)),
            h(
              "td",
              null,
              h("span", { class: "title" }, t.title),
              t.occurrences > 1 ? h("span", { class: "muted small" }, ` ×${t.occurrences}`) : null,
            ),
            h("td", null, t.service || "—"),
            h("td", null, t.environment || "—"),
            h("td", null, t.source),
            h("td", null, statusBadge(t.status)),
            h("td", null, decisionText(t.analysis?.decision)),
            h("td", null, time(t.received_at)),
          ),
        ),
        { empty: "No tickets yet: upload a CSV or send a webhook." },
      ),
    );
  };
  filter.addEventListener("change", load);
  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(load, 400);
  };
  ctx.on("ticket:ingested", soon);
  ctx.on("ticket:updated", soon);
  ctx.onLeave(() => clearTimeout(timer));
  mount(
    ctx.main,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        null,
        h("h1", null, "Tickets"),
        h("p", { class: "sub" }, "Every incident received, newest first."),
      ),
      filter,
    ),
    list,
  );
  await load();
}

function decisionText(decision) {
  if (!decision) return "—";
  return { auto_execute: "auto-execute", suggest: "suggest", none: "—" }[decision.action] ?? decision.action;
}

/**
 * The analysis trace, stage by stage, fetched when opened: a ticket stores what is shown above,
 * and the trace is recomputed on demand (GET /tickets/{id}/trace).
 */
function traceDetails(id) {
  const body = h("div", null, h("p", { class: "muted small" }, "Loading…"));
  let loaded = false;
  const load = async (event) => {
    if (!event.currentTarget.open || loaded) return;
    loaded = true;
    try {
      const r = await api("GET", `/tickets/${id}/trace`);
      mount(
        body,
        r.matches_stored
          ? null
          : h(
              "p",
              { class: "muted small" },
              "Runbooks or the policy changed since this ticket was analyzed: this is how it would be analyzed now.",
            ),
        h(
          "ol",
          { class: "trace" },
          r.trace.map((t) =>
            h(
              "li",
              { "data-stage": t.stage },
              h("strong", null, t.stage),
              t.notes.length > 0
                ? h(
                    "ul",
                    { class: "reasons" },
                    t.notes.map((n) => h("li", null, n)),
                  )
                : h("span", { class: "muted small" }, " — nothing to note"),
            ),
          ),
        ),
      );
    } catch (err) {
      loaded = false;
      mount(body, h("p", { class: "muted" }, `${err.code}: ${err.message}`));
    }
  };
  return h(
    "details",
    { id: "analysis-trace", class: "trace-details", onToggle: load },
    h("summary", null, "Trace"),
    body,
  );
}

async function renderDetail(ctx, id) {
  const ticket = await api("GET", `/tickets/${id}`);
  const execs = await api("GET", "/executions", { query: { ticket_id: id, limit: 50 } }).catch(() => ({
    items: [],
  }));
  const remote = await api("GET", `/tickets/${id}/remote`).catch(() => ({ items: [] }));
  const remoteBox = h("div", { id: "remote-tickets" }, remote.items.map(remotePanel));
  const a = ticket.analysis;
  const dryRun = h("input", { type: "checkbox", id: "dry-run" });

  const start = async (runbookId) => {
    try {
      const session = await api("POST", "/executions", {
        json: { ticket_id: id, runbook_id: runbookId, dry_run: dryRun.checked },
      });
      location.hash = `#/executions/${session.session?.id ?? session.id}`;
    } catch (err) {
      toast(`${err.code}: ${err.message}`, "bad");
    }
  };

  const entities = a
    ? [
        ["Hosts", a.entities.hosts],
        ["IP addresses", a.entities.ips],
        ["Services", a.entities.services],
        ["Error codes", a.entities.error_codes],
        ["URLs", a.entities.urls],
      ].filter(([, v]) => v.length > 0)
    : [];

  mount(
    ctx.main,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        null,
        h("a", { class: "crumb", href: "#/tickets" }, "← Tickets"),
        h("h1", null, `#${ticket.id} `, ticket.title),
        h(
          "p",
          { class: "sub" },
          severityBadge(ticket.severity),
          " ",
          statusBadge(ticket.status),
          ticket.status_reason ? ` — ${ticket.status_reason}` : "",
        ),
      ),
    ),
    h(
      "div",
      { class: "grid-3" },
      h(
        "div",
        null,
        h(
          "div",
          { class: "panel" },
          h("h2", null, "Description"),
          h("p", { class: "prewrap" }, ticket.description || "—"),
        ),
        h(
          "div",
          { class: "panel" },
          h(
            "div",
            { class: "panel-head" },
            h("h2", null, "Matched runbooks"),
            ctx.can("operator") ? h("label", { class: "check" }, dryRun, "Dry run") : null,
          ),
          a
            ? table(
                ["Runbook", "Status", "Score", "Why", ""],
                a.candidates.map((c) =>
                  h(
                    "tr",
                    null,
                    h(
                      "td",
                      null,
                      h("a", { href: `#/runbooks/${c.runbook_id}` }, c.title),
                      h("div", { class: "muted small" }, `${c.runbook_key} v${c.runbook_version}`),
                    ),
                    h("td", null, statusBadge(c.status)),
                    h("td", null, score(c.score)),
                    h(
                      "td",
                      null,
                      h(
                        "ul",
                        { class: "reasons" },
                        c.reasons.map((r) => h("li", null, r)),
                      ),
                    ),
                    h(
                      "td",
                      null,
                      ctx.can("operator") && c.status !== "retired"
                        ? h(
                            "button",
                            {
                              type: "button",
                              class: "btn btn-small",
                              title:
                                c.status === "draft"
                                  ? "This runbook is a draft (not approved): it never runs automatically; this starts it by hand"
                                  : null,
                              onClick: () => start(c.runbook_id),
                            },
                            c.status === "draft" ? "Run draft" : "Run",
                          )
                        : null,
                    ),
                  ),
                ),
                { empty: "No runbook matched this ticket." },
              )
            : h("p", { class: "muted" }, "Not analyzed."),
        ),
        h(
          "div",
          { class: "panel panel-flush" },
          h("h2", null, "Executions"),
          table(
            ["#", "Runbook", "Status", "Started by", "Updated"],
            execs.items.map((s) =>
              h(
                "tr",
                { class: "clickable", onClick: () => (location.hash = `#/executions/${s.id}`) },
                h("td", { class: "num" }, s.id),
                h("td", null, `${s.runbook_key} v${s.runbook_revision}`),
                h("td", null, statusBadge(s.status)),
                h("td", null, s.started_by),
                h("td", null, time(s.updated_at)),
              ),
            ),
            { empty: "No execution for this ticket." },
          ),
        ),
        remoteBox,
      ),
      h(
        "div",
        null,
        h(
          "div",
          { class: "panel" },
          h("h2", null, "Analysis"),
          a
            ? h(
                "dl",
                { class: "kv" },
                h("dt", null, "Category"),
                h("dd", null, a.category),
                h("dt", null, "Decision"),
                h(
                  "dd",
                  null,
                  h("strong", null, decisionText(a.decision)),
                  h("div", { class: "muted small" }, a.decision.reason),
                ),
              )
            : h("p", { class: "muted" }, "Not analyzed."),
          entities.length > 0 ? h("h3", null, "Entities") : null,
          entities.map(([label, values]) =>
            h(
              "div",
              { class: "field" },
              h("label", null, label),
              values.map((v) => h("span", { class: "chip" }, v)),
            ),
          ),
          a ? traceDetails(id) : null,
        ),
        h(
          "div",
          { class: "panel" },
          h("h2", null, "Details"),
          h(
            "dl",
            { class: "kv" },
            h("dt", null, "Source"),
            h("dd", null, ticket.source),
            h("dt", null, "Submitted by"),
            h("dd", null, ticket.submitted_by ?? "—"),
            h("dt", null, "External id"),
            h("dd", null, ticket.external_id ?? "—"),
            h("dt", null, "Service"),
            h("dd", null, ticket.service || "—"),
            h("dt", null, "Environment"),
            h("dd", null, ticket.environment || "—"),
            h("dt", null, "Occurrences"),
            h("dd", null, ticket.occurrences),
            h("dt", null, "Received"),
            h("dd", null, time(ticket.received_at)),
            h("dt", null, "Last seen"),
            h("dd", null, time(ticket.last_seen_at)),
            h("dt", null, "Fingerprint"),
            h("dd", { class: "mono small" }, ticket.fingerprint),
          ),
        ),
      ),
    ),
  );

  // Notes and statuses reach the tool through the outbox: refresh the remote panel as they do.
  let timer;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const latest = await api("GET", `/tickets/${id}/remote`).catch(() => null);
      if (latest) mount(remoteBox, latest.items.map(remotePanel));
    }, 250);
  };
  const mine = (e) => Number(e?.ticket_id ?? e?.ticketId) === id;
  ctx.on("outbox:delivered", (e) => mine(e) && refresh());
  ctx.on("outbox:dead-lettered", (e) => mine(e) && refresh());
  ctx.onLeave(() => clearTimeout(timer));
}

/** The ticket's remote ticket in the synced ticketing tool: its link, the state written back, the notes. */
function remotePanel(r) {
  const notes = r.writes.filter((w) => w.kind === "comment");
  const statuses = r.writes.filter((w) => w.kind === "status");
  return h(
    "div",
    { class: "panel", id: "remote-ticket", "data-target": r.target },
    h("h2", null, `Remote ticket (${r.target})`),
    h(
      "dl",
      { class: "kv" },
      h("dt", null, "Ticket"),
      h(
        "dd",
        null,
        r.url
          ? h(
              "a",
              { href: r.url, target: "_blank", rel: "noopener noreferrer", class: "remote-link" },
              r.external_id ?? r.url,
            )
          : (r.external_id ?? "not created yet"),
      ),
      h("dt", null, "State written back"),
      h("dd", { class: "remote-state" }, r.state ? statusBadge(r.state) : "—"),
      h("dt", null, "Status changes"),
      h(
        "dd",
        null,
        statuses.length > 0
          ? statuses.map((w) =>
              h("span", { class: "chip", title: w.delivery }, `${w.status} (${w.delivery})`),
            )
          : "—",
      ),
    ),
    h("h3", null, `Notes written back (${notes.length})`),
    notes.length > 0
      ? h(
          "ol",
          { class: "remote-notes" },
          notes.map((w) =>
            h(
              "li",
              { "data-delivery": w.delivery },
              h("div", { class: "prewrap small" }, w.text ?? ""),
              h(
                "div",
                { class: "muted small" },
                `${w.delivery}${w.attempts > 1 ? `, ${w.attempts} attempts` : ""} · `,
                time(w.created_at),
                w.last_error ? ` · ${w.last_error}` : "",
              ),
            ),
          ),
        )
      : h("p", { class: "muted" }, "None yet."),
  );
}
