// Set-up cards of the Connectors tab, one per monitoring and ticketing connector: where its
// configuration comes from, its webhook URL and auth, activity (last webhook, last pull, last
// error), the vendor-side steps with copyable snippets, a "Configure" form built from the
// connector's JSON Schema (secrets as password inputs, required fields marked), a webhook secret
// generated server-side and shown once, and "Send a test alert".
import { api } from "../api.js";
import { badge, h, mount, time, toast } from "../dom.js";

/** Renders the cards of every monitoring and ticketing connector into `el`. */
export async function setupCards(ctx, el) {
  const lists = await Promise.all(
    ["monitoring", "ticketing", "notifier"].map(async (kind) =>
      (await api("GET", `/connectors/${kind}`)).items.map((c) => ({ kind, name: c.name })),
    ),
  );
  const cards = lists.flat().map(({ kind, name }) => {
    const card = h("div", { class: "card connector-card", "data-connector-card": `${kind}/${name}` });
    return { card, load: () => loadCard(ctx, card, kind, name) };
  });
  mount(
    el,
    h(
      "div",
      { class: "panel-head" },
      h("h2", null, "Set up sources and ticketing"),
      h("span", { class: "muted small" }, "Configured here, kept in the store; environment variables win."),
    ),
    cards.length === 0
      ? h("div", { class: "empty" }, "No monitoring or ticketing connector registered.")
      : h(
          "div",
          { class: "cards" },
          cards.map((c) => c.card),
        ),
  );
  await Promise.all(cards.map((c) => c.load()));
}

async function loadCard(ctx, card, kind, name, shown = null) {
  let detail;
  try {
    detail = await api("GET", `/connectors/${kind}/${name}`);
  } catch (err) {
    mount(card, h("div", { class: "form-error" }, `${name}: ${err.code}: ${err.message}`));
    return;
  }
  const reload = (secretShown = null) => loadCard(ctx, card, kind, name, secretShown);
  const steps = shown?.vendor_setup ?? detail.vendor_setup;
  const formBox = h("div", { class: "connector-form", hidden: true });
  const configurable = detail.config_source !== "host" && ctx.can("admin");
  mount(
    card,
    h(
      "div",
      { class: "card-head" },
      h("span", { class: "card-title" }, name),
      h("span", { class: "chip" }, kind),
      sourceBadge(detail),
    ),
    detail.description ? h("div", { class: "muted small" }, detail.description) : null,
    detail.status === "not_configured" && detail.hint
      ? h("div", { class: "muted small not-configured-hint" }, detail.hint)
      : null,
    h("dl", { class: "kv" }, ...facts(detail)),
    shown ? secretOnce(shown) : null,
    h(
      "div",
      { class: "actions" },
      configurable
        ? h(
            "button",
            {
              type: "button",
              class: "btn btn-small",
              "data-action": "configure",
              onClick: () => {
                formBox.hidden = !formBox.hidden;
                if (!formBox.hidden && formBox.childElementCount === 0) configForm(formBox, detail, reload);
              },
            },
            "Configure",
          )
        : null,
      configurable && detail.config_schema.webhook_secret_path
        ? h(
            "button",
            {
              type: "button",
              class: "btn btn-small",
              "data-action": "webhook-secret",
              onClick: async () => {
                const hasOne = detail.config.secret_paths.includes(detail.config_schema.webhook_secret_path);
                if (
                  hasOne &&
                  !confirm(`Replace ${name}'s webhook secret? The tool must be given the new one.`)
                )
                  return;
                try {
                  const result = await api("POST", `/connectors/${kind}/${name}/config/webhook-secret`);
                  toast("Webhook secret generated: copy it now, it is not shown again", "ok");
                  reload(result);
                } catch (err) {
                  toast(`${err.code}: ${err.message}`, "bad");
                }
              },
            },
            detail.config.secret_paths.includes(detail.config_schema.webhook_secret_path)
              ? "Rotate webhook secret"
              : "Generate webhook secret",
          )
        : null,
      kind === "monitoring" && detail.sample_webhook && detail.status === "ready" && ctx.can("operator")
        ? h(
            "button",
            {
              type: "button",
              class: "btn btn-small",
              "data-action": "test-alert",
              onClick: async () => {
                try {
                  const result = await api("POST", `/connectors/monitoring/${name}/test-alert`);
                  const ids = result.tickets.map((t) => `#${t.id}`).join(", ");
                  toast(`Test alert sent: ticket ${ids}`, "ok");
                  reload(shown);
                } catch (err) {
                  toast(`${err.code}: ${err.message}`, "bad");
                }
              },
            },
            "Send a test alert",
          )
        : null,
      kind === "notifier" && detail.status === "ready" && ctx.can("operator")
        ? h(
            "button",
            {
              type: "button",
              class: "btn btn-small",
              "data-action": "test-notification",
              onClick: async () => {
                try {
                  await api("POST", `/connectors/notifier/${name}/test-notification`);
                  toast(`Test notification sent through ${name}`, "ok");
                } catch (err) {
                  toast(`${err.code}: ${err.message}`, "bad");
                }
              },
            },
            "Send a test notification",
          )
        : null,
      h(
        "button",
        { type: "button", class: "btn btn-small btn-ghost", onClick: () => reload(shown) },
        "Refresh",
      ),
    ),
    formBox,
    steps.length > 0
      ? h(
          "details",
          { class: "vendor-setup", open: detail.status === "not_configured" || shown ? true : undefined },
          h("summary", null, `Set up ${name} (${steps.length} steps)`),
          h(
            "ol",
            null,
            steps.map((step, i) =>
              h(
                "li",
                { "data-step": i },
                h("div", { class: "title" }, step.title),
                step.text ? h("p", { class: "muted small prewrap" }, step.text) : null,
                step.snippet ? snippet(step.snippet) : null,
              ),
            ),
          ),
        )
      : null,
  );
}

