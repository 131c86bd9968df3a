// The runbook editor: a textarea with a line-number gutter, the parser's diagnostics at their
// line and column as you type (POST /runbooks/lint, debounced; nothing is stored), a preview of
// the plan, a dry run against a chosen ticket, and Save as draft → Approve.
import { api } from "../api.js";
import { badge, h, mount, riskBadge, statusBadge, toast } from "../dom.js";

const phases = ["prechecks", "main", "postchecks", "rollback"];
const phaseTitles = {
  prechecks: "Prechecks",
  main: "Main steps",
  postchecks: "Postchecks",
  rollback: "Rollback",
};
const lintDelayMs = 250;

/**
 * The editor panel. `initial` is the Markdown to start from (an existing runbook's, to edit it);
 * `expectKey` is that runbook's key (the preview warns when an edit would store under another);
 * `onSaved(result)` runs after a save.
 */
export function runbookEditor(ctx, { initial = "", heading = "Write a runbook", expectKey, onSaved } = {}) {
  const text = h("textarea", {
    id: "runbook-markdown",
    class: "editor-text",
    rows: 18,
    wrap: "off",
    spellcheck: "false",
    "aria-label": "Runbook Markdown",
    placeholder: "# Title\n\n## Main Steps\n- `command` (requires_approval: true)",
  });
  text.value = initial;
  const gutter = h("div", { class: "editor-gutter", id: "runbook-gutter", "aria-hidden": "true" });
  const status = h("p", { class: "lint-status muted small", id: "runbook-lint-status", role: "status" });
  const list = h("ul", { class: "diagnostics lint-list", id: "runbook-lint" });
  const preview = h("div", { id: "runbook-preview", class: "plan-preview" });
  const saveOut = h("div", { id: "runbook-diagnostics" });
  const saved = h("div", { id: "runbook-saved" });
  const file = h("input", { type: "file", accept: ".md,text/markdown", "aria-label": "Markdown file" });
  let diagnostics = [];
  let seq = 0;
  let timer;

  /** The offset in the text of a line and column (1-based), clamped to the text. */
  const offsetOf = (line, column) => {
    const lines = text.value.split("\n");
    let offset = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) offset += lines[i].length + 1;
    const lineText = lines[line - 1] ?? "";
    return offset + Math.min(Math.max(column - 1, 0), lineText.length);
  };

  /**
   * Moves the cursor to a line and column (selecting up to the diagnostic's end when it has one)
   * and scrolls it into view.
   */
  const goTo = (line, column, endLine, endColumn) => {
    const start = offsetOf(line, column);
    const end = endLine ? Math.max(start, offsetOf(endLine, endColumn ?? column)) : start;
    text.focus();
    text.setSelectionRange(start, end);
    const lineHeight = Number.parseFloat(getComputedStyle(text).lineHeight) || 18;
    text.scrollTop = Math.max(0, (line - 1) * lineHeight - text.clientHeight / 2);
    gutter.scrollTop = text.scrollTop;
  };

  const drawGutter = () => {
    const count = text.value.split("\n").length;
    const byLine = new Map();
    for (const d of diagnostics) {
      if (!byLine.has(d.line)) byLine.set(d.line, []);
      byLine.get(d.line).push(d);
    }
    const rows = [];
    for (let n = 1; n <= count; n++) {
      const notes = byLine.get(n);
      const severity = notes?.some((d) => d.severity === "error") ? "error" : notes ? "warning" : null;
      rows.push(
        h(
          "div",
          {
            class: `gutter-line${severity ? ` has-${severity}` : ""}`,
            "data-line": n,
            title: notes ? notes.map((d) => `${d.line}:${d.column} ${d.message}`).join("\n") : null,
            onClick: notes ? () => goTo(n, notes[0].column) : null,
          },
          severity ? h("span", { class: "mark" }, severity === "error" ? "✕" : "!") : null,
          String(n),
        ),
      );
    }
    // Rows past the text keep the gutter as tall as the scrolled textarea.
    rows.push(h("div", { class: "gutter-pad" }));
    mount(gutter, rows);
    gutter.scrollTop = text.scrollTop;
  };

  const drawList = () => {
    const errors = diagnostics.filter((d) => d.severity === "error").length;
    const warnings = diagnostics.length - errors;
    status.textContent =
      text.value.trim() === ""
        ? "Write Markdown: problems appear here as you type."
        : diagnostics.length === 0
          ? "No problems found."
          : `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`;
    status.dataset.state = errors > 0 ? "error" : warnings > 0 ? "warning" : "ok";
    mount(
      list,
      diagnostics.map((d) =>
        h(
          "li",
          { "data-severity": d.severity },
          h(
            "button",
            {
              type: "button",
              class: "diag-link",
              "data-line": d.line,
              "data-column": d.column,
              "data-end-line": d.end_line ?? null,
              "data-end-column": d.end_column ?? null,
              title: "Move the cursor there",
              onClick: () => goTo(d.line, d.column, d.end_line, d.end_column),
            },
            h("span", { class: "where" }, `${d.line}:${d.column}`),
            badge(d.severity, d.severity === "error" ? "bad" : "warn"),
            " ",
            d.message,
            h("span", { class: "muted small" }, `  ${d.rule_id}`),
          ),
        ),
      ),
    );
  };

  const lint = async () => {
    const mine = ++seq;
    const markdown = text.value;
    if (markdown.trim() === "") {
      diagnostics = [];
      drawGutter();
      drawList();
      mount(preview, h("p", { class: "muted" }, "The plan appears here once the Markdown parses."));
      return;
    }
    status.textContent = "Checking…";
    try {
      const result = await api("POST", "/runbooks/lint", {
        body: markdown,
        headers: { "content-type": "text/markdown" },
      });
      if (mine !== seq) return; // a newer keystroke's answer is on its way
      diagnostics = result.diagnostics;
      drawGutter();
      drawList();
      mount(preview, planPreview(result, expectKey));
    } catch (err) {
      if (mine !== seq) return;
      status.textContent = `Could not check: ${err.code}: ${err.message}`;
    }
  };
  const scheduleLint = () => {
    clearTimeout(timer);
    drawGutter();
    timer = setTimeout(lint, lintDelayMs);
  };
  text.addEventListener("input", scheduleLint);
  text.addEventListener("scroll", () => {
    gutter.scrollTop = text.scrollTop;
  });
  file.addEventListener("change", async () => {
    if (!file.files[0]) return;
    text.value = await file.files[0].text();
    scheduleLint();
  });
  ctx.onLeave?.(() => clearTimeout(timer));

  /** Stores the Markdown (a draft); shows the parser's errors on their lines when it is refused. */
  const store = async () => {
    mount(saveOut);
    try {
      return await api("POST", "/runbooks", {
        body: text.value,
        headers: { "content-type": "text/markdown" },
      });
    } catch (err) {
      if (err.code === "RW_ERR_RUNBOOK_INVALID")
        mount(saveOut, diagnosticsView(text.value, err.details.diagnostics ?? [], "The runbook has errors"));
      else mount(saveOut, h("p", { class: "form-error" }, `${err.code}: ${err.message}`));
      return null;
    }
  };

  const save = h(
    "button",
    { type: "button", class: "btn btn-primary", id: "runbook-upload" },
    "Save as draft",
  );
  save.addEventListener("click", async () => {
    save.disabled = true;
    try {
      const result = await store();
      if (!result) return;
      toast(
        result.created
          ? `Stored "${result.runbook.title}" as a draft (revision ${result.runbook.revision})`
          : "This runbook was already stored",
        "ok",
      );
      if (result.warnings.length > 0)
        mount(saveOut, diagnosticsView(text.value, result.warnings, "Stored with warnings"));
      mount(saved, savedView(ctx, result.runbook));
      onSaved?.(result);
    } finally {
      save.disabled = false;
    }
  });

  const dryRun = dryRunPanel(ctx, store);

  drawGutter();
  void lint();

  return h(
    "div",
    { class: "panel", id: "runbook-editor" },
    h("h2", null, heading),
    h("div", { class: "field" }, file),
    h(
      "div",
      { class: "editor-grid" },
      h(
        "div",
        { class: "editor-main" },
        h("div", { class: "editor" }, gutter, text),
        status,
        list,
        h("div", { class: "actions" }, save),
        saved,
        saveOut,
      ),
      h("div", { class: "editor-side" }, h("h3", null, "Plan"), preview, dryRun),
    ),
  );
}

