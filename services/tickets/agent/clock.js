// The server's clock as seen from the browser, and how instants and durations are shown.
// Countdowns are computed here every second from the ticket's SLA due time; the browser's
// clock is corrected by the server's (config.json `server_time`, or the response's Date header).

const ZONE = "Europe/Warsaw"; // business time zone (DOMAIN.md R-T5): every time is shown in it
let offsetMs = 0;

export function serverNow() {
  return Date.now() + offsetMs;
}

export function clockOffsetMs() {
  return offsetMs;
}

/** Measures the offset from one round trip: server time + half the round trip − local receive time. */
export function adoptServerTime(serverMs, sentAt, receivedAt) {
  if (!Number.isFinite(serverMs)) return;
  offsetMs = Math.round(serverMs + (receivedAt - sentAt) / 2 - receivedAt);
}

export async function syncClock(configUrl) {
  const sentAt = Date.now();
  const response = await fetch(configUrl, { cache: "no-store", credentials: "omit" });
  const receivedAt = Date.now();
  const config = await response.json();
  const server = Date.parse(config.server_time || response.headers.get("Date") || "");
  adoptServerTime(server, sentAt, receivedAt);
  return config;
}

const dateTime = new Intl.DateTimeFormat("en-GB", {
  timeZone: ZONE, weekday: "short", day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit",
});
const dateOnly = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, day: "2-digit", month: "short", year: "numeric" });
const isoDate = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" });

const timeOnly = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** A time of day in Warsaw with seconds ("13:00:05"), for an instant in milliseconds. */
export function fmtTime(ms) {
  return timeOnly.format(new Date(ms));
}

export function fmtDateTime(iso) {
  if (!iso) return "—";
  return dateTime.format(new Date(iso));
}

/** A calendar date (YYYY-MM-DD from the API) shown as "23 Dec 2026". */
export function fmtDate(ymd) {
  if (!ymd) return "—";
  const [y, m, d] = ymd.split("-").map(Number);
  return dateOnly.format(new Date(Date.UTC(y, m - 1, d, 12)));
}

/** Today's date in Warsaw as YYYY-MM-DD, on the server's clock. */
export function serverToday() {
  return isoDate.format(new Date(serverNow()));
}

/** Whole days from `fromYmd` to `toYmd` (both YYYY-MM-DD). */
export function daysBetween(fromYmd, toYmd) {
  const [a, b] = [fromYmd, toYmd].map((s) => Date.UTC(...s.split("-").map((n, i) => Number(n) - (i === 1 ? 1 : 0))));
  return Math.round((b - a) / 86400000);
}

function pad(n) {
  return String(n).padStart(2, "0");
}

/** 93784000 → "1d 02h 03m 04s"; 3723000 → "1h 02m 03s". Seconds always shown: the countdown visibly runs. */
export function fmtDuration(ms) {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return d > 0 ? `${d}d ${pad(hours)}h ${pad(m)}m ${pad(s)}s` : `${hours}h ${pad(m)}m ${pad(s)}s`;
}

/** A value for <input type="datetime-local"> (browser's local time) for the instant `ms`. */
export function toLocalInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The instant typed into <input type="datetime-local"> (browser's local time) as ISO 8601 UTC. */
export function fromLocalInput(value) {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`not a date and time: ${value}`);
  return d.toISOString();
}

/** The server's current month as YYYY-MM (Warsaw). */
export function serverMonth() {
  return serverToday().slice(0, 7);
}
