// Complaints (R-T9) with their deadlines: 30 days from receipt, or the one extended date (at most
// 60 days); extend once, answer.

import { h, field, clear } from "./dom.js";
import { fmtDate, fmtDateTime } from "./clock.js";
import { COMPLAINT_STATUS, complaintDeadline } from "./care.js";
import { actionForm, badge, loadInto, onApply, toast } from "./ui.js";

export async function renderComplaints(ctx, main, openId) {
  const prefs = ctx.prefs.complaints || (ctx.prefs.complaints = { status: "", overdue: false });
  const status = h("select", { name: "status" },
    [["", "All"], ["open", "Open"], ["extended", "Extended"], ["answered", "Answered"]]
      .map(([value, label]) => h("option", { value, selected: value === prefs.status }, label)));
  const overdue = h("input", { type: "checkbox", name: "overdue", checked: prefs.overdue });
  const filters = h("form", { class: "filters", "aria-label": "Complaint filters" }, field("Status", status),
    field("Only overdue", overdue), h("button", { type: "submit" }, "Apply"));
  const list = h("div", { class: "cards" });
  clear(main);
  main.append(h("section", { class: "view", "aria-labelledby": "cmp-h" },
    h("div", { class: "view-head" }, h("h1", { id: "cmp-h", tabindex: "-1" }, "Complaints"), filters),
    h("p", { class: "hint" }, "Answer within 30 days of receipt; in a complex case name an expected date once " +
      "(at most 60 days from receipt)."), list));

  async function load(focusId) {
    await loadInto(list, async () => {
      const items = await ctx.api.get("/v1/complaints", { status: prefs.status || undefined,
        overdue: prefs.overdue ? "true" : undefined });
      return items.length ? items.map((c) => card(ctx, c, load, c.id === (focusId || openId)))
        : [h("p", { class: "muted" }, "No complaints here.")];
    });
    const target = list.querySelector(`[data-complaint-id="${CSS.escape(focusId || openId || "")}"] h2`);
    if (target) target.focus();
  }
  onApply(filters, () => {
    prefs.status = status.value;
    prefs.overdue = overdue.checked;
  }, load);
  await load();
  if (!openId) main.querySelector("h1").focus({ preventScroll: true });
}

function card(ctx, c, reload, open) {
  const path = `/v1/complaints/${encodeURIComponent(c.id)}`;
  const article = h("article", { class: `card complaint${c.overdue ? " overdue" : ""}`, "data-complaint-id": c.id },
    h("h2", { tabindex: "-1" }, c.subject, " ", badge(COMPLAINT_STATUS[c.status] || c.status,
      c.status === "answered" ? "badge-normal" : "badge-info")),
    h("p", {}, complaintDeadline(c)),
    h("p", { class: "sub" }, `${c.id} · ${c.customer_id} · received ${fmtDateTime(c.received_at)} · `,
      `due ${fmtDate(c.due_on)}${c.extended_to ? ` · extended to ${fmtDate(c.extended_to)}` : ""} · filed by ${c.filed_by}`,
      c.ticket_id ? [" · ", h("a", { href: `#/tickets/${encodeURIComponent(c.ticket_id)}` }, `ticket ${c.ticket_id}`)] : null,
      c.remote_session_id ? ` · about remote session ${c.remote_session_id}` : null),
    h("details", { open: open || undefined }, h("summary", {}, "Description and actions"),
      h("p", { class: "body" }, c.description),
      c.extension_reason ? h("p", {}, h("strong", {}, "Why extended: "), c.extension_reason) : null,
      c.answer ? h("p", { class: "body" }, h("strong", {}, `Answer (sent to ${c.answered_to}): `), c.answer) : null));
  if (c.status !== "answered") {
    const details = article.querySelector("details");
    if (c.status === "open") {
      details.append(actionForm(h("form", { class: "grid-form", "data-form": "extend" },
        field("Why is the case especially complex?", h("input", { name: "reason", required: true, maxlength: "2000" })),
        field("Expected answer date", h("input", { type: "date", name: "expected_on", required: true })),
        h("button", { type: "submit", class: "secondary" }, "Name an expected date")), async (data) => {
        await ctx.api.post(`${path}/extend`, { reason: data.get("reason"), expected_on: data.get("expected_on") });
        toast("Expected date named; the customer is told");
        await reload(c.id);
      }));
    }
    details.append(actionForm(h("form", { "data-form": "answer" },
      field("Answer (goes to the customer's current e-mail)", h("textarea", { name: "answer", rows: "3", required: true,
        maxlength: "20000" })),
      h("button", { type: "submit" }, "Send answer")), async (data) => {
      await ctx.api.post(`${path}/answer`, { answer: data.get("answer") });
      toast("Answer sent");
      await reload(c.id);
    }));
  }
  return article;
}
