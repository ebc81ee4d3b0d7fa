// fetch wrapper for the tickets API: bearer token, an Idempotency-Key on every POST, the API's
// error body ({"error": code, "detail": message, "fields": [...]}) turned into an ApiError whose
// message is the API's own. A lost connection raises the banner (see connection below): reads
// wait and are retried with backoff until the server answers again; writes are never re-sent
// behind the agent's back (the form stays filled; sending it again reuses the same
// Idempotency-Key, so an endpoint that honours it cannot apply it twice).

export class ApiError extends Error {
  constructor(status, code, detail, fields) {
    super(detail || `The server refused the request (HTTP ${status}).`);
    this.name = "ApiError";
    this.status = status;
    this.code = code || `http_${status}`;
    this.fields = fields || null;
  }
}

export class ConnectionLostError extends Error {
  constructor() {
    super("The connection to the server was lost; this action was not confirmed. " +
      "Send it again once the connection is back (the banner at the top disappears).");
    this.name = "ConnectionLostError";
    this.code = "connection_lost";
  }
}

export function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Connection state: `lost()` starts probing with backoff (1 s, 2 s, 4 s … 15 s) until the
 * server answers; listeners hear "lost", "retrying" (with the delay) and "restored". */
export class Connection extends EventTarget {
  constructor(probeUrl) {
    super();
    this.probeUrl = probeUrl;
    this.online = true;
    this.attempt = 0;
    this._waiters = [];
    this._wake = null;
  }

  lost() {
    if (!this.online) return;
    this.online = false;
    this.attempt = 0;
    this.dispatchEvent(new CustomEvent("lost"));
    this._probe();
  }

  /** Resolves when the server answers again (at once when online). */
  whenOnline() {
    return this.online ? Promise.resolve() : new Promise((resolve) => this._waiters.push(resolve));
  }

  /** Skip the rest of the current wait ("Retry now"). */
  retryNow() {
    if (this._wake) this._wake();
  }

  restored() {
    if (this.online) return;
    this.online = true;
    const waiters = this._waiters.splice(0);
    waiters.forEach((resolve) => resolve());
    this.dispatchEvent(new CustomEvent("restored"));
  }

  async _probe() {
    while (!this.online) {
      const delay = Math.min(15000, 1000 * 2 ** this.attempt);
      this.attempt += 1;
      this.dispatchEvent(new CustomEvent("retrying", { detail: { delay, attempt: this.attempt } }));
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, delay);
        this._wake = () => { clearTimeout(timer); resolve(); };
      });
      this._wake = null;
      try {
        const response = await fetch(this.probeUrl, { cache: "no-store", credentials: "omit" });
        if (response.ok) this.restored();
      } catch {
        // still unreachable: wait longer
      }
    }
  }
}

const TRANSIENT = new Set([502, 503, 504]);

export class Api {
  /**
   * @param {string} base the API's root URL (where /v1 lives)
   * @param {() => string|null} getToken
   * @param {Connection} connection
   * @param {(error: ApiError) => void} onUnauthorized
   */
  constructor(base, getToken, connection, onUnauthorized) {
    this.base = base;
    this.getToken = getToken;
    this.connection = connection;
    this.onUnauthorized = onUnauthorized;
    this.timeoutMs = 20000;
    this._pendingKeys = new Map(); // request fingerprint → Idempotency-Key of a write whose fate is unknown
  }

  url(path, params) {
    const url = new URL(path.replace(/^\//, ""), this.base);
    for (const [key, value] of Object.entries(params || {})) {
      if (value === undefined || value === null || value === "") continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
    }
    return url;
  }

  get(path, params) {
    return this.request("GET", path, { params });
  }

  post(path, body) {
    return this.request("POST", path, { body });
  }

  async request(method, path, { params, body } = {}) {
    const url = this.url(path, params);
    const headers = { Accept: "application/json" };
    const token = this.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let payload;
    let fingerprint;
    if (method !== "GET") {
      payload = body === undefined ? undefined : JSON.stringify(body);
      if (payload !== undefined) headers["Content-Type"] = "application/json";
      fingerprint = `${method} ${url.href} ${payload ?? ""}`;
      headers["Idempotency-Key"] = this._pendingKeys.get(fingerprint) || newKey();
    }
    for (;;) {
      await this.connection.whenOnline();
      let response;
      let data;
      try {
        response = await this._fetch(url, { method, headers, body: payload });
        data = await readBody(response);
      } catch {
        this.connection.lost();
        if (method === "GET") continue; // reads wait for the connection and are retried
        this._pendingKeys.set(fingerprint, headers["Idempotency-Key"]);
        throw new ConnectionLostError();
      }
      if (TRANSIENT.has(response.status) && !(data && data.error)) {
        // a proxy's answer, not the API's: the service is unreachable
        this.connection.lost();
        if (method === "GET") continue;
        this._pendingKeys.set(fingerprint, headers["Idempotency-Key"]);
        throw new ConnectionLostError();
      }
      if (fingerprint) this._pendingKeys.delete(fingerprint);
      if (response.ok) return data;
      const error = new ApiError(response.status, data?.error, data?.detail, data?.fields);
      if (response.status === 401 && this.onUnauthorized) this.onUnauthorized(error);
      throw error;
    }
  }

  async _fetch(url, init) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      return await fetch(url, { ...init, signal: controller.signal, cache: "no-store", credentials: "omit" });
    } finally {
      clearTimeout(timer);
    }
  }
}

async function readBody(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
