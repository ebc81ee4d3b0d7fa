// SLA display: the API's state (running, warning, breached, met, paused, none) plus a live
// countdown to the reaction deadline. A running clock turns "breached" here the second its
// deadline passes, before the next scan tells the API. Every state is written out in words,
// never shown by colour alone.

import { h } from "./dom.js";
import { fmtDateTime, fmtDuration, serverNow } from "./clock.js";

export function slaView(sla, now = serverNow()) {
  const state = sla?.state || "none";
  const due = sla?.reaction_due_at ? Date.parse(sla.reaction_due_at) : NaN;
  const excused = sla?.excused ? " (excused: force majeure)" : "";
  if (state === "paused") {
    return { cls: "sla-paused", label: "Paused", text: "Paused — waiting for the customer" };
  }
  if (state === "met") {
    return sla.breached_at
      ? { cls: "sla-breached", label: "Breached", text: `Breached, then answered${excused}` }
      : { cls: "sla-met", label: "Met", text: `Met — answered ${fmtDateTime(sla.first_response_at)}` };
  }
  if (state === "none" || Number.isNaN(due)) {
    return { cls: "sla-none", label: "No clock", text: "No reaction clock running" };
  }
  const left = due - now;
  if (state === "breached" || left <= 0) {
    const ago = left <= 0 ? ` ${fmtDuration(-left)} ago` : "";
    return { cls: "sla-breached", label: "Breached", text: `Breached${ago}${excused}` };
  }
  if (state === "warning") {
    return { cls: "sla-warning", label: "Warning", text: `Warning — ${fmtDuration(left)} left` };
  }
  return { cls: "sla-ok", label: "On time", text: `${fmtDuration(left)} left` };
}

/** A live countdown element; `tick()` (every second, app.js) refreshes every one on the page. */
export function slaBadge(sla) {
  const el = h("span", { class: "sla", role: "timer", "data-countdown": "" });
  el._sla = sla;
  paint(el);
  return el;
}

function paint(el) {
  const view = slaView(el._sla);
  el.className = `sla ${view.cls}`;
  el.textContent = view.text;
  const due = el._sla?.reaction_due_at;
  el.title = due ? `Reaction due ${fmtDateTime(due)} (Warsaw time)` : "";
  el.dataset.state = view.label;
  const row = el.closest("tr[data-ticket-id]");
  if (row) row.dataset.sla = view.cls;
}

export function tick(root = document) {
  for (const el of root.querySelectorAll("[data-countdown]")) if (el._sla) paint(el);
}
