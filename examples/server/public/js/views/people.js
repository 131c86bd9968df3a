// People: who can sign in, with which roles. Everyone sees their own token (who they act as, its
// roles, when it was made and last used); an admin also creates a person's token (shown once, with
// a copy button), lists every token and revokes one.
import { api } from "../api.js";
import { badge, field, h, mount, table, time, toast } from "../dom.js";

const roles = [
  ["viewer", "sees tickets, executions and runbooks"],
  ["operator", "imports tickets, starts runbooks, manages connections"],
  ["approver", "approves and rejects steps"],
  ["admin", "everything, people included"],
];

export async function render(ctx) {
  const me = await api("GET", "/me");
  const own = h("div", { class: "panel", "data-panel": "own-token" }, ownToken(me));
  if (!ctx.can("admin")) {
    mount(
      ctx.main,
      h(
        "div",
        { class: "page-head" },
        h("div", null, h("h1", null, "Your token"), h("p", { class: "sub" }, "What you sign in with.")),
      ),
      own,
    );
    return;
  }

  const list = h("div", { class: "panel panel-flush", "data-panel": "tokens" });
  const created = h("div", { "data-panel": "created", hidden: true });
  const load = async () => {
    const page = await api("GET", "/tokens");
    const rows = page.items.toReversed();
    mount(
      list,
      table(
        ["Person", "Roles", "Token", "Created", "By", "Last used", "Status", ""],
        rows.map((t) =>
          h(
            "tr",
            { "data-token": t.id, "data-actor": t.actor },
            h(
              "td",
              null,
              h("strong", null, t.actor),
              t.id === me.token_id ? h("span", { class: "muted small" }, " (you)") : null,
            ),
            h(
              "td",
              null,
              t.roles.map((r) => badge(r)),
              "",
            ),
            h("td", null, h("code", null, `${t.prefix}…`)),
            h("td", null, time(t.created_at)),
            h("td", null, t.created_by ?? "—"),
            h("td", null, t.last_used_at ? time(t.last_used_at) : "never"),
            h("td", null, t.revoked_at ? badge("revoked") : badge("active", "ok")),
            h(
              "td",
              { class: "actions" },
              t.revoked_at || t.id === me.token_id
                ? null
                : h(
                    "button",
                    {
                      type: "button",
                      class: "btn btn-small btn-danger",
                      "data-action": "revoke",
                      onClick: async (e) => {
                        if (!confirm(`Revoke ${t.actor}'s token ${t.prefix}…? They are signed out at once.`))
                          return;
                        e.currentTarget.disabled = true;
                        try {
                          await api("DELETE", `/tokens/${t.id}`);
                          toast(`Revoked ${t.actor}'s token.`, "ok");
                        } catch (err) {
                          toast(err.message, "bad");
                        }
                        await load();
                      },
                    },
                    "Revoke",
                  ),
            ),
          ),
        ),
        { empty: "No tokens yet." },
      ),
    );
  };

  const actor = h("input", {
    name: "actor",
    required: true,
    maxlength: 128,
    placeholder: "alice or ci-bot",
    pattern: "[A-Za-z0-9][A-Za-z0-9_.@:+\\-]*",
    autocomplete: "off",
  });
  const boxes = roles.map(([name, what]) =>
    h(
      "label",
      { class: "check" },
      h("input", { type: "checkbox", name: "roles", value: name, checked: name === "approver" }),
      h("strong", null, name),
      h("span", { class: "muted small" }, ` ${what}`),
    ),
  );
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h(
    "form",
    {
      class: "form",
      id: "person-form",
      onSubmit: async (e) => {
        e.preventDefault();
        error.textContent = "";
        const chosen = boxes
          .map((b) => b.querySelector("input"))
          .filter((i) => i.checked)
          .map((i) => i.value);
        if (chosen.length === 0) {
          error.textContent = "Choose at least one role.";
          return;
        }
        try {
          const result = await api("POST", "/tokens", { json: { actor: actor.value.trim(), roles: chosen } });
          showCreated(created, result);
          form.reset();
          await load();
        } catch (err) {
          error.textContent = err.fields?.length
            ? `${err.message}: ${err.fields.map((f) => f.message).join("; ")}`
            : err.message;
        }
      },
    },
    field("Person (actor id)", actor),
    h("fieldset", { class: "roles" }, h("legend", null, "Roles"), boxes),
    error,
    h("button", { type: "submit", class: "btn btn-primary" }, "Create token"),
  );

  mount(
    ctx.main,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        null,
        h("h1", null, "People"),
        h(
          "p",
          { class: "sub" },
          "Who can sign in and what they may do. A high-risk step needs a second approver.",
        ),
      ),
    ),
    own,
    h("div", { class: "panel" }, h("h2", null, "Add a person"), form, created),
    list,
  );
  await load();
}

function ownToken(me) {
  const token = me.token;
  return [
    h("h2", null, "Your token"),
    h(
      "dl",
      { class: "facts" },
      h("dt", null, "Signed in as"),
      h("dd", null, h("strong", null, me.actor)),
      h("dt", null, "Roles"),
      h(
        "dd",
        null,
        me.roles.map((r) => badge(r)),
      ),
      token ? [h("dt", null, "Token"), h("dd", null, h("code", null, `${token.prefix}…`))] : null,
      token
        ? [
            h("dt", null, "Created"),
            h("dd", null, time(token.created_at), token.created_by ? ` by ${token.created_by}` : ""),
          ]
        : null,
      token
        ? [h("dt", null, "Last used"), h("dd", null, token.last_used_at ? time(token.last_used_at) : "now")]
        : null,
    ),
    h(
      "p",
      { class: "muted small" },
      "Only its first characters are kept in clear; the rest is stored as a hash. Lost it? Ask an admin for a new one.",
    ),
  ];
}

/** The new token, shown this once, with a copy button. */
function showCreated(container, { token, info }) {
  const value = h("input", {
    type: "text",
    readonly: true,
    value: token,
    class: "mono",
    "data-token-value": "",
    "aria-label": "New token",
  });
  container.hidden = false;
  mount(
    container,
    h(
      "div",
      { class: "notice ok", role: "status" },
      h("p", null, h("strong", null, `Token for ${info.actor}`), " — copy it now: it is shown this once."),
      h(
        "div",
        { class: "copy-row" },
        value,
        h(
          "button",
          {
            type: "button",
            class: "btn",
            "data-action": "copy",
            onClick: async () => {
              value.select();
              try {
                await navigator.clipboard.writeText(token);
                toast("Copied.", "ok");
              } catch {
                // No clipboard permission (plain http on another host): the text is selected.
                document.execCommand?.("copy");
                toast("Selected: press Ctrl+C to copy.");
              }
            },
          },
          "Copy",
        ),
      ),
    ),
  );
}
