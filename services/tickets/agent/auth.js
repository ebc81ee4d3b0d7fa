// Sign-in. Development: the agent pastes a token (kept in sessionStorage: gone with the tab).
// Production: OpenID Connect authorization code with PKCE (S256): the browser is sent to the
// configured authorize URL; on return the `state` is checked and the code exchanged at the
// token URL for an access token.

const TOKEN_KEY = "agent.token";
const PENDING_KEY = "agent.oidc.pending";

export function currentToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token.trim().replace(/^Bearer\s+/i, ""));
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

function base64UrlDecode(part) {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  return new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
}

/** The token's claims, for display only (the API verifies the token; the browser cannot). */
export function claims(token = currentToken()) {
  try {
    return JSON.parse(base64UrlDecode((token || "").split(".")[1] || ""));
  } catch {
    return {};
  }
}

function base64Url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes = 32) {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export async function pkceChallenge(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

export function redirectUri(oidc) {
  return oidc.redirect_uri || new URL(".", location.href.split(/[?#]/)[0]).href;
}

/** Sends the browser to the identity provider. */
export async function beginOidc(oidc) {
  if (!globalThis.crypto?.subtle) {
    throw new Error("This page is not served over HTTPS, so the browser cannot sign in securely (no Web Crypto).");
  }
  const verifier = randomString(48);
  const state = randomString(24);
  const redirect = redirectUri(oidc);
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ state, verifier, redirect, at: Date.now() }));
  const url = new URL(oidc.authorize_url);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", oidc.client_id);
  url.searchParams.set("redirect_uri", redirect);
  url.searchParams.set("scope", oidc.scope || "openid");
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", await pkceChallenge(verifier));
  url.searchParams.set("code_challenge_method", "S256");
  location.assign(url.href);
}

/** On return from the identity provider (?code=…&state=… or ?error=…): checks the state,
 * exchanges the code, keeps the token. Returns false when this is not such a return. */
export async function completeOidc(oidc) {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, "", location.pathname + (location.hash || "#/queue")); // the code leaves the URL
  if (params.has("error")) {
    const why = params.get("error_description") || params.get("error");
    throw new Error(`The identity provider refused the sign-in: ${why}`);
  }
  if (!pending || !params.get("state") || pending.state !== params.get("state")) {
    throw new Error("This sign-in response does not match a sign-in started in this tab (state mismatch); " +
      "sign in again.");
  }
  const form = new URLSearchParams({
    grant_type: "authorization_code", code: params.get("code"), redirect_uri: pending.redirect,
    client_id: oidc.client_id, code_verifier: pending.verifier,
  });
  let response;
  try {
    response = await fetch(oidc.token_url, {
      method: "POST", body: form, credentials: "omit", cache: "no-store",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    });
  } catch {
    throw new Error("The identity provider's token endpoint could not be reached; sign in again.");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.access_token) {
    const why = body.error_description || body.error || `HTTP ${response.status}`;
    throw new Error(`The identity provider did not issue a token: ${why}`);
  }
  setToken(body.access_token);
  return true;
}
