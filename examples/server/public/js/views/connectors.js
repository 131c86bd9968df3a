// Connectors: monitoring and ticketing connectors with their status, credentials (secrets shown
// masked, never sent back), and infrastructure connections with a Test button.
import { api } from "../api.js";
import { field, h, mount, table, time, toast } from "../dom.js";
import { setupCards } from "./connector-setup.js";

export async function render(ctx) {
  const sections = {
    setup: h("div", { class: "panel", id: "connector-setup" }),
    monitoring: h("div", { class: "panel panel-flush", id: "monitoring" }),
    ticketing: h("div", { class: "panel panel-flush", id: "ticketing" }),
    infrastructure: h("div", { class: "panel panel-flush", id: "infrastructure" }),
    credentials: h("div", { class: "panel", id: "credentials" }),
    connections: h("div", { class: "panel", id: "connections" }),
  };
  mount(
    ctx.main,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        null,
        h("h1", null, "Connectors"),
        h(
          "p",
          { class: "sub" },
          "Where tickets come from, where outcomes go, and how Runwarden reaches your infrastructure.",
        ),
      ),
    ),
    sections.setup,
    h("div", { class: "grid-2" }, sections.monitoring, sections.ticketing),
    sections.infrastructure,
    sections.credentials,
    sections.connections,
  );
  await Promise.all([
    setupCards(ctx, sections.setup),
    connectorList(sections.monitoring, "monitoring", "Monitoring connectors"),
    connectorList(sections.ticketing, "ticketing", "Ticketing connectors"),
    connectorList(sections.infrastructure, "infrastructure", "Infrastructure connectors"),
    ctx.can("operator")
      ? credentials(ctx, sections.credentials)
      : mount(sections.credentials, h("p", { class: "muted" }, "Credentials need the operator role.")),
    ctx.can("operator")
      ? connections(ctx, sections.connections)
      : mount(sections.connections, h("p", { class: "muted" }, "Connections need the operator role.")),
  ]);
}

async function connectorList(el, kind, title) {
  const { items } = await api("GET", `/connectors/${kind}`);
  mount(
    el,
    h("h2", null, title),
    table(
      [
        "Name",
        "Version",
        kind === "infrastructure" ? "Connection types" : "Capabilities",
        "Status",
        ...(kind === "monitoring" ? ["Pull"] : []),
      ],
      items.map((c) =>
        h(
          "tr",
          { "data-connector": c.name, "data-status": c.status },
          h(
            "td",
            null,
            h("span", { class: "title" }, c.name),
            c.description ? h("div", { class: "muted small" }, c.description) : null,
          ),
          h("td", { class: "mono" }, c.version),
          h(
            "td",
            null,
            (kind === "infrastructure" ? c.connection_types : c.capabilities).map((x) =>
              h("span", { class: "chip" }, x),
            ),
          ),
          h(
            "td",
            null,
            c.status === "not_configured"
              ? notConfiguredCell(c)
              : c.health
                ? h(
                    "span",
                    {
                      class: `health ${c.health.ok ? "healthy" : "unhealthy"}`,
                      title: c.health.message ?? "",
                    },
                    c.health.ok
                      ? `ok · ${Math.round(c.health.latency_ms)} ms`
                      : (c.health.reason ?? "unhealthy"),
                  )
                : h("span", { class: "health" }, kind === "infrastructure" ? "per connection" : "registered"),
          ),
          kind === "monitoring" ? h("td", { class: "small" }, pullCell(c.poller)) : null,
        ),
      ),
      { empty: `No ${kind} connector registered.` },
    ),
  );
}

/** A connector registered without its configuration: what it needs and how to set it. */
function notConfiguredCell(c) {
  return h(
    "div",
    { class: "small not-configured" },
    h("span", { class: "health unhealthy" }, "not configured"),
    h("div", null, "needs ", ...c.needs.map((need) => h("span", { class: "chip mono" }, need))),
    c.hint ? h("div", { class: "muted" }, c.hint) : null,
  );
}

