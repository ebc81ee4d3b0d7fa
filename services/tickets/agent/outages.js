// Force-majeure and security-pause windows (R-T6, R-T10): listed for everyone, declared by supervisors.

import { h, field, clear } from "./dom.js";
import { fmtDateTime, fromLocalInput, serverNow, toLocalInput } from "./clock.js";
import { actionForm, badge, errorPanel, loading, toast } from "./ui.js";

const KINDS = { force_majeure: "Force majeure", security_pause: "Security pause" };

export async function renderOutages(ctx, main) {
  const list = h("div");
  const now = serverNow();
  const form = actionForm(h("form", { class: "grid-form", "data-form": "declare" },
    field("Kind", h("select", { name: "kind" }, Object.entries(KINDS).map(([v, l]) => h("option", { value: v }, l)))),
    field("Starts (your local time)", h("input", { type: "datetime-local", name: "starts_at", required: true,
      value: toLocalInput(now - 3600000) })),
    field("Ends (your local time)", h("input", { type: "datetime-local", name: "ends_at", required: true,
      value: toLocalInput(now + 3600000) })),
    field("Affected products", h("input", { name: "products", autocomplete: "off" }),
      "Comma-separated support products, e.g. sage-warranty; empty: all."),
    field("Description (told to the affected customers)", h("textarea", { name: "description", rows: "2",
      required: true, maxlength: "5000" })),
    h("button", { type: "submit" }, "Declare window")), async (data) => {
    const products = (data.get("products") || "").split(",").map((p) => p.trim()).filter(Boolean);
    const declared = await ctx.api.post("/v1/outage-windows", { kind: data.get("kind"),
      starts_at: fromLocalInput(data.get("starts_at")), ends_at: fromLocalInput(data.get("ends_at")),
      description: data.get("description"), products });
    toast(`Window declared; ${declared.excused_ticket_ids.length} breach(es) excused`);
    await load();
  });
  clear(main);
  main.append(h("section", { class: "view", "aria-labelledby": "out-h" },
    h("h1", { id: "out-h", tabindex: "-1" }, "Force majeure and security pauses"),
    h("p", { class: "hint" }, "Breaches whose deadline falls inside a declared window are excused, not erased."),
    list,
    h("details", { class: "panel" }, h("summary", {}, "Declare a window (supervisors)"), form)));

  async function load() {
    clear(list);
    list.append(loading());
    try {
      const windows = await ctx.api.get("/v1/outage-windows");
      clear(list);
      if (!windows.length) {
        list.append(h("p", { class: "muted" }, "No windows declared."));
        return;
      }
      const current = serverNow();
      list.append(h("table", { class: "compact", id: "outage-table" },
        h("caption", { class: "sr-only" }, "Declared windows, newest first"),
        h("thead", {}, h("tr", {}, ["Kind", "From", "Until", "Products", "Description", "Declared by", "Now"]
          .map((x) => h("th", { scope: "col" }, x)))),
        h("tbody", {}, windows.map((w) => {
          const active = Date.parse(w.starts_at) <= current && current < Date.parse(w.ends_at);
          return h("tr", { "data-window-id": w.id },
            h("td", {}, badge(KINDS[w.kind] || w.kind, w.kind === "force_majeure" ? "badge-warn" : "badge-info")),
            h("td", { class: "nowrap" }, fmtDateTime(w.starts_at)), h("td", { class: "nowrap" }, fmtDateTime(w.ends_at)),
            h("td", {}, w.products.length ? w.products.join(", ") : "All products"),
            h("td", {}, w.description), h("td", {}, `${w.declared_by}, ${fmtDateTime(w.declared_at)}`),
            h("td", {}, active ? badge("In force", "badge-high") : Date.parse(w.ends_at) <= current ? "Over" : "Upcoming"));
        }))));
    } catch (error) {
      clear(list);
      list.append(errorPanel(error, load));
    }
  }
  await load();
  main.querySelector("h1").focus({ preventScroll: true });
}
