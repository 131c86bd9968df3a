// Upload Tickets: the CSV template, an upload with progress, and per-row results.
import { download, upload } from "../api.js";
import { badge, h, mount, table, toast } from "../dom.js";

const decisionLabel = { auto_execute: "auto-execute", suggest: "suggest", none: "no match" };
const statusKind = { imported: "ok", folded: "accent", reopened: "warn", rejected: "bad" };
const statusLabel = { imported: "imported", folded: "folded", reopened: "reopened", rejected: "rejected" };

export function render(ctx) {
  const fileInput = h("input", { type: "file", accept: ".csv,text/csv", id: "csv-file", class: "sr-file" });
  const chosen = h("p", { class: "muted small" }, "No file chosen.");
  const autoExec = h("input", { type: "checkbox", id: "auto-execute", checked: true });
  const uploadBtn = h(
    "button",
    { type: "button", class: "btn btn-primary", id: "upload-btn", disabled: true },
    "Upload and analyze",
  );
  const bar = h("div");
  const progress = h("div", { class: "progress", hidden: true }, bar);
  const progressText = h("p", { class: "muted small", id: "upload-progress" });
  const results = h("div", { id: "upload-results" });

  const zone = h(
    "div",
    { class: "dropzone" },
    h(
      "p",
      null,
      h("strong", null, "Drop a CSV file here"),
      " or ",
      h("label", { for: "csv-file", class: "link-label" }, "choose one"),
    ),
    fileInput,
    chosen,
  );
  let file = null;
  const pick = (f) => {
    file = f ?? null;
    chosen.textContent = file ? `${file.name} · ${(file.size / 1024).toFixed(1)} KiB` : "No file chosen.";
    uploadBtn.disabled = !file;
  };
  fileInput.addEventListener("change", () => pick(fileInput.files[0]));
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    pick(e.dataTransfer.files[0]);
  });

  // Progress events of this upload stop counting once its answer is in: the line ends "Done".
  let busy = false;
  ctx.on("import:progressed", (p) => {
    if (!busy) return;
    progressText.textContent = `Analyzed ${p.rows} rows: ${p.imported} imported, ${p.deduplicated} folded into open tickets, ${p.rejected} rejected…`;
  });

  uploadBtn.addEventListener("click", async () => {
    if (!file) return;
    uploadBtn.disabled = true;
    busy = true;
    progress.hidden = false;
    bar.style.width = "0%";
    progressText.textContent = "Uploading…";
    mount(results);
    const form = new FormData();
    form.append("file", file, file.name);
    try {
      const result = await upload("/tickets/upload-csv", form, {
        query: { auto_execute: autoExec.checked ? "true" : "false" },
        onProgress: (f) => {
          bar.style.width = `${Math.round(f * 100)}%`;
          progressText.textContent = f < 1 ? `Uploading… ${Math.round(f * 100)}%` : "Analyzing tickets…";
        },
      });
      busy = false;
      bar.style.width = "100%";
      progressText.textContent = `Done: ${result.rows} rows, ${result.imported} imported, ${result.deduplicated} folded into existing tickets, ${result.rejected} rejected.`;
      progressText.dataset.state = "done";
      showResults(results, result);
      toast(`${result.imported} tickets imported`, "ok");
    } catch (err) {
      busy = false;
      progress.hidden = true;
      progressText.textContent = "";
      mount(
        results,
        h(
          "div",
          { class: "panel" },
          h("p", { class: "form-error" }, `${err.code ?? "Error"}: ${err.message}`),
        ),
      );
    } finally {
      uploadBtn.disabled = false;
    }
  });

  mount(
    ctx.main,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        null,
        h("h1", null, "Upload Tickets"),
        h(
          "p",
          { class: "sub" },
          "Import incidents from a CSV file: each row is analyzed and matched to a runbook.",
        ),
      ),
    ),
    h(
      "div",
      { class: "grid-3" },
      h(
        "div",
        { class: "panel" },
        h("h2", null, "Upload a CSV"),
        zone,
        h(
          "label",
          { class: "check" },
          autoExec,
          "Auto-execute matching runbooks (approval steps still wait for an approver)",
        ),
        h("div", { class: "actions" }, uploadBtn),
        progress,
        progressText,
      ),
      h(
        "div",
        { class: "panel" },
        h("h2", null, "CSV template"),
        h(
          "p",
          { class: "muted" },
          "Columns: title, description, severity, environment, service, source. Only title is required.",
        ),
        h(
          "button",
          {
            type: "button",
            class: "btn",
            id: "template-btn",
            onClick: () =>
              download("/tickets/csv-template", "tickets_template.csv").catch((e) => toast(e.message, "bad")),
          },
          "Download CSV template",
        ),
      ),
    ),
    results,
  );
}

function showResults(container, result) {
  const rows = (result.results ?? []).map((r) =>
    h(
      "tr",
      {
        class: r.ticket_id ? "clickable" : "",
        onClick: r.ticket_id ? () => (location.hash = `#/tickets/${r.ticket_id}`) : null,
      },
      h("td", { class: "num" }, r.row),
      h("td", { class: "num" }, r.line ?? "—"),
      h("td", null, badge(statusLabel[r.status] ?? r.status, statusKind[r.status] ?? "bad")),
      h("td", null, r.ticket_id ? h("a", { href: `#/tickets/${r.ticket_id}` }, `#${r.ticket_id}`) : "—"),
      h("td", null, r.title ?? "—"),
      h("td", null, r.decision ? decisionLabel[r.decision] : "—"),
      h("td", null, r.runbook ? h("a", { href: `#/runbooks/${r.runbook.id}` }, r.runbook.title) : "—"),
      h("td", { class: "muted" }, r.reason ?? ""),
    ),
  );
  mount(
    container,
    h(
      "div",
      { class: "panel panel-flush" },
      h("h2", null, "Results"),
      h(
        "div",
        { class: "stats", style: null },
        stat(result.rows, "rows"),
        stat(result.imported, "imported"),
        stat(result.deduplicated, "folded into existing tickets"),
        stat(result.rejected, "rejected"),
      ),
      result.results
        ? table(["Row", "Line", "Status", "Ticket", "Title", "Decision", "Runbook", "Reason"], rows)
        : h(
            "p",
            { class: "muted" },
            `${result.errors.length} errors listed; the file is too large to list every row.`,
          ),
    ),
  );
}

function stat(value, label) {
  return h("div", { class: "stat" }, h("b", null, value), h("span", null, label));
}
