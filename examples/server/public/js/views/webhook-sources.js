// Webhook Sources: tools without a connector post their own JSON, mapped by a JSONata mapping.
// Admins list the sources, try a mapping on a sample body (nothing is stored), create a source
// (its token is shown once), rotate its token or delete it.
import { api } from "../api.js";
import { badge, field, h, mount, relative, severityBadge, table, toast } from "../dom.js";

const sampleBody = `{
  "alerts": [
    {
      "status": "firing",
      "labels": { "alertname": "HighLatency", "instance": "api-3:8080", "severity": "critical" },
      "annotations": { "summary": "p99 latency over 2 s" },
      "fingerprint": "c6eadffa33fcdf37"
    }
  ]
}`;

function textarea(id, value, rows = 3, placeholder = "") {
  const el = h("textarea", { id, rows, spellcheck: "false", class: "mono", placeholder });
  el.value = value;
  return el;
}

/** The expression an error points into, with a caret under the position. */
function caret(expression, position) {
  if (typeof position !== "number" || !expression) return null;
  const lines = expression.slice(0, position).split("\n");
  const line = expression.split("\n")[lines.length - 1] ?? "";
  const column = Math.max(0, (lines.at(-1)?.length ?? 1) - 1);
  return h("pre", { class: "prewrap small", "data-caret": "" }, `${line}\n${" ".repeat(column)}^`);
}

