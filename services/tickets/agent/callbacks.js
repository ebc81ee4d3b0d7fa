// All callbacks (R-S2), newest requests last as the API lists them, with the attempts to make.

import { h, field, clear } from "./dom.js";
import { callbackCard } from "./care.js";
import { loadInto, onApply } from "./ui.js";

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
    await loadInto(list, async () => {
      const page = await ctx.api.get("/v1/callbacks", { status: prefs.status || undefined, limit: 200 });
      return page.items.length ? page.items.map((c) => callbackCard(ctx, c, load))
        : [h("p", { class: "muted" }, "No callbacks here.")];
    });
    const again = focusForm && list.querySelector(`form[data-form="${focusForm}"] select`);
    if (again) again.focus();
  }
  onApply(filters, () => { prefs.status = status.value; }, load);
  await load();
  main.querySelector("h1").focus({ preventScroll: true });
}
