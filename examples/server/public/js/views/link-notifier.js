// The page a chat notifier's person link opens (`#/link-notifier?channel=slack&token=…`): the
// signed-in person confirms, and their chat user is linked to them (`POST /notifiers/{name}/links`,
// the token one-time and signed by the server), so their next click on a message decides as them.
import { api } from "../api.js";
import { h, mount } from "../dom.js";

export function render(ctx) {
  const channel = ctx.query.get("channel") ?? "";
  const token = ctx.query.get("token") ?? "";
  const result = h("div", { "data-link-result": "", role: "status" });
  if (!/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(channel) || token.length < 10) {
    mount(
      ctx.main,
      h(
        "div",
        { class: "panel", "data-view": "link-notifier" },
        h("h2", null, "This link is incomplete"),
        h("p", { class: "muted" }, "Click the button on the chat message again to get a new link."),
      ),
    );
    return;
  }
  const confirm = h(
    "button",
    {
      type: "button",
      class: "btn btn-primary",
      "data-action": "link",
      onClick: async () => {
        confirm.disabled = true;
        try {
          const link = await api("POST", `/notifiers/${encodeURIComponent(channel)}/links`, {
            json: { link_token: token },
          });
          mount(
            result,
            h(
              "div",
              { class: "notice ok", "data-linked": link.external_user },
              h(
                "p",
                null,
                `Linked: your ${link.channel} user ${link.external_user} now decides as `,
                h("b", null, link.actor),
                ".",
              ),
              h(
                "p",
                { class: "muted small" },
                "Go back to the message and click again. Link again after a role change.",
              ),
            ),
          );
          history.replaceState(null, "", "#/link-notifier");
        } catch (err) {
          mount(result, h("div", { class: "notice bad", "data-link-error": "" }, h("p", null, err.message)));
        }
      },
    },
    `Link my ${channel} user`,
  );
  mount(
    ctx.main,
    h(
      "div",
      { class: "panel", "data-view": "link-notifier" },
      h("h2", null, `Link your ${channel} user`),
      h(
        "p",
        null,
        `Decisions you make on ${channel} messages will be recorded as `,
        h("b", null, ctx.me.actor),
        ` with your roles (${ctx.me.roles.join(", ")}). The link works once, for 15 minutes.`,
      ),
      h("p", { class: "actions" }, confirm),
      result,
    ),
  );
}