/** A monitoring source's poller: off, or its pace, last and next run, and last error. */
function pullCell(poller) {
  if (!poller) return h("span", { class: "muted" }, "not polled");
  const lines = [
    h(
      "div",
      null,
      poller.enabled ? `every ${Math.round(poller.interval_ms / 1000)} s` : "pull off",
      poller.acknowledge ? h("span", { class: "chip" }, "acknowledge · resolve") : null,
    ),
  ];
  if (poller.enabled) {
    lines.push(
      h("div", { class: "muted" }, "last ", time(poller.last_run_at), " · next ", time(poller.next_run_at)),
    );
  }
  if (poller.last_error) {
    lines.push(
      h(
        "div",
        { class: "health unhealthy", title: poller.last_error },
        `${poller.failures} failed: ${poller.last_error.slice(0, 80)}`,
      ),
    );
  }
  if (poller.pending_actions > 0 || poller.dead_actions > 0) {
    lines.push(
      h("div", { class: "muted" }, `${poller.pending_actions} pending, ${poller.dead_actions} dead actions`),
    );
  }
  return h("div", null, ...lines);
}

// An empty environment is an environment of its own (core matches environments exactly): a
// credential with none serves only connections with none. Labelled that way everywhere.
function envLabel(environment) {
  return environment ? environment : h("span", { class: "muted" }, "(no environment)");
}

// The New connection form's credential list, refreshed after a credential is written here or
// announced on the event stream (`credential:changed`).
let refreshConnectionCredentials = null;

// ── credentials ─────────────────────────────────────────────────────────────
async function credentials(ctx, el) {
  const { items } = await api("GET", "/connectors/credentials");
  const reload = () => credentials(ctx, el);
  const rows = items.map((c) =>
    h(
      "tr",
      { "data-credential": c.id },
      h("td", { class: "num" }, c.id),
      h("td", null, h("span", { class: "title" }, c.name)),
      h("td", null, c.credential_type),
      h("td", null, envLabel(c.environment)),
      h(
        "td",
        { class: "fields" },
        Object.entries(c.fields).map(([k, v]) =>
          h("span", { class: "chip" }, `${k}: ${v === null ? "" : String(v)}`),
        ),
      ),
      h("td", null, time(c.updated_at)),
      h(
        "td",
        null,
        ctx.can("admin")
          ? h(
              "div",
              { class: "actions" },
              c.secret_fields.length > 0
                ? h(
                    "button",
                    {
                      type: "button",
                      class: "btn btn-small",
                      onClick: (e) => rotateForm(e.target.closest("tr"), c, reload),
                    },
                    "Rotate",
                  )
                : null,
              h(
                "button",
                {
                  type: "button",
                  class: "btn btn-small btn-danger",
                  onClick: async () => {
                    if (!confirm(`Delete credential "${c.name}"?`)) return;
                    try {
                      await api("DELETE", `/connectors/credentials/${c.id}`);
                      toast("Credential deleted", "ok");
                      reload();
                    } catch (err) {
                      toast(`${err.code}: ${err.message}`, "bad");
                    }
                  },
                },
                "Delete",
              ),
            )
          : null,
      ),
    ),
  );
  mount(
    el,
    h(
      "div",
      { class: "panel-head" },
      h("h2", null, "Credentials"),
      h("span", { class: "muted small" }, "Secrets are encrypted at rest and never shown again."),
    ),
    table(["#", "Name", "Type", "Environment", "Fields", "Updated", ""], rows, {
      empty: "No credentials yet.",
    }),
    ctx.can("admin") ? await credentialForm(reload) : null,
  );
}

function rotateForm(row, credential, reload) {
  const inputs = credential.secret_fields.map((name) => [
    name,
    h("input", { type: "password", autocomplete: "new-password" }),
  ]);
  const cell = h(
    "td",
    { colspan: 7 },
    h(
      "div",
      { class: "row" },
      inputs.map(([name, input]) => field(`New ${name}`, input)),
      h(
        "button",
        {
          type: "button",
          class: "btn btn-primary",
          onClick: async () => {
            const body = {};
            for (const [name, input] of inputs) if (input.value) body[name] = input.value;
            try {
              await api("POST", `/connectors/credentials/${credential.id}/rotate`, { json: body });
              toast("Secret rotated", "ok");
              reload();
            } catch (err) {
              toast(`${err.code}: ${err.message}`, "bad");
            }
          },
        },
        "Save",
      ),
    ),
  );
  row.after(h("tr", null, cell));
}