function sourceBadge(detail) {
  if (detail.status === "not_configured") return badge("not configured", "bad");
  if (detail.config_source === "host")
    return h("span", { title: `configured by ${detail.configured_by ?? "the host"}` }, badge("env", "warn"));
  if (detail.config_source === "store") return badge("configured", "ok");
  return badge("ready", "ok");
}

/** Webhook URL and auth, where the configuration comes from, and the activity indicators. */
function facts(d) {
  const out = [];
  const row = (label, ...value) => out.push(h("dt", null, label), h("dd", null, ...value));
  if (d.webhook_url)
    row(
      "Webhook URL",
      h("code", { class: "mono", "data-webhook-url": "" }, d.webhook_url),
      copyButton(d.webhook_url),
    );
  const auth = authOf(d);
  if (auth) row("Webhook auth", auth);
  row(
    "Configuration",
    d.config_source === "host"
      ? `from the environment (${d.configured_by ?? "host"}): change it there and restart`
      : d.config.stored
        ? ["stored ", time(d.config.updated_at), ` by ${d.config.updated_by ?? "?"}`]
        : "none yet",
  );
  if (d.kind === "monitoring") {
    row(
      "Last webhook",
      d.activity.last_webhook_at
        ? [time(d.activity.last_webhook_at), ` (${d.activity.webhooks} since start)`]
        : "none since start",
    );
    if (d.poller) {
      row(
        "Last pull",
        d.poller.enabled ? (d.poller.last_run_at ? time(d.poller.last_run_at) : "not yet") : "pull off",
      );
    }
  }
  const lastError = [
    d.activity.last_error_at && { at: d.activity.last_error_at, text: d.activity.last_error },
    d.poller?.last_error && { at: d.poller.last_run_at, text: d.poller.last_error },
  ].filter(Boolean);
  row(
    "Last error",
    lastError.length === 0
      ? h("span", { class: "health healthy" }, "none")
      : lastError.map((e) =>
          h("div", { class: "health unhealthy", title: e.text }, time(e.at), `: ${e.text.slice(0, 120)}`),
        ),
  );
  return out;
}

/** How the stored configuration authenticates webhooks, from its `webhookAuth`-like field. */
function authOf(d) {
  const path = d.config_schema.webhook_secret_path;
  if (!path || d.kind !== "monitoring") return null;
  const root = path.split(".")[0];
  const value = d.config.config?.[root];
  if (typeof value === "object" && value?.type) {
    const secretSet = d.config.secret_paths.some((p) => p.startsWith(`${root}.`));
    return `${value.type}${secretSet ? " (secret set)" : ""}`;
  }
  return d.config_source === "host" ? "set by the environment" : "not set";
}

function secretOnce(shown) {
  return h(
    "div",
    { class: "secret-once", "data-secret-once": "" },
    h("div", { class: "title" }, `New webhook secret (${shown.path}): shown once`),
    h("code", { class: "mono", "data-secret": "" }, shown.secret),
    copyButton(shown.secret),
    h(
      "p",
      { class: "muted small" },
      "The set-up steps below have it written in. Reloading the page hides it.",
    ),
  );
}

