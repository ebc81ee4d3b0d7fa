// Callbacks (R-S2) and complaints (R-T9): pieces shared by the ticket view and their own pages.

import { h, field } from "./dom.js";
import { daysBetween, fmtDate, fmtDateTime, serverToday } from "./clock.js";
import { actionForm, badge, toast } from "./ui.js";

const OUTCOMES = { reached: "Reached", no_answer: "No answer", busy: "Busy", failed: "Failed" };
const CB_STATUS = { scheduled: "Scheduled", completed: "Completed (reached)", exhausted: "Exhausted (3 attempts)" };

/** One callback: its three planned attempts and, while scheduled, a form for the next one. */
export function callbackCard(ctx, callback, onChange) {
  const rows = callback.attempts.map((a) => h("tr", {},
    h("td", {}, String(a.attempt)), h("td", {}, a.number),
    h("td", {}, a.target === "calling_number" ? "Number the call came from" : "Number in the order"),
    h("td", {}, a.outcome ? OUTCOMES[a.outcome] || a.outcome : h("span", { class: "muted" }, "to do")),
    h("td", {}, a.at ? fmtDateTime(a.at) : "—"), h("td", {}, a.agent || "—")));
  const card = h("article", { class: "card callback", "data-callback-id": callback.id },
    h("h3", {}, `Callback ${callback.id} `, badge(CB_STATUS[callback.status] || callback.status,
      callback.status === "scheduled" ? "badge-info" : "badge-normal")),
    h("p", { class: "sub" }, `${callback.customer_id} · ${callback.product_id} · plan ${callback.plan_id} · `,
      `requested ${fmtDateTime(callback.requested_at)} · failed attempts are e-mailed to ${callback.contact_email}`,
      callback.ticket_id ? [" · ", h("a", { href: `#/tickets/${encodeURIComponent(callback.ticket_id)}` },
        `ticket ${callback.ticket_id}`)] : null),
    h("table", { class: "compact" },
      h("caption", { class: "sr-only" }, `Attempts of callback ${callback.id}`),
      h("thead", {}, h("tr", {}, ["#", "Number", "Which", "Outcome", "When", "Agent"].map(
        (t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows)));
  if (callback.next_attempt) {
    const next = callback.next_attempt;
    const outcome = h("select", { name: "outcome", required: true },
      Object.entries(OUTCOMES).map(([value, label]) => h("option", { value }, label)));
    const note = h("input", { name: "note", maxlength: "2000", autocomplete: "off" });
    card.append(actionForm(h("form", { class: "inline-form", "data-form": `attempt-${callback.id}` },
      field(`Outcome of attempt ${next.attempt} (${next.number})`, outcome),
      field("Note (optional)", note),
      h("button", { type: "submit" }, `Record attempt ${next.attempt}`)), async (data) => {
      await ctx.api.post(`/v1/callbacks/${encodeURIComponent(callback.id)}/attempts`,
        { outcome: data.get("outcome"), note: data.get("note") || null });
      toast(`Attempt ${next.attempt} recorded: ${OUTCOMES[data.get("outcome")]}`);
      await onChange(`attempt-${callback.id}`);
    }));
  }
  return card;
}

/** "Due 23 Dec 2026 · 30 days left" / "Overdue by 2 days" / "Answered …". */
export function complaintDeadline(complaint) {
  if (complaint.status === "answered") {
    return h("span", { class: "deadline deadline-done" }, `Answered ${fmtDateTime(complaint.answered_at)}`);
  }
  const left = daysBetween(serverToday(), complaint.answer_due_on);
  const extended = complaint.extended_to ? ` (extended from ${fmtDate(complaint.due_on)})` : "";
  if (complaint.overdue || left < 0) {
    return h("span", { class: "deadline deadline-overdue" },
      `Overdue — answer was due ${fmtDate(complaint.answer_due_on)}${extended}, ${-left} day${left === -1 ? "" : "s"} ago`);
  }
  const cls = left <= 5 ? "deadline deadline-soon" : "deadline deadline-ok";
  const when = left === 0 ? "due today" : `${left} day${left === 1 ? "" : "s"} left`;
  return h("span", { class: cls }, `Answer due ${fmtDate(complaint.answer_due_on)}${extended} · ${when}`);
}

export const COMPLAINT_STATUS = { open: "Open", extended: "Extended", answered: "Answered" };