/** After a save: where the draft is, and Approve for an approver (the API's rules apply). */
function savedView(ctx, runbook) {
  const out = h("div", { class: "saved-note" });
  const approve = async (button) => {
    button.disabled = true;
    try {
      const updated = await api("POST", `/runbooks/${runbook.id}/approve`);
      toast("Approved: it may now run automatically", "ok");
      mount(out, ...line(updated));
    } catch (err) {
      toast(`${err.code}: ${err.message}`, "bad");
      mount(out, ...line(runbook), h("p", { class: "form-error" }, `${err.code}: ${err.message}`));
    }
  };
  const line = (r) => [
    h(
      "p",
      null,
      statusBadge(r.status),
      " ",
      h(
        "a",
        { href: `#/runbooks/${r.id}`, id: "runbook-saved-link" },
        `${r.title} · ${r.key} r${r.revision}`,
      ),
    ),
    r.status === "draft" && ctx.can("approver")
      ? h(
          "p",
          { class: "actions" },
          h(
            "button",
            {
              type: "button",
              class: "btn btn-ok",
              id: "runbook-approve",
              onClick: (e) => approve(e.currentTarget),
            },
            "Approve",
          ),
          h("span", { class: "muted small" }, " Any approver may approve a draft, its author included."),
        )
      : r.status === "draft"
        ? h("p", { class: "muted small" }, "A draft runs only when started by hand; an approver approves it.")
        : null,
  ];
  return mount(out, ...line(runbook));
}

