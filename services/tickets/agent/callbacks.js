// All callbacks (R-S2), newest requests last as the API lists them, with the attempts to make.

import { h, field, clear } from "./dom.js";
import { callbackCard } from "./care.js";
import { errorPanel, loading } from "./ui.js";

export async function renderCallbacks(ctx, main) {
  const prefs = ctx.prefs.callbacks || (ctx.prefs.callbacks = { status: "scheduled" });
  const status = h("select", { name: "status" },
    [["scheduled", "Scheduled (attempts to make)"], ["completed", "Completed"], ["exhausted", "Exhausted"], ["", "All"]]
      .map(([value, label]) => h("option", { value, selected: value === prefs.status }, label)));
  const filters = h("form", { class: "filters", "aria-label": "Callback filters" }, field("Show", status),
    h("button", { type: "submit" }, "Apply"));
  const list = h("div", { class: "cards" });
  clear(main);
  main.append(h("section", { class: "view", "aria-labelledby": "cb-h" },
    h("div", { class: "view-head" }, h("h1", { id: "cb-h", tabindex: "-1" }, "Callbacks"), filters), list));

  async function load(focusForm) {
    clear(list);
    list.append(loading());
    try {
      const page = await ctx.api.get("/v1/callbacks", { status: prefs.status || undefined, limit: 200 });
      clear(list);
      if (!page.items.length) list.append(h("p", { class: "muted" }, "No callbacks here."));
      page.items.forEach((c) => list.append(callbackCard(ctx, c, load)));
      const again = focusForm && list.querySelector(`form[data-form="${focusForm}"] select`);
      if (again) again.focus();
    } catch (error) {
      clear(list);
      list.append(errorPanel(error, () => load()));
    }
  }
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    prefs.status = status.value;
    load();
  });
  await load();
  main.querySelector("h1").focus({ preventScroll: true });
}
