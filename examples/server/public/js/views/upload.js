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
  const dryRun = h("input", { type: "checkbox", id: "dry-run" });
  dryRun.addEventListener("change", () => {
    autoExec.disabled = dryRun.checked;
    uploadBtn.textContent = dryRun.checked ? "Backtest (dry run)" : "Upload and analyze";
  });
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
    if (dryRun.checked) {
      try {
        const result = await upload("/tickets/backtest-csv", form, {
          onProgress: (f) => {
            bar.style.width = `${Math.round(f * 100)}%`;
            progressText.textContent = f < 1 ? `Uploading… ${Math.round(f * 100)}%` : "Planning each row…";
          },
        });
        bar.style.width = "100%";
        const planned = result.results.filter((r) => r.status === "planned").length;
        progressText.textContent = `Done (dry run, nothing stored or run): ${result.rows} rows, ${planned} would have run a runbook.`;
        progressText.dataset.state = "done";
        showBacktest(results, result);
      } catch (err) {
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
        busy = false;
        uploadBtn.disabled = false;
      }
      return;
    }
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
        h(
          "label",
          { class: "check" },
          dryRun,
          "Dry run (backtest): show which runbook each row would run and its plan; nothing is stored or run",
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

function showBacktest(container, result) {
  const cards = result.results.map((r) =>
    h(
      "div",
      { class: "backtest-row", "data-row": r.row },
      h(
        "p",
        null,
        h("strong", null, `Row ${r.row} `),
        h("span", { class: "muted small" }, `line ${r.line} · `),
        badge(r.status, r.status === "planned" ? "ok" : r.status === "rejected" ? "bad" : ""),
        " ",
        r.title ?? "",
      ),
      h(
        "p",
        { class: "muted small" },
        r.runbook
          ? `${decisionLabel[r.decision] ?? r.decision}: ${r.runbook.title} (${r.runbook.key}) — `
          : "",
        r.reason,
      ),
      r.steps.length
        ? h(
            "ol",
            { class: "backtest-steps" },
            r.steps.map((s) =>
              h(
                "li",
                { "data-approval": s.requires_approval ? "yes" : "no" },
                h("span", { class: "small" }, `${s.phase} · ${s.name} `),
                s.requires_approval
                  ? badge(`waits for approval (${s.approvals_required})`, "warn")
                  : badge("runs without approval", ""),
                h("pre", { class: "mono small" }, s.rendered ?? s.command),
                s.error ? h("p", { class: "form-error small" }, s.error) : null,
              ),
            ),
          )
        : null,
    ),
  );
  mount(
    container,
    h(
      "div",
      { class: "panel", id: "backtest-results" },
      h("h2", null, "Backtest (dry run)"),
      h(
        "p",
        { class: "muted" },
        `Nothing was stored or run. ${result.results.length} of ${result.rows} rows planned${result.truncated ? " (the rest were left out: at most 200 rows per backtest)" : ""}.`,
      ),
      ...cards,
    ),
  );
}

function stat(value, label) {
  return h("div", { class: "stat" }, h("b", null, value), h("span", null, label));
}
