// Building DOM without innerHTML: every piece of data becomes a text node or an attribute value,
// so a ticket title or a command's output can never turn into markup.

/**
 * h("div", { class: "x", onClick: fn }, "text", child, [more]) → an element.
 * Strings are text nodes; null/undefined/false children are skipped.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key.startsWith("on") && typeof value === "function")
        el.addEventListener(key.slice(2).toLowerCase(), value);
      else if (key === "value") el.value = value;
      else if (key === "checked") el.checked = Boolean(value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function badge(text, tone = "") {
  return h("span", { class: `badge ${tone}` }, text);
}

const severityTone = { critical: "bad", high: "bad", medium: "warn", low: "accent", info: "" };
export function severityBadge(severity) {
  return badge(severity, severityTone[severity] ?? "");
}

const statusTone = {
  new: "accent",
  analyzed: "accent",
  executing: "warn",
  resolved: "ok",
  failed: "bad",
  needs_human: "warn",
  closed: "",
  pending: "",
  running: "accent",
  awaiting_approval: "warn",
  interrupted: "bad",
  succeeded: "ok",
  rolled_back: "warn",
  rejected: "bad",
  cancelled: "",
  approved: "ok",
  expired: "",
  void: "",
  draft: "",
  retired: "",
  timed_out: "bad",
  skipped: "",
  healthy: "ok",
  unhealthy: "bad",
  unknown: "",
};
export function statusBadge(status) {
  return badge(String(status).replaceAll("_", " "), statusTone[status] ?? "");
}

const riskTone = { safe: "ok", low_risk: "accent", medium_risk: "warn", high_risk: "bad" };
export function riskBadge(risk) {
  return badge(String(risk).replace("_risk", " risk"), riskTone[risk] ?? "");
}

export function time(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return h("time", { datetime: iso, title: d.toLocaleString() }, relative(d));
}

export function relative(date) {
  const s = Math.round((Date.now() - date.getTime()) / 1000);
  const abs = Math.abs(s);
  const unit =
    abs < 60
      ? [abs, "s"]
      : abs < 3600
        ? [Math.round(abs / 60), "m"]
        : abs < 86400
          ? [Math.round(abs / 3600), "h"]
          : [Math.round(abs / 86400), "d"];
  return s >= 0 ? `${unit[0]}${unit[1]} ago` : `in ${unit[0]}${unit[1]}`;
}

export function clock(date = new Date()) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function table(headers, rows, { empty = "Nothing here yet." } = {}) {
  if (rows.length === 0) return h("div", { class: "empty" }, empty);
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      null,
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          headers.map((x) => (typeof x === "string" ? h("th", null, x) : x)),
        ),
      ),
      h("tbody", null, rows),
    ),
  );
}

export function toast(message, tone = "") {
  const el = h("div", { class: `toast ${tone}`, role: "status" }, message);
  document.getElementById("toasts").append(el);
  setTimeout(() => el.remove(), tone === "bad" ? 7000 : 3500);
}

export function field(label, input) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

export function score(value) {
  const pct = Math.round(value * 100);
  const fill = h("div");
  fill.style.width = `${pct}%`; // CSSOM, not a style attribute: allowed by the CSP
  return h("span", { class: "score" }, h("span", { class: "bar" }, fill), value.toFixed(2));
}
