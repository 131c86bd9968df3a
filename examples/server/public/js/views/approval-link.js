// The page an e-mail's one-time approval link opens (`#/approval-link?channel=email&token=…`).
// Opening it decides nothing: signed in, the page redeems the link once (the server checks its
// signature, expiry, binding hash and that it was not used), then shows the approval with the
// Approvals tab's buttons, which decide through the API like everywhere else. After redeeming, the
// address keeps the approval's number instead of the token, so a reload still shows it.
import { api } from "../api.js";
import { h, mount, statusBadge } from "../dom.js";
import { card } from "./approvals.js";

function refusal(ctx, title, message) {
  mount(
    ctx.main,
    h(
      "div",
      { class: "panel", "data-view": "approval-link", "data-link": "refused" },
      h("h2", null, title),
      h("p", { "data-link-error": "" }, message),
      h(
        "p",
        { class: "actions" },
        h("a", { class: "btn btn-primary", href: "#/approvals" }, "Open Approvals"),
      ),
    ),
  );
}

export async function render(ctx) {
  const channel = ctx.query.get("channel") || "email";
  const token = ctx.query.get("token");
  let approvalId = Number(ctx.query.get("approval"));
  if (token) {
    try {
      const link = await api("POST", `/notifiers/${encodeURIComponent(channel)}/approval-links`, {
        json: { token },
      });
      approvalId = link.approval_id;
      history.replaceState(null, "", `#/approval-link?approval=${approvalId}`);
    } catch (err) {
      refusal(ctx, "This link cannot be used", err.message);
      return;
    }
  }
  if (!Number.isInteger(approvalId) || approvalId <= 0) {
    refusal(
      ctx,
      "No approval named",
      "This page opens the approval an e-mail links to; the link is incomplete.",
    );
    return;
  }
  const state = h("div", { "data-approval-state": "" });
  const show = async () => {
    const a = await api("GET", `/approvals/${approvalId}`);
    const last = a.decisions.at(-1);
    mount(
      state,
      a.status === "pending"
        ? card(ctx, a, show)
        : h(
            "div",
            { class: "panel", "data-status": a.status },
            h(
              "p",
              null,
              "Approval ",
              h("b", null, `#${a.id}`),
              " is ",
              statusBadge(a.status),
              last ? ` (by ${last.actor})` : "",
              ".",
            ),
            h("pre", { class: "command" }, a.rendered_command),
            h("p", null, h("a", { href: `#/executions/${a.session_id}` }, `Open execution #${a.session_id}`)),
          ),
    );
  };
  mount(
    ctx.main,
    h(
      "div",
      { "data-view": "approval-link" },
      h(
        "div",
        { class: "page-head" },
        h(
          "div",
          null,
          h("h1", null, "Approval"),
          h("p", { class: "sub" }, "From a notification link. Check the command and target, then decide."),
        ),
      ),
      state,
    ),
  );
  await show();
}
