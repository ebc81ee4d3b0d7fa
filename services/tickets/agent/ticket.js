// One ticket: the thread (internal notes marked), reply / internal note / request details /
// resolve / reopen / close / assign, remote-help sessions, callbacks and complaints about it.

import { h, field, clear } from "./dom.js";
import { fmtDateTime, fromLocalInput, serverNow, toLocalInput } from "./clock.js";
import { slaBadge } from "./sla.js";
import { statusLabel } from "./queue.js";
import { callbackCard, complaintDeadline, COMPLAINT_STATUS } from "./care.js";
import { actionForm, badge, errorPanel, labelled, loading, toast } from "./ui.js";

export async function renderTicket(ctx, main, ticketId) {
  const path = `/v1/tickets/${encodeURIComponent(ticketId)}`;
  clear(main);
  main.append(loading(`Loading ticket ${ticketId}…`));

  async function show(focusForm) {
    let ticket;
    try {
      ticket = await ctx.api.get(path);
    } catch (error) {
      clear(main);
      main.append(h("section", { class: "view" }, h("p", {}, h("a", { href: "#/queue" }, "← Back to the queue")),
        h("h1", { tabindex: "-1" }, `Ticket ${ticketId}`), errorPanel(error, () => show())));
      main.querySelector("h1").focus();
      return;
    }
    const [sessions, callbacks, complaints] = await Promise.allSettled([
      ctx.api.get(`${path}/remote-sessions`),
      ctx.api.get("/v1/callbacks", { customer_id: ticket.customer_id, limit: 200 }),
      ctx.api.get("/v1/complaints", { customer_id: ticket.customer_id }),
    ]);
    const drafts = collectDrafts(main, focusForm); // what the agent typed survives a refresh
    const view = build(ctx, ticket, { sessions, callbacks, complaints }, show);
    restoreDrafts(view, drafts);
    clear(main);
    main.append(view);
    const again = focusForm && main.querySelector(`form[data-form="${focusForm}"]`);
    const target = again?.closest("details") ? again.closest("section")?.querySelector("h2")
      : again?.querySelector("textarea, input, select, button");
    (target || main.querySelector("h1")).focus();
  }

  await show();
  const onRestored = () => show();
  ctx.connection.addEventListener("restored", onRestored);
  return () => ctx.connection.removeEventListener("restored", onRestored);
}

/** Typed but unsent values of every form, by form and field name (not the form just sent). */
function collectDrafts(root, sentForm) {
  const drafts = [];
  for (const form of root.querySelectorAll("form[data-form]")) {
    if (form.dataset.form === sentForm) continue;
    for (const el of form.querySelectorAll("input[name], textarea[name], select[name]")) {
      const changed = el.tagName === "SELECT" ? [...el.options].some((o) => o.selected !== o.defaultSelected)
        : el.type === "checkbox" ? el.checked !== el.defaultChecked : el.value !== el.defaultValue;
      if (changed) drafts.push([form.dataset.form, el.name, el.type === "checkbox" ? el.checked : el.value]);
    }
  }
  return drafts;
}

function restoreDrafts(root, drafts) {
  for (const [formKey, name, value] of drafts) {
    const el = root.querySelector(`form[data-form="${CSS.escape(formKey)}"] [name="${CSS.escape(name)}"]`);
    if (!el) continue;
    if (el.type === "checkbox") el.checked = value;
    else el.value = value;
    el.closest("details")?.setAttribute("open", "");
  }
}

