// The agent SPA: boot (config, clock, sign-in), a hash router over the views, the one-second
// ticker of the countdowns, the connection banner. Never a blank screen: every failure ends in a
// message on the page.

import { h, field, clear } from "./dom.js";
import { Api, Connection } from "./api.js";
import { beginOidc, claims, completeOidc, currentToken, setToken, signOut } from "./auth.js";
import { syncClock } from "./clock.js";
import { tick } from "./sla.js";
import { actionForm, errorPanel, errorText, setBanner, toast } from "./ui.js";
import { markCurrent, setMenuOpen, wireNav } from "./nav.js";
import { renderQueue } from "./queue.js";
import { renderTicket } from "./ticket.js";
import { renderCallbacks } from "./callbacks.js";
import { renderComplaints } from "./complaints.js";
import { renderOutages } from "./outages.js";
import { renderReport } from "./report.js";

const here = new URL(".", location.href.split(/[?#]/)[0]); // …/agent/
const apiBase = new URL("..", here); // the service's root, where /v1 lives
const configUrl = new URL("config.json", here);
const main = document.getElementById("main");

const ctx = {
  config: null,
  signedIn: false,
  me: {},
  prefs: {},
  connection: new Connection(configUrl.href),
  api: null,
};
ctx.api = new Api(apiBase.href, currentToken, ctx.connection, (error) => {
  if (ctx.signedIn) signedOut(`Your sign-in is no longer accepted: ${errorText(error)}`);
});

let cleanup = null;
let rendering = 0;

const ROUTES = [
  [/^#\/tickets\/([^/]+)$/, (m) => renderTicket(ctx, main, decodeURIComponent(m[1])), "#/queue"],
  [/^#\/callbacks$/, () => renderCallbacks(ctx, main), "#/callbacks"],
  [/^#\/complaints(?:\/([^/]+))?$/, (m) => renderComplaints(ctx, main, m[1] && decodeURIComponent(m[1])), "#/complaints"],
  [/^#\/outages$/, () => renderOutages(ctx, main), "#/outages"],
  [/^#\/report$/, () => renderReport(ctx, main), "#/report"],
  [/^#\/queue$/, () => renderQueue(ctx, main), "#/queue"],
];

async function route() {
  if (!currentToken()) return showSignIn();
  const hash = location.hash || "#/queue";
  const found = ROUTES.map(([re, render, nav]) => [hash.match(re), render, nav]).find(([m]) => m);
  if (!found) {
    location.replace("#/queue");
    return undefined;
  }
  const [match, render, nav] = found;
  markCurrent(nav);
  if (cleanup) cleanup();
  cleanup = null;
  const mine = ++rendering;
  try {
    const done = await render(match);
    if (mine === rendering) cleanup = typeof done === "function" ? done : null;
    else if (typeof done === "function") done();
  } catch (error) {
    if (mine !== rendering) return undefined;
    clear(main);
    main.append(h("section", { class: "view" }, h("h1", { tabindex: "-1" }, "Something went wrong"),
      errorPanel(error, route)));
    main.querySelector("h1").focus();
  }
  return undefined;
}

/** The top bar: the navigation and "Signed in as …" only once the API has accepted the token;
 * otherwise "Not signed in" (never "Signed in as" with no one named). */
function showChrome(signedIn) {
  ctx.signedIn = signedIn;
  document.getElementById("nav").hidden = !signedIn;
  setMenuOpen(false);
  document.getElementById("who-in").hidden = !signedIn;
  document.getElementById("sign-out").hidden = !signedIn;
  document.getElementById("who-out").hidden = signedIn;
  const name = document.getElementById("who-name");
  if (signedIn) {
    const c = claims();
    ctx.me = { sub: c.sub || "me", roles: c.roles || [], scope: c.scope || "" };
    name.textContent = `${ctx.me.sub}${ctx.me.roles.length ? ` (${ctx.me.roles.join(", ")})` : ""}`;
  } else {
    ctx.me = {};
    name.textContent = "";
  }
}

function signedOut(message, kind = "error") {
  signOut();
  if (cleanup) cleanup();
  cleanup = null;
  showSignIn(message, kind);
}

function showSignIn(message, kind = "error") {
  showChrome(false);
  clear(main);
  const oidc = ctx.config?.auth_mode === "oidc" ? ctx.config.oidc : null;
  const notice = message ? h("p", { class: kind === "error" ? "error-panel" : "info-panel", role: kind === "error"
    ? "alert" : "status" }, message) : null;
  let form;
  if (oidc) {
    form = actionForm(h("form", { class: "signin-form" },
      h("p", {}, "Sign in with your organisation's account. You will come back here afterwards."),
      h("button", { type: "submit" }, "Sign in")), async () => beginOidc(oidc));
  } else {
    const token = h("textarea", { name: "token", rows: "5", required: true, autocomplete: "off", spellcheck: "false" });
    form = actionForm(h("form", { class: "signin-form" },
      field("Access token (JWT)", token,
        "Development sign-in: paste a bearer token, e.g. from `supportctl token --role agent`. " +
        "It is kept in this tab only."),
      h("button", { type: "submit" }, "Sign in")), async (data) => {
      setToken(String(data.get("token")));
      await verifyToken(); // a refusal shows in this form, with the API's message and code
      await enter();
    });
  }
  main.append(h("section", { class: "view signin", "aria-labelledby": "signin-h" },
    h("h1", { id: "signin-h", tabindex: "-1" }, "Sign in to the support desk"), notice, form));
  (main.querySelector("textarea") || main.querySelector("button")).focus();
}

/** The API decides whether the token is good (the browser cannot verify it); a refusal signs
 * out and is thrown as the API's error. */
async function verifyToken() {
  try {
    await ctx.api.get("/v1/tickets", { limit: 1 });
  } catch (error) {
    signOut();
    throw error;
  }
}

async function enter() {
  showChrome(true);
  if (!location.hash || location.hash === "#/") history.replaceState(null, "", "#/queue");
  await route();
}

async function boot() {
  try {
    ctx.config = await syncClock(configUrl.href);
  } catch (error) {
    clear(main);
    main.append(h("section", { class: "view" }, h("h1", {}, "The support desk cannot start"),
      errorPanel(new Error(`Its configuration could not be read (${error.message}).`), () => location.reload())));
    return;
  }
  ctx.config.refresh_seconds = Math.max(5, Number(ctx.config.refresh_seconds) || 30);
  if (ctx.config.auth_mode === "oidc") {
    try {
      await completeOidc(ctx.config.oidc);
    } catch (error) {
      signOut();
      showSignIn(error.message);
      return;
    }
  }
  if (!currentToken()) {
    showSignIn();
    return;
  }
  try {
    await verifyToken(); // a token kept from before, or the one the identity provider just issued
  } catch (error) {
    showSignIn(`Your sign-in was refused: ${errorText(error)}`);
    return;
  }
  await enter();
}

// ---- wiring ----------------------------------------------------------------------------------
wireNav();
window.addEventListener("hashchange", () => route());
document.getElementById("sign-out").addEventListener("click", () => {
  signedOut("You have signed out.", "info");
});
document.getElementById("banner").addEventListener("click", (event) => {
  if (event.target.closest("#retry-now")) ctx.connection.retryNow();
});
ctx.connection.addEventListener("lost", () => setBanner("lost"));
ctx.connection.addEventListener("retrying", (event) => setBanner("lost", event.detail));
ctx.connection.addEventListener("restored", () => {
  setBanner("ok");
  toast("Connection restored");
  syncClock(configUrl.href).catch(() => {});
});
window.addEventListener("offline", () => ctx.connection.lost());
window.addEventListener("online", () => ctx.connection.retryNow());
window.addEventListener("unhandledrejection", (event) => {
  toast(`Unexpected error: ${event.reason?.message || event.reason}`, "error");
});
window.addEventListener("error", (event) => {
  toast(`Unexpected error: ${event.message}`, "error");
});
setInterval(() => tick(), 1000);
setInterval(() => { if (ctx.connection.online) syncClock(configUrl.href).catch(() => {}); }, 10 * 60 * 1000);

boot();
