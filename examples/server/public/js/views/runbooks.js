// Runbooks: the list with the editor (write one, diagnostics as you type, plan preview, dry run,
// save as draft, approve), one runbook's steps and source, and editing it from its Markdown.
import { api } from "../api.js";
import { h, mount, riskBadge, statusBadge, table, time, toast } from "../dom.js";
import { codeLine, runbookEditor } from "./runbook-editor.js";

export async function render(ctx) {
  if (ctx.id && /^#\/?runbooks\/[^/]+\/edit$/.test(location.hash)) return renderEdit(ctx, Number(ctx.id));
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
    ctx.can("operator") ? runbookEditor(ctx, { onSaved: () => load() }) : null,
    list,
  );
  await load();
}

/** Editing a stored runbook: its Markdown in the editor; saving stores the next revision as a draft. */
async function renderEdit(ctx, id) {
  const r = await api("GET", `/runbooks/${id}`);
  mount(
    ctx.main,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        null,
        h("a", { class: "crumb", href: `#/runbooks/${id}` }, `← ${r.title}`),
        h("h1", null, `Edit ${r.title}`),
        h(
          "p",
          { class: "sub" },
          statusBadge(r.status),
          ` ${r.key} · revision ${r.revision}: saving stores the next revision as a draft; this one stays as it is until that is approved.`,
        ),
      ),
    ),
    ctx.can("operator")
      ? runbookEditor(ctx, {
          initial: r.markdown,
          heading: `Revision ${r.revision}, edited`,
          expectKey: r.key,
        })
      : h(
          "div",
          { class: "panel" },
          h("p", { class: "muted" }, "Editing a runbook needs the operator role."),
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
        ctx.can("operator")
          ? h("a", { class: "btn", id: "runbook-edit", href: `#/runbooks/${id}/edit` }, "Edit")
          : null,
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
