// The queue: in the API's order (priority first, then time to breach; R-S3), with live countdowns.
// Every row's subject is a link: Tab reaches it, Enter opens the ticket. Wider than its box (a
// narrow window), the table scrolls sideways inside a labelled, focusable region (arrow keys
// scroll it); at 800 px and below each ticket is stacked as a card, every value under its
// column's name (data-label; styles.css). The explicit table roles keep the table a table for
// screen readers when CSS stacks it (display: block drops the native semantics in some browsers).

import { h, field, clear } from "./dom.js";
import { fmtDateTime, fmtTime, serverNow } from "./clock.js";
import { slaBadge } from "./sla.js";
import { badge, errorPanel, loading } from "./ui.js";

const FILTERS = {
  work: { label: "Open work (new, open, waiting for customer)", status: ["new", "open", "awaiting_customer"] },
  waiting: { label: "Waiting for the customer", status: ["awaiting_customer"] },
  resolved: { label: "Resolved", status: ["resolved"] },
  all: { label: "All", status: ["new", "open", "awaiting_customer", "resolved", "closed"] },
};

const COLUMNS = ["Priority", "Ticket", "Customer", "Plan", "Status", "Assignee", "Reaction SLA", "Due (Warsaw)"];

const STATUS = { new: "New", open: "Open", awaiting_customer: "Waiting for customer", resolved: "Resolved",
  closed: "Closed" };

export function statusLabel(status) {
  return STATUS[status] || status;
}

export async function renderQueue(ctx, main) {
  const prefs = ctx.prefs.queue || (ctx.prefs.queue = { filter: "work", mine: false });
  const select = h("select", { name: "filter" },
    Object.entries(FILTERS).map(([key, f]) => h("option", { value: key, selected: key === prefs.filter }, f.label)));
  const mine = h("input", { type: "checkbox", name: "mine", checked: prefs.mine });
  const filters = h("form", { class: "filters", "aria-label": "Queue filters" },
    field("Show", select), field("Only tickets assigned to me", mine),
    h("button", { type: "submit" }, "Apply"));
  const meta = h("p", { class: "meta", role: "status" });
  const body = h("tbody", { role: "rowgroup" });
  const table = h("table", { class: "queue", id: "queue-table", role: "table" },
    h("caption", { class: "sr-only" }, "Tickets in queue order: priority first, then time to breach"),
    h("thead", { role: "rowgroup" }, h("tr", { role: "row" },
      COLUMNS.map((label) => h("th", { scope: "col", role: "columnheader" }, label)))),
    body);
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const area = h("div", { class: "table-wrap", id: "queue-scroll", role: "region", tabindex: "0",
    "aria-label": "Tickets in the queue" }, table);
  clear(main);
  main.append(h("section", { "aria-labelledby": "queue-h", class: "view" },
    h("div", { class: "view-head" }, h("h1", { id: "queue-h", tabindex: "-1" }, "Queue"), filters), meta, area, more));

  let next = null;
  let shown = 0;

  async function load(append) {
    const params = { status: FILTERS[prefs.filter].status, limit: 50,
      assignee: prefs.mine ? ctx.me.sub : undefined, cursor: append ? next : undefined };
    const page = await ctx.api.get("/v1/tickets", params);
    const focusedId = document.activeElement?.closest?.("tr[data-ticket-id]")?.dataset.ticketId;
    if (!append) {
      clear(body);
      shown = 0;
    }
    for (const ticket of page.items) body.append(row(ticket));
    shown += page.items.length;
    next = page.next_cursor;
    more.hidden = !next;
    if (!shown) body.append(h("tr", {}, h("td", { colspan: "8", class: "empty" }, "No tickets here.")));
    meta.textContent = `${shown} ticket${shown === 1 ? "" : "s"} · updated ${fmtTime(serverNow())}`;
    if (focusedId) body.querySelector(`tr[data-ticket-id="${CSS.escape(focusedId)}"] a`)?.focus();
  }

  async function refresh() {
    try {
      await load(false);
    } catch (error) {
      clear(body);
      body.append(h("tr", {}, h("td", { colspan: "8" }, errorPanel(error, refresh))));
    }
  }

  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    prefs.filter = select.value;
    prefs.mine = mine.checked;
    refresh();
  });
  more.addEventListener("click", () => load(true).catch((error) => area.append(errorPanel(error))));

  body.append(h("tr", {}, h("td", { colspan: "8" }, loading())));
  await refresh();
  main.querySelector("#queue-h").focus({ preventScroll: true });
  const timer = setInterval(() => { if (ctx.connection.online) refresh(); }, ctx.config.refresh_seconds * 1000);
  const onRestored = () => refresh();
  ctx.connection.addEventListener("restored", onRestored);
  return () => {
    clearInterval(timer);
    ctx.connection.removeEventListener("restored", onRestored);
  };
}

function row(ticket) {
  const high = ticket.priority > 0;
  const cells = [
    high ? badge("High", "badge-high") : badge("Normal", "badge-normal"),
    h("div", {}, h("a", { href: `#/tickets/${encodeURIComponent(ticket.id)}`, class: "row-link" }, ticket.subject),
      h("div", { class: "sub" }, ticket.id, " · ", ticket.category,
        ticket.out_of_scope ? [" · ", badge("Out of scope", "badge-warn")] : null)),
    ticket.customer_id,
    ticket.plan?.plan_name || ticket.plan?.plan_id || "—",
    statusLabel(ticket.status),
    ticket.assignee || h("span", { class: "muted" }, "Unassigned"),
    slaBadge(ticket.sla),
    ticket.sla?.state === "paused"
      ? h("span", { class: "muted", title: "The deadline moves by the time spent waiting for the customer" },
        "moves on resume")
      : fmtDateTime(ticket.sla?.reaction_due_at),
  ];
  const cls = { 1: "subject", 7: "nowrap" };
  return h("tr", { "data-ticket-id": ticket.id, class: high ? "prio-high" : "", role: "row" },
  cells.map((content, i) => h("td", { class: cls[i], role: "cell", "data-label": COLUMNS[i] }, content)));
}