function snippet({ language, content }) {
  return h(
    "div",
    { class: "snippet" },
    h("div", { class: "snippet-head" }, h("span", { class: "chip" }, language), copyButton(content)),
    h("pre", { class: "code-view", "data-language": language }, h("code", null, content)),
  );
}

function copyButton(text) {
  return h(
    "button",
    {
      type: "button",
      class: "btn btn-small btn-ghost",
      "data-copy": "",
      onClick: async () => {
        try {
          await navigator.clipboard.writeText(text);
          toast("Copied", "ok");
        } catch {
          toast("Copy failed: select the text and copy it by hand", "bad");
        }
      },
    },
    "Copy",
  );
}

// ── the configuration form, built from JSON Schema ───────────────────────────────────────────

function configForm(el, detail, reload) {
  const schema = detail.config_schema.json_schema;
  const stored = detail.config.config ?? {};
  const root = objectEditor(schema, stored, "", true);
  const error = h("div", { class: "form-error", hidden: true });
  mount(
    el,
    h(
      "p",
      { class: "muted small" },
      "Fields marked * are required. Secrets are sealed and never shown; leave ******** to keep one.",
    ),
    root.el,
    error,
    h(
      "button",
      {
        type: "button",
        class: "btn btn-primary",
        "data-action": "save-config",
        onClick: async () => {
          error.hidden = true;
          let body;
          try {
            body = root.value() ?? {};
          } catch (err) {
            error.hidden = false;
            error.textContent = err.message;
            return;
          }
          try {
            await api("PUT", `/connectors/${detail.kind}/${detail.name}/config`, { json: body });
            toast(`${detail.name} configured`, "ok");
            reload();
          } catch (err) {
            error.hidden = false;
            error.textContent = `${err.message}${err.fields?.length ? `: ${err.fields.map((f) => `${f.field} ${f.message}`).join("; ")}` : ""}`;
          }
        },
      },
      "Save configuration",
    ),
  );
}

/** An editor for one schema node: `{ el, value() }`, value undefined when left empty. */
function editorFor(schema, current, path, required) {
  if (schema.oneOf || schema.anyOf) {
    const options = schema.oneOf ?? schema.anyOf;
    const discriminated = variantKey(options);
    if (discriminated) return variantEditor(options, discriminated, current, path, required);
    return jsonEditor(schema, current, path, required);
  }
  if (schema.type === "object" && schema.properties) return objectEditor(schema, current ?? {}, path, false);
  if (schema.type === "array" && schema.items && ["string", "number", "integer"].includes(schema.items.type))
    return listEditor(schema, current, path, required);
  if (
    schema.enum ||
    schema.type === "string" ||
    schema.type === "number" ||
    schema.type === "integer" ||
    schema.type === "boolean"
  )
    return scalarEditor(schema, current, path, required);
  return jsonEditor(schema, current, path, required);
}

function objectEditor(schema, current, path, top) {
  const requiredKeys = new Set(schema.required ?? []);
  const children = Object.entries(schema.properties ?? {}).map(([key, child]) => {
    const childPath = path ? `${path}.${key}` : key;
    const editor = editorFor(child, current?.[key], childPath, requiredKeys.has(key));
    return { key, editor, advanced: top && !requiredKeys.has(key) && child.type === "object" };
  });
  const main = children.filter((c) => !c.advanced).map((c) => c.editor.el);
  const advanced = children.filter((c) => c.advanced);
  const el = h(
    top ? "div" : "fieldset",
    { class: top ? "schema-form" : "schema-object", "data-path": path || "(root)" },
    top ? null : h("legend", null, path.split(".").at(-1)),
    main,
    advanced.map((c) =>
      h("details", { class: "schema-advanced" }, h("summary", null, `${c.key} (optional)`), c.editor.el),
    ),
  );
  return {
    el,
    value() {
      const out = {};
      for (const { key, editor } of children) {
        const v = editor.value();
        if (v !== undefined) out[key] = v;
      }
      return Object.keys(out).length > 0 || top ? out : undefined;
    },
  };
}

/** A discriminated union (`webhookAuth: bearer | basic | none`): a select and the variant's fields. */
function variantKey(options) {
  if (!options.every((o) => o.type === "object" && o.properties)) return null;
  const keys = Object.keys(options[0].properties).filter((k) =>
    options.every((o) => o.properties[k]?.const !== undefined),
  );
  return keys[0] ?? null;
}