function build(ctx, t, related, reload) {
  const path = `/v1/tickets/${encodeURIComponent(t.id)}`;
  const done = async (message, form) => {
    toast(message);
    await reload(form);
  };

  const header = h("header", { class: "ticket-head" },
    h("p", { class: "crumbs" }, h("a", { href: "#/queue" }, "← Queue")),
    h("h1", { tabindex: "-1" }, t.subject),
    h("div", { class: "badges" },
      badge(statusLabel(t.status), `badge-status status-${t.status}`),
      t.priority > 0 ? badge("High priority", "badge-high") : badge("Normal priority", "badge-normal"),
      t.out_of_scope ? badge("Out of scope", "badge-warn") : null,
      slaBadge(t.sla)),
    h("dl", { class: "facts" },
      labelled("Ticket", t.id), labelled("Customer", t.customer_id),
      labelled("Plan", `${t.plan?.plan_name || t.plan?.plan_id} (${t.plan?.source || "contract"})`),
      labelled("Product", t.product_id), labelled("Category", t.category), labelled("Channel", t.channel),
      labelled("Contact", `${t.contact?.name || ""} <${t.contact?.email || ""}>${t.contact?.phone ? ` ${t.contact.phone}` : ""}`),
      labelled("Assignee", t.assignee || "Unassigned"), labelled("Accepted", fmtDateTime(t.accepted_at)),
      labelled("Reaction due", fmtDateTime(t.sla?.reaction_due_at))),
    t.scope_note ? h("p", { class: "note-warn" }, t.scope_note) : null,
    t.sla?.explanation ? h("details", { class: "explain" }, h("summary", {}, "How the deadline was counted"),
      h("p", {}, t.sla.explanation)) : null);

  // ---- the thread --------------------------------------------------------------------------
  const thread = h("ol", { class: "thread", "aria-label": "Messages, oldest first" }, t.messages.map((m) => {
    const internal = m.visibility === "internal";
    return h("li", {}, h("article", { class: internal ? "msg msg-internal" : `msg msg-${m.author_kind}`,
      "data-visibility": m.visibility, "aria-label": `${internal ? "Internal note" : "Message"} by ${m.author}` },
      h("header", {}, h("strong", {}, m.author), ` (${m.author_kind}) · ${fmtDateTime(m.at)} · ${m.channel}`,
        internal ? badge("Internal note — not shown to the customer", "badge-internal") : badge("Public", "badge-public")),
      h("p", { class: "body" }, m.body),
      m.attachments?.length ? h("ul", { class: "attachments", "aria-label": "Attachments" },
        m.attachments.map((a) => h("li", {}, `${a.filename} (${a.content_type}, ${a.size} bytes)`))) : null));
  }));

  const replyBody = h("textarea", { name: "body", rows: "4", required: true, maxlength: "20000" });
  const reply = actionForm(h("form", { class: "reply", "data-form": "reply", "aria-labelledby": "reply-h" },
    h("h2", { id: "reply-h" }, "Reply or add a note"),
    field("Your message", replyBody, "A public reply goes to the customer; the first one meets the reaction target."),
    h("div", { class: "buttons" },
      h("button", { type: "submit", name: "visibility", value: "public" }, "Send public reply"),
      h("button", { type: "submit", name: "visibility", value: "internal", class: "secondary" }, "Add internal note"))),
  async (data, submitter) => {
    const visibility = submitter?.value || "public";
    await ctx.api.post(`${path}/messages`, { body: data.get("body"), visibility });
    await done(visibility === "internal" ? "Internal note added" : "Reply sent", "reply");
  });

  // ---- life cycle ---------------------------------------------------------------------------
  const details = actionForm(h("form", { "data-form": "details" },
    field("What should the customer add?", h("textarea", { name: "body", rows: "2", required: true,
      maxlength: "20000" })),
    h("button", { type: "submit" }, "Request details (pauses the SLA clock)")), async (data) => {
    await ctx.api.post(`${path}/request-details`, { body: data.get("body") });
    await done("Details requested; the SLA clock is paused", "details");
  });
  const resolve = actionForm(h("form", { "data-form": "resolve" },
    field("Resolution note (optional)", h("input", { name: "note", maxlength: "2000", autocomplete: "off" })),
    h("button", { type: "submit" }, "Resolve")), async (data) => {
    const note = data.get("note");
    await ctx.api.post(`${path}/resolve`, note ? { note } : undefined);
    await done("Ticket resolved", "resolve");
  });
  const reopenClose = actionForm(h("form", { "data-form": "reopen", class: "buttons" },
    h("button", { type: "submit", value: "reopen", class: "secondary" }, "Reopen"),
    h("button", { type: "submit", value: "close", class: "secondary" }, "Close")), async (data, submitter) => {
    const action = submitter?.value || "reopen";
    await ctx.api.post(`${path}/${action}`);
    await done(action === "reopen" ? "Ticket reopened" : "Ticket closed", "reopen");
  });
  const assignee = h("input", { name: "assignee", maxlength: "200", autocomplete: "off", value: t.assignee || "" });
  const assign = actionForm(h("form", { "data-form": "assign" },
    field("Assignee (agent id)", assignee),
    h("div", { class: "buttons" },
      h("button", { type: "submit", value: "set" }, "Assign"),
      h("button", { type: "submit", value: "me", class: "secondary" }, `Assign to me (${ctx.me.sub})`),
      h("button", { type: "submit", value: "none", class: "secondary" }, "Unassign"))), async (data, submitter) => {
    const how = submitter?.value || "set";
    const who = how === "me" ? ctx.me.sub : how === "none" ? null : (data.get("assignee") || "").trim() || null;
    await ctx.api.post(`${path}/assign`, { assignee: who });
    await done(who ? `Assigned to ${who}` : "Unassigned", "assign");
  });

  // ---- remote help (R-S4, R-S5) -------------------------------------------------------------
  const sessionsBlock = h("div");
  if (related.sessions.status === "rejected") sessionsBlock.append(errorPanel(related.sessions.reason));
  else if (!related.sessions.value.length) sessionsBlock.append(h("p", { class: "muted" }, "No remote-help sessions."));
  else {
    sessionsBlock.append(h("table", { class: "compact", id: "remote-sessions" },
      h("caption", { class: "sr-only" }, "Remote-help sessions of this ticket"),
      h("thead", {}, h("tr", {}, ["Started", "Minutes", "Program", "Agent", "Included / overage", "Complaints until"]
        .map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, related.sessions.value.map((r) => h("tr", {},
        h("td", {}, fmtDateTime(r.started_at)), h("td", {}, String(r.minutes)), h("td", {}, r.program),
        h("td", {}, r.agent),
        h("td", {}, `${r.minutes_usage.included} min included, ${r.minutes_usage.overage} min overage; ` +
          `session ${r.sessions.included ? "included" : "overage"}`),
        h("td", {}, fmtDateTime(r.complaint_deadline)))))));
  }
  const started = h("input", { type: "datetime-local", name: "started_at", required: true,
    value: toLocalInput(serverNow() - 30 * 60000) });
  const sessionForm = actionForm(h("form", { "data-form": "remote", class: "grid-form" },
    field("Started at (your local time)", started),
    field("Minutes", h("input", { type: "number", name: "minutes", min: "1", max: "480", required: true, value: "30" })),
    field("Program the customer named", h("input", { name: "program", required: true, maxlength: "200" })),
    h("button", { type: "submit" }, "Record remote session")), async (data) => {
    await ctx.api.post(`${path}/remote-sessions`, { started_at: fromLocalInput(data.get("started_at")),
      minutes: Number(data.get("minutes")), program: data.get("program") });
    await done("Remote session recorded", "remote");
  });

  // ---- callbacks (R-S2) --------------------------------------------------------------------
  const callbacksBlock = h("div");
  if (related.callbacks.status === "rejected") callbacksBlock.append(errorPanel(related.callbacks.reason));
  else {
    const mine = related.callbacks.value.items.filter((c) => c.ticket_id === t.id);
    if (!mine.length) callbacksBlock.append(h("p", { class: "muted" }, "No callbacks for this ticket."));
    mine.forEach((c) => callbacksBlock.append(callbackCard(ctx, c, reload)));
  }
  const callbackForm = actionForm(h("form", { "data-form": "callback", class: "grid-form" },
    field("Number the call came from", h("input", { type: "tel", name: "calling_number", required: true,
      value: t.contact?.phone || "" })),
    field("Number in the order", h("input", { type: "tel", name: "order_number", required: true })),
    field("Order e-mail (told of failed attempts)", h("input", { type: "email", name: "contact_email", required: true,
      value: t.contact?.email || "" })),
    h("button", { type: "submit" }, "Request a callback")), async (data) => {
    await ctx.api.post("/v1/callbacks", { customer_id: t.customer_id, product: t.product_id, ticket_id: t.id,
      calling_number: data.get("calling_number"), order_number: data.get("order_number"),
      contact_email: data.get("contact_email") });
    await done("Callback scheduled", "callback");
  });

  // ---- complaints (R-T9) -------------------------------------------------------------------
  const complaintsBlock = h("div");
  if (related.complaints.status === "rejected") complaintsBlock.append(errorPanel(related.complaints.reason));
  else {
    const about = related.complaints.value.filter((c) => c.ticket_id === t.id);
    complaintsBlock.append(about.length ? h("ul", { class: "plain", id: "ticket-complaints" }, about.map((c) => h("li", {},
      h("a", { href: `#/complaints/${encodeURIComponent(c.id)}` }, c.subject), " · ",
      badge(COMPLAINT_STATUS[c.status] || c.status), " · ", complaintDeadline(c))))
      : h("p", { class: "muted" }, "No complaints about this ticket."));
  }

  const section = (id, title, ...content) => h("section", { class: "panel", "aria-labelledby": id },
    h("h2", { id, tabindex: "-1" }, title), ...content);

  return h("article", { class: "view ticket", "data-ticket-id": t.id },
    header,
    h("div", { class: "ticket-grid" },
      h("div", { class: "col-main" },
        section("thread-h", `Thread (${t.messages.length})`, thread),
        reply,
        section("remote-h", "Remote-help sessions", sessionsBlock,
          h("details", {}, h("summary", {}, "Record a remote-help session"), sessionForm)),
        section("callbacks-h", "Callbacks", callbacksBlock,
          h("details", {}, h("summary", {}, "Request a callback"), callbackForm)),
        section("complaints-h", "Complaints", complaintsBlock)),
      h("div", { class: "col-side" },
        section("status-h", "Status", details, resolve, reopenClose),
        section("assign-h", "Assignment", assign))));
}