// The form is built from GET /connectors/credential-types: a typed credential shows exactly its
// type's fields (secret ones as password inputs, required ones marked); the generic type takes
// free fields, every one not on its public list sealed, so its value input is a password input.
async function credentialForm(reload) {
  const { items: types } = await api("GET", "/connectors/credential-types");
  const byName = new Map(types.map((t) => [t.name, t]));
  const name = h("input", { type: "text", id: "cred-name", placeholder: "prod-db-credentials" });
  const type = h(
    "select",
    { id: "cred-type" },
    types.map((t) => h("option", { value: t.name }, t.name)),
  );
  if (byName.has("database")) type.value = "database";
  const env = h("input", {
    type: "text",
    id: "cred-env",
    placeholder: "prod (empty: no environment)",
    title: "Empty: no environment. Such a credential serves only connections with no environment.",
  });
  const fieldsBox = h("div", { id: "cred-fields" });
  const hint = h("p", { class: "muted", id: "cred-hint" });
  const addTyped = (f) => {
    const k = h("input", {
      type: "text",
      value: f.name,
      readonly: true,
      "aria-label": "Field name",
      tabindex: -1,
    });
    let v;
    if (f.type === "enum") {
      v = h("select", { "aria-label": f.name }, [
        h("option", { value: "" }, "—"),
        ...f.options.map((o) => h("option", { value: o }, o)),
      ]);
    } else {
      v = h("input", {
        type: f.secret
          ? "password"
          : f.type === "number"
            ? "number"
            : f.type === "boolean"
              ? "checkbox"
              : "text",
        placeholder: `${f.required ? "required" : "optional"}${f.secret ? ", secret" : ""}`,
        "aria-label": f.name,
        autocomplete: f.secret ? "new-password" : "off",
      });
    }
    if (f.required) v.required = true;
    fieldsBox.append(
      h(
        "div",
        {
          class: "row cred-field",
          "data-field": f.name,
          "data-type": f.type,
          "data-secret": String(f.secret),
        },
        h("div", { class: "field" }, k),
        h("div", { class: "field" }, v),
        h(
          "span",
          { class: "muted", title: f.description ?? "" },
          `${f.required ? "* " : ""}${f.secret ? "secret" : ""}`,
        ),
      ),
    );
  };
  const addFree = (publicFields, key = "") => {
    const k = h("input", {
      type: "text",
      placeholder: "field (e.g. username)",
      "aria-label": "Field name",
      value: key,
    });
    const v = h("input", {
      type: "password",
      placeholder: "value",
      "aria-label": "Field value",
      autocomplete: "off",
    });
    // Secret unless on the generic type's public list: the same rule the server applies.
    const sync = () =>
      (v.type = publicFields.includes(k.value.trim().toLowerCase().replace(/-/g, "_")) ? "text" : "password");
    k.addEventListener("input", sync);
    sync();
    fieldsBox.append(
      h(
        "div",
        { class: "row cred-field", "data-type": "free" },
        h("div", { class: "field" }, k),
        h("div", { class: "field" }, v),
      ),
    );
  };
  const addButton = h("button", { type: "button", class: "btn btn-small" }, "Add field");
  addButton.addEventListener("click", () => addFree(byName.get(type.value)?.public_fields ?? []));
  const resetFields = () => {
    fieldsBox.replaceChildren();
    const t = byName.get(type.value);
    if (!t) return;
    addButton.hidden = !t.generic;
    hint.textContent = t.generic
      ? `Any fields; all but ${t.public_fields.join(", ")} are sealed and never shown again.`
      : `${t.description ?? t.name}. * required; secret fields are sealed and never shown again.`;
    if (t.generic) for (const f of ["username", "password"]) addFree(t.public_fields, f);
    else for (const f of t.fields) addTyped(f);
  };
  type.addEventListener("change", resetFields);
  resetFields();
  const error = h("p", { class: "form-error" });
  const save = async () => {
    const body = { name: name.value.trim(), credential_type: type.value, environment: env.value.trim() };
    for (const row of fieldsBox.querySelectorAll(".cred-field")) {
      const key = row.querySelector("input").value.trim();
      const v = row.querySelectorAll("input, select")[1];
      const kind = row.dataset.type;
      if (!key) continue;
      if (kind === "boolean") body[key] = v.checked;
      else if (v.value === "") continue;
      else body[key] = kind === "number" ? Number(v.value) : v.value;
    }
    try {
      await api("POST", "/connectors/credentials", { json: body });
      toast("Credential created", "ok");
      reload();
      refreshConnectionCredentials?.();
    } catch (err) {
      error.textContent = `${err.message}${err.fields.length ? ` (${err.fields.map((f) => f.field).join(", ")})` : ""}`;
    }
  };
  return h(
    "details",
    { class: "create" },
    h("summary", { class: "btn btn-small" }, "New credential"),
    h(
      "div",
      { class: "create-body" },
      h("div", { class: "row" }, field("Name", name), field("Type", type), field("Environment", env)),
      hint,
      fieldsBox,
      h(
        "div",
        { class: "actions" },
        addButton,
        h(
          "button",
          { type: "button", class: "btn btn-primary", id: "cred-save", onClick: save },
          "Create credential",
        ),
      ),
      error,
    ),
  );
}

