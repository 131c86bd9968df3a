// The dashboard's shell: sign-in, hash routing between the tabs, the live stream and the pending
// approvals counter. Each tab is a module under views/ exporting render(ctx).
import { api, clearToken, createLive, getToken, setToken, setUnauthorizedHandler } from "./api.js";
import { h, mount } from "./dom.js";
import * as approvalLink from "./views/approval-link.js";
import * as approvals from "./views/approvals.js";
import * as connectors from "./views/connectors.js";
import * as executions from "./views/executions.js";
import * as linkNotifier from "./views/link-notifier.js";
import * as people from "./views/people.js";
import * as runbooks from "./views/runbooks.js";
import * as tickets from "./views/tickets.js";
import * as upload from "./views/upload.js";
import * as webhookSources from "./views/webhook-sources.js";

const views = {
  upload,
  tickets,
  approvals,
  executions,
  runbooks,
  connectors,
  people,
  "webhook-sources": webhookSources,
  // Pages a notification links to (no tab): an e-mail's approval link, a chat user's person link.
  "approval-link": approvalLink,
  "link-notifier": linkNotifier,
};

/** The roles a tab is for; a tab not listed is for everyone. */
const tabRoles = { upload: ["operator"], "webhook-sources": ["admin"] };

function can(role) {
  return me.roles.includes("admin") || me.roles.includes(role);
}

/** Where a person lands: the first thing they can act on. */
function landing() {
  if (can("operator")) return "#/upload";
  if (can("approver")) return "#/approvals";
  return "#/tickets";
}

/** Shows the tabs the signed-in person may use, and names People for what it is to them. */
function showNav() {
  for (const a of document.querySelectorAll("#nav a")) {
    const needs = tabRoles[a.dataset.tab];
    a.hidden = needs !== undefined && !needs.some(can);
  }
  $("nav-people").textContent = can("admin") ? "People" : "Your token";
}
const $ = (id) => document.getElementById(id);

let me = null;
let live = null;
let cleanup = [];
let pendingTimer = null;

function showLogin(message = "") {
  live?.stop();
  live = null;
  me = null;
  // Nothing of the session before outlives it: the view's subscriptions and timers, the
  // pending-approvals refresh, and what the view showed.
  clearTimeout(pendingTimer);
  for (const fn of cleanup) fn();
  cleanup = [];
  $("main").replaceWith($("main").cloneNode(false));
  $("shell").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("login-token").focus();
}

async function signIn(token) {
  setToken(token);
  try {
    me = await api("GET", "/me");
  } catch (err) {
    clearToken();
    showLogin(
      err.status === 401
        ? "That token is not valid (or was revoked)."
        : `Cannot reach the server: ${err.message}`,
    );
    return;
  }
  $("login").hidden = true;
  $("shell").hidden = false;
  showNav();
  if (!location.hash) history.replaceState(null, "", landing());
  mount($("whoami"), "Signed in as ", h("strong", null, me.actor), h("br"), me.roles.join(", "));
  live = createLive((state) => {
    $("live").className = `live ${state}`;
    $("live-text").textContent = state === "on" ? "Live" : state === "off" ? "Reconnecting…" : "Connecting…";
  });
  live.start();
  live.on("approval:requested", refreshPending);
  live.on("approval:decided", refreshPending);
  refreshPending();
  route();
}

function refreshPending() {
  clearTimeout(pendingTimer);
  pendingTimer = setTimeout(async () => {
    try {
      const page = await api("GET", "/approvals", { query: { status: "pending", limit: 200 } });
      const count = page.items.length;
      $("pending-count").hidden = count === 0;
      $("pending-count").textContent = String(count);
    } catch {
      // the counter is a convenience
    }
  }, 150);
}

/** The way out of a not-found or error view: back where the person came from, or to Tickets. */
function wayBack() {
  return h(
    "p",
    { class: "actions" },
    h("a", { class: "btn btn-primary", href: "#/tickets" }, "Back to Tickets"),
    history.length > 1
      ? h("button", { type: "button", class: "btn", onClick: () => history.back() }, "Go back")
      : null,
  );
}

/** The view of a `#/route` no tab answers. */
const notFound = {
  render(ctx) {
    mount(
      ctx.main,
      h(
        "div",
        { class: "panel", "data-view": "not-found" },
        h("h2", null, "Page not found"),
        h("p", { class: "muted" }, `There is no page at ${location.hash}.`),
        wayBack(),
      ),
    );
  },
};

/** The view of a tab the signed-in person's roles do not allow: says which role it needs. */
function notAllowed(needs) {
  return {
    render(ctx) {
      mount(
        ctx.main,
        h(
          "div",
          { class: "panel", "data-view": "not-allowed" },
          h("h2", null, "Not for your role"),
          h(
            "p",
            { class: "muted" },
            `This page needs the ${needs.join(" or ")} role; you have ${me.roles.join(", ")}.`,
          ),
          wayBack(),
        ),
      );
    },
  };
}

function route() {
  if (!me) return;
  for (const fn of cleanup) fn();
  cleanup = [];
  // `#/tab/id?query`: the query (a notification link's token) is the view's, not part of the id.
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split(/\?(.*)/s);
  const [name, id] = path.split("/");
  // An empty route is the default tab; a route no tab answers is "not found", not a tab.
  const tab = name || "tickets";
  const needs = tabRoles[tab];
  const view = !Object.hasOwn(views, tab)
    ? notFound
    : needs && !needs.some(can)
      ? notAllowed(needs)
      : views[tab];
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.tab === tab);
  // A fresh <main> per view: a view still rendering for the route before (its data arrived late)
  // writes into the element it was given, now detached, and never over this one.
  const main = $("main").cloneNode(false);
  $("main").replaceWith(main);
  const ctx = {
    me,
    id: id ? decodeURIComponent(id) : undefined,
    query: new URLSearchParams(search),
    main,
    /** Subscribes to a live event for as long as this view is shown. */
    on(name, fn) {
      cleanup.push(live.on(name, fn));
    },
    /** Registers a function to run when the view is left. */
    onLeave(fn) {
      cleanup.push(fn);
    },
    can,
  };
  Promise.resolve(view.render(ctx)).catch((err) => {
    mount(
      main,
      h(
        "div",
        { class: "panel", "data-view": "error" },
        h("h2", null, "Something went wrong"),
        h("p", { class: "muted" }, err.message),
        wayBack(),
      ),
    );
  });
  main.focus({ preventScroll: true });
}

setUnauthorizedHandler(() => {
  clearToken();
  showLogin("Your session ended: sign in again.");
});

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("login-token").value.trim();
  $("login-token").value = "";
  if (token) signIn(token);
});
$("logout").addEventListener("click", () => {
  clearToken();
  showLogin();
});
// On a narrow screen the navigation folds behind the Menu button; choosing a page folds it again.
function foldNav(open) {
  $("sidebar").classList.toggle("open", open);
  $("nav-toggle").setAttribute("aria-expanded", String(open));
}
$("nav-toggle").addEventListener("click", () => foldNav(!$("sidebar").classList.contains("open")));
window.addEventListener("hashchange", () => {
  foldNav(false);
  route();
});

const saved = getToken();
if (saved) signIn(saved);
else showLogin();