/** The plan the parser read: phases, steps with their text, risk, approvals and connection. */
function planPreview(result, expectKey) {
  const plan = result.plan;
  if (!plan) return h("p", { class: "muted", id: "plan-none" }, "No plan: fix the errors first.");
  const defaultConnection = plan.metadata?.connection ?? null;
  return h(
    "div",
    null,
    expectKey && result.key !== expectKey
      ? h(
          "p",
          { class: "form-error", id: "runbook-key-changed" },
          `Saving stores a new runbook "${result.key}", not a revision of "${expectKey}": keep the title, or set "id: ${expectKey}" in the front matter.`,
        )
      : null,
    h(
      "p",
      { class: "plan-title" },
      h("strong", null, plan.title),
      h("span", { class: "muted small" }, ` · key ${result.key}`),
    ),
    h(
      "p",
      { class: "muted small" },
      defaultConnection
        ? `Default connection: ${defaultConnection}`
        : "No default connection: the ticket's or the server's default is used.",
    ),
    phases.map((phase) =>
      plan.phases[phase].length === 0
        ? null
        : h(
            "div",
            { class: "plan-phase", "data-phase": phase },
            h("div", { class: "phase-title" }, phaseTitles[phase]),
            plan.phases[phase].map((s) =>
              h(
                "div",
                { class: "step", "data-step": s.name },
                h(
                  "div",
                  { class: "step-head" },
                  h("span", { class: "step-name" }, s.description ?? s.name),
                  h(
                    "span",
                    { class: "actions" },
                    riskBadge(s.severity),
                    s.requires_approval ? h("span", { class: "badge warn" }, "needs approval") : null,
                  ),
                ),
                h("pre", { class: "command" }, s.command),
                h(
                  "p",
                  { class: "muted small" },
                  `${s.name} · ${s.language} · on ${s.connection ?? defaultConnection ?? "the default connection"}`,
                ),
              ),
            ),
          ),
    ),
  );
}

/**
 * A dry run against a chosen ticket: the runbook is stored as a draft (the engine plans stored
 * runbooks only; the same Markdown is not stored twice), then dry-run: nothing runs, the answer
 * is every step's rendered command.
 */