// ── infrastructure connections ──────────────────────────────────────────────
async function connections(ctx, el) {
  const [{ items }, creds, infrastructure] = await Promise.all([
    api("GET", "/connectors/infrastructure-connections"),
    api("GET", "/connectors/credentials"),
    api("GET", "/connectors/infrastructure"),
  ]);
  const credName = new Map(creds.items.map((c) => [c.id, c.name]));
  const reload = () => connections(ctx, el);
  const test = async (id, button) => {
    button.disabled = true;
    button.textContent = "Testing…";
    try {
      const r = await api("POST", `/connectors/infrastructure-connections/${id}/test`);
      toast(
        r.status === "healthy"
          ? `Healthy (${Math.round(r.latency_ms)} ms)`
          : `Unhealthy: ${r.error ?? "unknown"}`,
        r.status === "healthy" ? "ok" : "bad",
      );
    } catch (err) {
      toast(`${err.code}: ${err.message}`, "bad");
    }
    reload();
  };
  const rows = items.map((c) =>
    h(
      "tr",
      { "data-connection": c.id },
      h(
        "td",
        null,
        h("span", { class: `health ${c.health.status}`, title: c.health.error ?? "" }, c.health.status),
      ),
      h("td", null, h("span", { class: "title" }, c.name)),
      h(
        "td",
        null,
        c.connection_type,
        c.target_service ? h("span", { class: "muted small" }, ` · ${c.target_service}`) : null,
      ),
      h(
        "td",
        { class: "mono" },
        c.target_host ? `${c.target_host}${c.target_port ? `:${c.target_port}` : ""}` : "—",
      ),
      h("td", null, envLabel(c.environment)),
      h("td", null, c.credential_id ? (credName.get(c.credential_id) ?? `#${c.credential_id}`) : "—"),
      h(
        "td",
        null,
        c.health.checked_at
          ? [
              time(c.health.checked_at),
              c.health.latency_ms !== null ? ` · ${Math.round(c.health.latency_ms)} ms` : "",
            ]
          : "never",
        c.health.error ? h("div", { class: "muted small" }, c.health.error) : null,
      ),
      h(
        "td",
        null,
        h(
          "div",
          { class: "actions" },
          h(
            "button",
            { type: "button", class: "btn btn-small", onClick: (e) => test(c.id, e.target) },
            "Test",
          ),
          ctx.can("admin")
            ? h(
                "button",
                {
                  type: "button",
                  class: "btn btn-small btn-danger",
                  onClick: async () => {
                    if (!confirm(`Delete connection "${c.name}"?`)) return;
                    try {
                      await api("DELETE", `/connectors/infrastructure-connections/${c.id}`);
                      reload();
                    } catch (err) {
                      toast(`${err.code}: ${err.message}`, "bad");
                    }
                  },
                },
                "Delete",
              )
            : null,
        ),
      ),
    ),
  );
  mount(
    el,
    h("div", { class: "panel-head" }, h("h2", null, "Infrastructure connections")),
    table(["Health", "Name", "Type", "Target", "Environment", "Credential", "Last check", ""], rows, {
      empty: "No connections yet: steps run on the local connection.",
    }),
    ctx.can("admin") ? connectionForm(ctx, creds.items, connectionTypes(infrastructure.items), reload) : null,
  );
}