function variantEditor(options, key, current, path, required) {
  const box = h("div", { class: "schema-variant-fields" });
  const select = h(
    "select",
    { "data-path": `${path}.${key}`, "aria-label": `${path}.${key}` },
    required ? null : h("option", { value: "" }, "—"),
    options.map((o) =>
      h("option", { value: String(o.properties[key].const) }, String(o.properties[key].const)),
    ),
  );
  let inner = null;
  const show = () => {
    const chosen = options.find((o) => String(o.properties[key].const) === select.value);
    if (!chosen) {
      inner = null;
      mount(box);
      return;
    }
    const rest = { ...chosen, properties: { ...chosen.properties } };
    delete rest.properties[key];
    rest.required = (chosen.required ?? []).filter((k) => k !== key);
    const same = current && String(current[key]) === select.value ? current : {};
    inner = objectEditor(rest, same, path, true);
    mount(box, inner.el);
  };
  select.addEventListener("change", show);
  if (current?.[key] !== undefined) select.value = String(current[key]);
  show();
  return {
    el: h(
      "fieldset",
      { class: "schema-object", "data-path": path },
      h("legend", null, `${path.split(".").at(-1)}${required ? " *" : ""}`),
      h("div", { class: "field" }, h("label", null, key), select),
      box,
    ),
    value() {
      if (!select.value) return undefined;
      return {
        [key]: options.find((o) => String(o.properties[key].const) === select.value).properties[key].const,
        ...(inner?.value() ?? {}),
      };
    },
  };
}

function label(schema, path, required) {
  const name = path.split(".").at(-1);
  return `${name}${required ? " *" : ""}${schema["x-secret"] ? " (secret)" : ""}`;
}

function placeholderOf(schema, required) {
  if (schema.default !== undefined) return `default: ${JSON.stringify(schema.default)}`;
  return required ? "required" : "optional";
}

function scalarEditor(schema, current, path, required) {
  let input;
  if (schema.enum) {
    input = h(
      "select",
      null,
      h("option", { value: "" }, schema.default !== undefined ? `default (${schema.default})` : "—"),
      schema.enum.map((v) => h("option", { value: String(v) }, String(v))),
    );
    if (current !== undefined) input.value = String(current);
  } else if (schema.type === "boolean") {
    input = h(
      "select",
      null,
      h("option", { value: "" }, schema.default !== undefined ? `default (${schema.default})` : "—"),
      h("option", { value: "true" }, "true"),
      h("option", { value: "false" }, "false"),
    );
    if (current !== undefined) input.value = String(current);
  } else {
    input = h("input", {
      type: schema["x-secret"] ? "password" : schema.type === "string" ? "text" : "number",
      autocomplete: schema["x-secret"] ? "new-password" : "off",
      placeholder: placeholderOf(schema, required),
      value: current === undefined ? undefined : String(current),
    });
  }
  input.setAttribute("data-path", path);
  input.setAttribute("aria-label", path);
  if (required) input.required = true;
  return {
    el: h(
      "div",
      {
        class: "field schema-field",
        "data-secret": String(Boolean(schema["x-secret"])),
        "data-required": String(required),
      },
      h("label", null, label(schema, path, required)),
      input,
      schema.description ? h("span", { class: "muted small" }, schema.description) : null,
    ),
    value() {
      const raw = input.value;
      if (raw === "") return undefined;
      if (schema.type === "boolean") return raw === "true";
      if (schema.type === "number" || schema.type === "integer") return Number(raw);
      if (schema.enum && typeof schema.enum[0] === "number") return Number(raw);
      return raw;
    },
  };
}

function listEditor(schema, current, path, required) {
  const input = h("input", {
    type: "text",
    placeholder: `comma-separated; ${placeholderOf(schema, required)}`,
    value: Array.isArray(current) ? current.join(", ") : undefined,
    "data-path": path,
    "aria-label": path,
  });
  const numeric = schema.items.type !== "string";
  return {
    el: h("div", { class: "field schema-field" }, h("label", null, label(schema, path, required)), input),
    value() {
      if (input.value.trim() === "") return undefined;
      const items = input.value
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
      return numeric ? items.map(Number) : items;
    },
  };
}

function jsonEditor(schema, current, path, required) {
  const input = h("textarea", {
    rows: 3,
    placeholder: `JSON; ${placeholderOf(schema, required)}`,
    "data-path": path,
    "aria-label": path,
  });
  if (current !== undefined) input.value = JSON.stringify(current, null, 2);
  return {
    el: h("div", { class: "field schema-field" }, h("label", null, label(schema, path, required)), input),
    value() {
      if (input.value.trim() === "") return undefined;
      try {
        return JSON.parse(input.value);
      } catch {
        throw new Error(`${path}: not valid JSON`);
      }
    },
  };
}