function dryRunPanel(ctx, store) {
  const select = h(
    "select",
    { id: "dryrun-ticket", "aria-label": "Ticket" },
    h("option", { value: "" }, "Loading tickets…"),
  );
  const out = h("div", { id: "runbook-dryrun" });
  const button = h("button", { type: "button", class: "btn", id: "runbook-dryrun-btn" }, "Dry run");
  // Loaded again when the list is opened, so a ticket that arrived since is there to choose.
  const loadTickets = () =>
    api("GET", "/tickets", { query: { limit: 100 } })
      .then((page) => {
        const ids = page.items.map((t) => String(t.id)).join(",");
        if (select.dataset.ids === ids) return; // unchanged: leave the open list alone
        select.dataset.ids = ids;
        const chosen = select.value;
        mount(
          select,
          page.items.length === 0
            ? h("option", { value: "" }, "No tickets yet")
            : page.items.map((t) => h("option", { value: t.id }, `#${t.id} ${t.title}`)),
        );
        if (chosen && page.items.some((t) => String(t.id) === chosen)) select.value = chosen;
      })
      .catch(() => mount(select, h("option", { value: "" }, "Tickets could not be loaded")));
  void loadTickets();
  select.addEventListener("focus", () => void loadTickets());
  button.addEventListener("click", async () => {
    const ticketId = Number(select.value);
    if (!ticketId) {
      mount(out, h("p", { class: "form-error" }, "Choose a ticket first."));
      return;
    }
    button.disabled = true;
    mount(out, h("p", { class: "muted" }, "Planning…"));
    try {
      const stored = await store();
      if (!stored) {
        mount(out, h("p", { class: "form-error" }, "The runbook has errors: fix them to dry-run it."));
        return;
      }
      const detail = await api("POST", "/executions", {
        json: { ticket_id: ticketId, runbook_id: stored.runbook.id, dry_run: true },
      });
      mount(out, dryRunView(stored, detail));
    } catch (err) {
      mount(out, h("p", { class: "form-error" }, `${err.code}: ${err.message}`));
    } finally {
      button.disabled = false;
    }
  });
  return h(
    "div",
    { class: "dryrun" },
    h("h3", null, "Dry run"),
    ctx.can("operator")
      ? [h("div", { class: "row" }, h("div", { class: "grow" }, select), button), out]
      : h("p", { class: "muted small" }, "A dry run needs the operator role."),
  );
}

function dryRunView(stored, detail) {
  const session = detail.session;
  return h(
    "div",
    null,
    h(
      "p",
      { class: "muted small" },
      `${stored.created ? "Stored as draft" : "Already stored as"} ${stored.runbook.key} r${stored.runbook.revision}; `,
      h("a", { href: `#/executions/${session.id}` }, `dry run #${session.id}`),
      " ",
      statusBadge(session.status),
      session.error ? ` ${session.error}` : "",
    ),
    (detail.plan ?? []).map((p) =>
      h(
        "div",
        { class: `step${p.error ? " has-error" : ""}`, "data-index": p.index },
        h(
          "div",
          { class: "step-head" },
          h("span", { class: "step-name" }, `${phaseTitles[p.phase]}: ${p.name}`),
          h(
            "span",
            { class: "actions" },
            riskBadge(p.severity),
            p.requires_approval
              ? h(
                  "span",
                  { class: "badge warn" },
                  `waits for ${p.approvals_required} approval${p.approvals_required === 1 ? "" : "s"}`,
                )
              : null,
          ),
        ),
        p.rendered !== null
          ? h("pre", { class: "command rendered" }, p.rendered)
          : h("p", { class: "form-error" }, p.error),
        p.connection
          ? h(
              "p",
              { class: "muted small" },
              `on ${p.connection.name} (${p.connection.connection_type}${p.connection.target_host ? ` ${p.connection.target_host}` : ""}, from the ${p.connection.source})`,
            )
          : null,
      ),
    ),
  );
}

/** The Markdown with each diagnostic under its line, and the list of them. */
export function diagnosticsView(markdown, diagnostics, heading) {
  const byLine = new Map();
  for (const d of diagnostics) {
    if (!byLine.has(d.line)) byLine.set(d.line, []);
    byLine.get(d.line).push(d);
  }
  const lines = markdown.replace(/^\uFEFF/, "").split(/\r?\n/);
  return h(
    "div",
    { class: "diagnostics-view" },
    h("h3", null, heading),
    h(
      "ul",
      { class: "diagnostics" },
      diagnostics.map((d) =>
        h(
          "li",
          { "data-severity": d.severity },
          h("span", { class: "where" }, `${d.line}:${d.column}`),
          badge(d.severity, d.severity === "error" ? "bad" : "warn"),
          " ",
          d.message,
          h("span", { class: "muted small" }, `  ${d.rule_id}`),
        ),
      ),
    ),
    h(
      "div",
      { class: "code-view" },
      lines.map((line, i) => codeLine(i + 1, line, byLine.get(i + 1))),
    ),
  );
}

export function codeLine(n, text, notes) {
  const severity = notes?.some((d) => d.severity === "error") ? "error" : notes ? "warning" : null;
  return h(
    "div",
    { class: `code-line${severity ? ` has-${severity}` : ""}`, "data-line": n },
    h("span", { class: "ln" }, n),
    h("span", { class: "tx" }, text || " "),
    (notes ?? []).map((d) =>
      h(
        "div",
        { class: `code-note ${d.severity}` },
        `${d.severity === "error" ? "✕" : "!"} ${d.message} (${d.rule_id})`,
      ),
    ),
  );
}