// The connection types the registered infrastructure connectors serve (`database:postgresql`
// counts as `database`), then `local`.
function connectionTypes(connectors) {
  const types = new Set();
  for (const c of connectors) for (const t of c.connection_types ?? []) types.add(t.split(":")[0]);
  types.add("local");
  return [...types];
}

function connectionForm(ctx, creds, types, reload) {
  const name = h("input", { type: "text", placeholder: "prod-db-01" });
  const type = h(
    "select",
    null,
    types.map((t) => h("option", { value: t }, t)),
  );
  const options = h("textarea", {
    rows: 2,
    placeholder: '{"transport": "https", "ca": "-----BEGIN CERTIFICATE-----…"}',
    "aria-label": "Options (JSON)",
  });
  const host = h("input", { type: "text", placeholder: "db.example.com" });
  const port = h("input", { type: "number", placeholder: "5432", min: 1, max: 65535 });
  const service = h("input", { type: "text", placeholder: "postgresql" });
  const env = h("input", {
    type: "text",
    id: "conn-env",
    placeholder: "prod (empty: no environment)",
  });
  // Only credentials of the connection's environment are offered: the API refuses any other.
  let allCreds = creds;
  const cred = h("select", { id: "conn-credential" });
  const fillCreds = () => {
    const environment = env.value.trim();
    const kept = cred.value;
    cred.replaceChildren(
      h("option", { value: "" }, "none"),
      ...allCreds
        .filter((c) => (c.environment ?? "") === environment)
        .map((c) => h("option", { value: c.id }, `${c.name} (${c.environment || "no environment"})`)),
    );
    if ([...cred.options].some((o) => o.value === kept)) cred.value = kept;
  };
  env.addEventListener("input", fillCreds);
  fillCreds();
  const refresh = async () => {
    try {
      allCreds = (await api("GET", "/connectors/credentials")).items;
      fillCreds();
    } catch {
      // The list stays as it was; the next change or a reload refreshes it.
    }
  };
  refreshConnectionCredentials = refresh;
  ctx.on("credential:changed", refresh);
  const error = h("p", { class: "form-error" });
  const save = async () => {
    let parsedOptions = {};
    if (options.value.trim()) {
      try {
        parsedOptions = JSON.parse(options.value);
      } catch {
        error.textContent = 'Options must be a JSON object, such as {"transport": "http"}';
        return;
      }
    }
    const body = {
      name: name.value.trim(),
      connection_type: type.value,
      options: parsedOptions,
      target_host: host.value.trim() || null,
      target_port: port.value ? Number(port.value) : null,
      target_service: service.value.trim() || null,
      environment: env.value.trim(),
      credential_id: cred.value ? Number(cred.value) : null,
    };
    try {
      await api("POST", "/connectors/infrastructure-connections", { json: body });
      toast("Connection created", "ok");
      reload();
    } catch (err) {
      error.textContent = `${err.message}${err.fields.length ? ` (${err.fields.map((f) => f.field).join(", ")})` : ""}`;
    }
  };
  return h(
    "details",
    { class: "create" },
    h("summary", { class: "btn btn-small" }, "New connection"),
    h(
      "div",
      { class: "create-body" },
      h("div", { class: "row" }, field("Name", name), field("Type", type), field("Environment", env)),
      h(
        "div",
        { class: "row" },
        field("Target host", host),
        field("Port", port),
        field("Service", service),
        field("Credential", cred),
      ),
      h("div", { class: "row" }, field("Options (JSON)", options)),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "btn btn-primary", onClick: save }, "Create connection"),
      ),
      error,
    ),
  );
}
