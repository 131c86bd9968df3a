// Runbooks: the list, one runbook's steps and source, and an upload whose diagnostics are shown
// on the lines they are about.
import { api } from "../api.js";
import { badge, h, mount, riskBadge, statusBadge, table, time, toast } from "../dom.js";

export async function render(ctx) {
  if (ctx.id) return renderDetail(ctx, Number(ctx.id));
  const list = h("div", { class: "panel panel-flush" });
  const load = async () => {
    const page = await api("GET", "/runbooks", { query: { limit: 200 } });
    mount(
      list,
      h("h2", null, "Runbooks"),
      table(
        ["#", "Title", "Key", "Rev", "Status", "Approved by", "Updated"],
        page.items.map((r) =>
          h(
            "tr",
            { class: "clickable", onClick: () => (location.hash = `#/runbooks/${r.id}`) },
            h("td", { class: "num" }, r.id),
            h("td", null, h("span", { class: "title" }, r.title)),
            h("td", { class: "mono" }, r.key),
            h("td", { class: "num" }, r.revision),
            h("td", null, statusBadge(r.status)),
            h("td", null, r.approved_by ?? "—"),
            h("td", null, time(r.updated_at)),
          ),
        ),
        { empty: "No runbooks yet." },
      ),
    );
  };
  mount(
    ctx.main,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        null,
        h("h1", null, "Runbooks"),
        h("p", { class: "sub" }, "Markdown procedures: only approved ones run automatically."),
      ),
    ),
    ctx.can("operator") ? uploadPanel(load) : null,
    list,
  );
  await load();
}

function uploadPanel(reload) {
  const text = h("textarea", {
    rows: 12,
    id: "runbook-markdown",
    placeholder: "# Title\n\n## Main Steps\n- `command` (requires_approval: true)",
  });
  const file = h("input", { type: "file", accept: ".md,text/markdown", "aria-label": "Markdown file" });
  const out = h("div", { id: "runbook-diagnostics" });
  file.addEventListener("change", async () => {
    if (file.files[0]) text.value = await file.files[0].text();
  });
  const submit = h(
    "button",
    { type: "button", class: "btn btn-primary", id: "runbook-upload" },
    "Upload runbook",
  );
  submit.addEventListener("click", async () => {
    submit.disabled = true;
    mount(out);
    try {
      const result = await api("POST", "/runbooks", {
        body: text.value,
        headers: { "content-type": "text/markdown" },
      });
      toast(
        result.created ? `Stored "${result.runbook.title}" as a draft` : "This runbook was already stored",
        "ok",
      );
      if (result.warnings.length > 0)
        mount(out, diagnosticsView(text.value, result.warnings, "Stored with warnings"));
      else text.value = "";
      reload();
    } catch (err) {
      if (err.code === "RW_ERR_RUNBOOK_INVALID")
        mount(out, diagnosticsView(text.value, err.details.diagnostics ?? [], "The runbook has errors"));
      else mount(out, h("p", { class: "form-error" }, `${err.code}: ${err.message}`));
    } finally {
      submit.disabled = false;
    }
  });
  return h(
    "div",
    { class: "panel" },
    h("h2", null, "Upload a runbook"),
    h("div", { class: "field" }, file),
    text,
    h("div", { class: "actions", style: null }, submit),
    out,
  );
}

/** The Markdown with each diagnostic under its line, and the list of them. */
function diagnosticsView(markdown, diagnostics, heading) {
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

function codeLine(n, text, notes) {
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

async function renderDetail(ctx, id) {
  const r = await api("GET", `/runbooks/${id}`);
  const act = async (action) => {
    try {
      await api("POST", `/runbooks/${id}/${action}`);
      toast(action === "approve" ? "Approved: it may now run automatically" : "Retired", "ok");
      renderDetail(ctx, id);
    } catch (err) {
      toast(`${err.code}: ${err.message}`, "bad");
    }
  };
  const plan = r.plan;
  const phases = ["prechecks", "main", "postchecks", "rollback"];
  mount(
    ctx.main,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        null,
        h("a", { class: "crumb", href: "#/runbooks" }, "← Runbooks"),
        h("h1", null, r.title),
        h(
          "p",
          { class: "sub" },
          statusBadge(r.status),
          ` ${r.key} · revision ${r.revision} · uploaded by ${r.created_by ?? "—"}`,
          r.approved_by ? ` · approved by ${r.approved_by}` : "",
        ),
      ),
      h(
        "div",
        { class: "actions" },
        ctx.can("approver") && r.status === "draft"
          ? h("button", { type: "button", class: "btn btn-ok", onClick: () => act("approve") }, "Approve")
          : null,
        ctx.can("approver") && r.status !== "retired"
          ? h("button", { type: "button", class: "btn btn-danger", onClick: () => act("retire") }, "Retire")
          : null,
      ),
    ),
    h(
      "div",
      { class: "grid-2" },
      h(
        "div",
        { class: "panel" },
        h("h2", null, "Steps"),
        plan.description ? h("p", { class: "muted" }, plan.description) : null,
        phases.map((phase) =>
          plan.phases[phase].length === 0
            ? null
            : [
                h("div", { class: "phase-title" }, phase),
                plan.phases[phase].map((s) =>
                  h(
                    "div",
                    { class: "step" },
                    h(
                      "div",
                      { class: "step-head" },
                      h("span", { class: "step-name" }, s.name),
                      h(
                        "span",
                        { class: "actions" },
                        riskBadge(s.severity),
                        s.requires_approval ? h("span", { class: "badge warn" }, "needs approval") : null,
                      ),
                    ),
                    h("pre", { class: "command" }, s.command),
                    s.description ? h("p", { class: "muted small" }, s.description) : null,
                  ),
                ),
              ],
        ),
      ),
      h(
        "div",
        { class: "panel" },
        h("h2", null, "Source"),
        h(
          "div",
          { class: "code-view" },
          r.markdown.split(/\r?\n/).map((line, i) => codeLine(i + 1, line)),
        ),
      ),
    ),
  );
}