export async function render(ctx) {
  if (!ctx.me.roles.includes("admin")) {
    mount(
      ctx.main,
      h(
        "div",
        { class: "panel", "data-view": "webhook-sources" },
        h("h2", null, "Webhook Sources"),
        h("p", { class: "muted" }, "Only an admin manages webhook sources."),
      ),
    );
    return;
  }

  const list = h("div", { id: "source-list" });
  const name = h("input", { id: "ws-name", placeholder: "grafana-alerts", autocomplete: "off" });
  const description = h("input", { id: "ws-description", placeholder: "What sends to it" });
  const items = textarea("ws-items", "alerts", 1, "alerts (empty: the body itself)");
  const mapping = textarea(
    "ws-mapping",
    '{\n  "title": annotations.summary ? annotations.summary : labels.alertname,\n  "labels": labels\n}',
    6,
  );
  const fingerprint = textarea("ws-fingerprint", "fingerprint", 1, "optional");
  const resolveWhen = textarea("ws-resolve", 'status = "resolved"', 1, "optional");
  const body = textarea("ws-body", sampleBody, 12);
  const result = h("div", { id: "try-result" });
  const created = h("div", { id: "created-source" });

  const spec = () => ({
    items: items.value.trim() || null,
    mapping: mapping.value,
    fingerprint: fingerprint.value.trim() || null,
    resolve_when: resolveWhen.value.trim() || null,
  });
  const expressions = {
    items: () => items.value,
    mapping: () => mapping.value,
    fingerprint: () => fingerprint.value,
    resolveWhen: () => resolveWhen.value,
  };

  function showTrial(trial) {
    if (trial.error) {
      const e = trial.error;
      mount(
        result,
        h(
          "div",
          { class: "form-error", role: "alert", "data-error": e.code },
          h("strong", null, e.expression ? `${e.expression}: ` : ""),
          e.message,
        ),
        caret(expressions[e.expression]?.(), e.position),
        e.fields?.length > 1
          ? h(
              "ul",
              { class: "small" },
              e.fields.map((f) => h("li", null, `${f.field}: ${f.message}`)),
            )
          : null,
      );
      return;
    }
    mount(
      result,
      table(
        ["Title", "Severity", "Service", "Environment", "Fingerprint", "Resolves"],
        trial.tickets.map((t) =>
          h(
            "tr",
            { "data-ticket": "" },
            h("td", null, t.title),
            h("td", null, severityBadge(t.severity)),
            h("td", null, t.service || "—"),
            h("td", null, t.environment || "—"),
            h("td", { class: "mono small" }, t.fingerprint ?? "(derived)"),
            h("td", null, t.resolved ? badge("resolves", "ok") : "—"),
          ),
        ),
        { empty: "The mapping gives no ticket for this body." },
      ),
      trial.warnings.length > 0
        ? h(
            "ul",
            { class: "muted small" },
            trial.warnings.map((w) => h("li", null, w)),
          )
        : null,
    );
  }

  async function tryIt() {
    let parsed;
    try {
      parsed = JSON.parse(body.value);
    } catch (err) {
      mount(
        result,
        h("div", { class: "form-error", role: "alert" }, `The sample body is not JSON: ${err.message}`),
      );
      return;
    }
    try {
      showTrial(await api("POST", "/webhook-sources/try", { json: { ...spec(), body: parsed } }));
    } catch (err) {
      mount(result, h("div", { class: "form-error", role: "alert" }, err.message));
    }
  }

  async function create() {
    try {
      const answer = await api("POST", "/webhook-sources", {
        json: { name: name.value.trim(), description: description.value.trim(), ...spec() },
      });
      const url = `${location.origin}/api/v1/tickets/webhook/${answer.source.name}`;
      mount(
        created,
        h(
          "div",
          { class: "panel", "data-created": answer.source.name },
          h("h3", null, `Source ${answer.source.name} created`),
          h("p", { class: "muted" }, "The token is shown this once: copy it into the tool now."),
          field("Webhook URL", h("input", { readonly: true, value: url, class: "mono", id: "created-url" })),
          field(
            "Token",
            h("input", { readonly: true, value: answer.token, class: "mono", id: "created-token" }),
          ),
          h(
            "p",
            { class: "muted small" },
            "Send it as Authorization: Bearer <token> or X-Runwarden-Webhook-Token: <token>.",
          ),
        ),
      );
      toast(`Webhook source ${answer.source.name} created`, "ok");
      await refresh();
    } catch (err) {
      mount(created, h("div", { class: "form-error", role: "alert" }, err.message));
    }
  }

  async function refresh() {
    const { items: sources } = await api("GET", "/webhook-sources");
    mount(
      list,
      table(
        ["Name", "Description", "Token", "Last webhook", ""],
        sources.map((s) =>
          h(
            "tr",
            { "data-source": s.name },
            h("td", { class: "mono" }, s.name),
            h("td", null, s.description || "—"),
            h("td", { class: "mono small" }, `${s.token_prefix}…`),
            h("td", null, s.last_received_at ? relative(new Date(s.last_received_at)) : "never"),
            h(
              "td",
              { class: "actions" },
              h(
                "button",
                {
                  type: "button",
                  class: "btn btn-small",
                  onClick: async () => {
                    const answer = await api("POST", `/webhook-sources/${encodeURIComponent(s.name)}/token`);
                    mount(
                      created,
                      h(
                        "div",
                        { class: "panel", "data-rotated": s.name },
                        h("h3", null, `New token for ${s.name}`),
                        h("p", { class: "muted" }, "The old token no longer works. This one is shown once."),
                        h("input", { readonly: true, value: answer.token, class: "mono" }),
                      ),
                    );
                  },
                },
                "Rotate token",
              ),
              h(
                "button",
                {
                  type: "button",
                  class: "btn btn-small btn-ghost",
                  onClick: async () => {
                    if (!confirm(`Delete the webhook source ${s.name}? Its URL stops working.`)) return;
                    await api("DELETE", `/webhook-sources/${encodeURIComponent(s.name)}`);
                    toast(`Webhook source ${s.name} deleted`);
                    await refresh();
                  },
                },
                "Delete",
              ),
            ),
          ),
        ),
        { empty: "No webhook source yet: create one below." },
      ),
    );
  }

  mount(
    ctx.main,
    h(
      "div",
      { "data-view": "webhook-sources" },
      h(
        "div",
        { class: "panel" },
        h("h2", null, "Webhook Sources"),
        h(
          "p",
          { class: "muted" },
          "A tool without a connector posts its own JSON to /api/v1/tickets/webhook/<name>; a JSONata mapping turns it into tickets.",
        ),
        list,
      ),
      created,
      h(
        "div",
        { class: "panel" },
        h("h2", null, "Try a mapping"),
        h("div", { class: "grid-2" }, field("Name", name), field("Description", description)),
        field("Items (JSONata: the alerts of a body)", items),
        field("Mapping (JSONata: one alert → ticket fields; $body is the whole body)", mapping),
        h(
          "div",
          { class: "grid-2" },
          field("Fingerprint (JSONata)", fingerprint),
          field("Resolve when (JSONata)", resolveWhen),
        ),
        field("Sample body", body),
        h(
          "p",
          { class: "actions" },
          h(
            "button",
            { type: "button", class: "btn btn-primary", id: "try-btn", onClick: tryIt },
            "Try on the body",
          ),
          h("button", { type: "button", class: "btn", id: "create-btn", onClick: create }, "Create source"),
        ),
        result,
      ),
    ),
  );
  await refresh();
}
