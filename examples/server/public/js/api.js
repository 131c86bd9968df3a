// The API client: the token lives in sessionStorage (gone when the tab closes), every call
// sends it as a Bearer header, and the live stream authenticates with a one-minute stream token.

const BASE = "/api/v1";
const TOKEN_KEY = "runwarden.token";

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}
export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An API error: `code`, `status`, `fields` and `details` from the JSON error body. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? "HTTP_ERROR";
    this.fields = body?.error?.fields ?? [];
    this.details = body?.error?.details ?? {};
  }
}

let onUnauthorized = () => {};
/**
 * Called on a 401 with the token that request carried. A 401 for a token that is no longer the
 * current one (the person signed out, or in again, while it was in flight) ends nothing.
 */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = (sent) => {
    if (sent && sent === getToken()) fn();
  };
}

/** api("GET", "/tickets", { query, json, body, headers }) → parsed JSON (or text). */
export async function api(method, path, options = {}) {
  const url = new URL(BASE + path, location.origin);
  for (const [k, v] of Object.entries(options.query ?? {}))
    if (v !== undefined && v !== "" && v !== null) url.searchParams.set(k, v);
  const sent = getToken();
  const headers = { authorization: `Bearer ${sent ?? ""}`, ...(options.headers ?? {}) };
  let body = options.body;
  if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  const res = await fetch(url, { method, headers, body });
  if (res.status === 401) onUnauthorized(sent);
  if (res.status === 204) return null;
  const type = res.headers.get("content-type") ?? "";
  const data = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(res.status, typeof data === "object" ? data : null);
  return data;
}

/**
 * Uploads with progress (fetch cannot report upload progress): resolves with the JSON answer.
 */
export function upload(path, formData, { query = {}, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const url = new URL(BASE + path, location.origin);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    const sent = getToken();
    xhr.setRequestHeader("authorization", `Bearer ${sent ?? ""}`);
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress?.(e.loaded / e.total);
    xhr.onload = () => {
      if (xhr.status === 401) onUnauthorized(sent);
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response);
      else reject(new ApiError(xhr.status, xhr.response));
    };
    xhr.onerror = () => reject(new Error("network error"));
    xhr.send(formData);
  });
}

/** Downloads an authenticated file through a temporary object URL. */
export async function download(path, filename) {
  const res = await fetch(BASE + path, { headers: { authorization: `Bearer ${getToken() ?? ""}` } });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * The live event stream. Listeners: live.on("approval:requested", fn) → unsubscribe function.
 * Reconnects with a fresh stream token when the connection drops.
 */
export function createLive(onState) {
  const listeners = new Map();
  let source = null;
  let stopped = false;
  let retry = null;

  async function connect() {
    if (stopped) return;
    onState("connecting");
    try {
      const { stream_token: token } = await api("POST", "/events/stream-token");
      source = new EventSource(`${BASE}/events?stream_token=${encodeURIComponent(token)}`);
    } catch {
      onState("off");
      retry = setTimeout(connect, 5000);
      return;
    }
    source.onopen = () => onState("on");
    source.onerror = () => {
      // EventSource retries by itself with the same URL; the token expires within a minute, so
      // start over with a fresh one instead.
      source?.close();
      source = null;
      onState("off");
      if (!stopped) retry = setTimeout(connect, 2000);
    };
    for (const name of listeners.keys()) {
      if (name === "*") for (const n of allEvents) bind(n);
      else bind(name);
    }
  }

  const bound = new Set();
  function bind(name) {
    if (!source || bound.has(`${name}@${source.url}`)) return;
    bound.add(`${name}@${source.url}`);
    source.addEventListener(name, (e) => {
      let data;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      for (const fn of listeners.get(name) ?? []) fn(data, name);
      for (const fn of listeners.get("*") ?? []) fn(data, name);
    });
  }

  const allEvents = [
    "ticket:ingested",
    "ticket:analyzed",
    "ticket:updated",
    "import:progressed",
    "import:finished",
    "runbook:created",
    "runbook:approved",
    "runbook:retired",
    "runbook:auto-execution-paused",
    "runbook:auto-execution-resumed",
    "session:created",
    "session:updated",
    "session:finished",
    "step:started",
    "step:output",
    "step:finished",
    "approval:requested",
    "approval:decided",
    "credential:changed",
    "connection:changed",
    "connection:checked",
    "outbox:delivered",
    "outbox:dead-lettered",
  ];

  return {
    start() {
      stopped = false;
      connect();
    },
    stop() {
      stopped = true;
      clearTimeout(retry);
      source?.close();
      source = null;
    },
    on(name, fn) {
      if (!listeners.has(name)) listeners.set(name, new Set());
      listeners.get(name).add(fn);
      if (name === "*") for (const n of allEvents) bind(n);
      else bind(name);
      return () => listeners.get(name)?.delete(fn);
    },
    allEvents,
  };
}
