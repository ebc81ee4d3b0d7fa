// The monthly SLA report (supervisors) as a chart drawn in inline SVG: one stacked bar per plan
// (met, breached, excused, pending), the attainment written beside it, and the same numbers in a
// table for screen readers and exact reading. No chart library, nothing fetched from elsewhere.

import { h, svg, field, clear } from "./dom.js";
import { serverMonth } from "./clock.js";
import { loadInto, onApply } from "./ui.js";

const PARTS = [
  ["met", "Met", "bar-met"], ["breached", "Breached", "bar-breached"],
  ["excused", "Excused (force majeure)", "bar-excused"], ["pending", "Pending", "bar-pending"],
];

/** Attainment: met / (met + breached); excused breaches are not the seller's (R-T6), pending not decided. */
export function attainment(row) {
  const decided = row.met + row.breached;
  return decided ? row.met / decided : null;
}

export async function renderReport(ctx, main) {
  const prefs = ctx.prefs.report || (ctx.prefs.report = { period: serverMonth() });
  const month = h("input", { type: "month", name: "period", required: true, value: prefs.period,
    pattern: "20[0-9]{2}-(0[1-9]|1[0-2])" });
  const form = h("form", { class: "filters", "aria-label": "Report period" }, field("Month", month),
    h("button", { type: "submit" }, "Show"));
  const out = h("div", { class: "report" });
  clear(main);
  main.append(h("section", { class: "view", "aria-labelledby": "rep-h" },
    h("div", { class: "view-head" }, h("h1", { id: "rep-h", tabindex: "-1" }, "SLA attainment"), form), out));

  async function load() {
    await loadInto(out, async () => draw(await ctx.api.get("/v1/reports/sla", { period: prefs.period })));
  }
  onApply(form, () => { prefs.period = month.value; }, load);
  await load();
  main.querySelector("h1").focus({ preventScroll: true });
}

function pct(value) {
  return value === null ? "n/a" : `${(value * 100).toFixed(1)} %`;
}

export function draw(report) {
  const rows = report.plans;
  if (!rows.length) return [h("p", { class: "muted" }, `No tickets were accepted in ${report.period}.`)];
  const labelW = 200;
  const barW = 560;
  const rightW = 190;
  const rowH = 34;
  const top = 8;
  const width = labelW + barW + rightW;
  const height = top + rows.length * rowH + 30;
  const max = Math.max(...rows.map((r) => r.tickets), 1);
  const titleId = "chart-title";
  const descId = "chart-desc";
  const chart = svg("svg", { class: "chart", id: "sla-chart", viewBox: `0 0 ${width} ${height}`, width, height,
    role: "img", "aria-labelledby": `${titleId} ${descId}` },
  svg("title", { id: titleId }, `SLA attainment per plan, ${report.period}`),
  svg("desc", { id: descId }, rows.map((r) => `${r.plan_id}: ${r.met} met, ${r.breached} breached, ` +
    `${r.excused} excused, ${r.pending} pending; attainment ${pct(attainment(r))}`).join(". ")));
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const g = svg("g", { class: "chart-row", "data-plan": r.plan_id });
    g.append(svg("text", { x: labelW - 8, y: y + rowH / 2 + 4, "text-anchor": "end", class: "chart-label" },
      r.plan_id + (r.contractual ? "" : " (estimate)")));
    let x = labelW;
    for (const [key, label, cls] of PARTS) {
      if (!r[key]) continue;
      const w = (r[key] / max) * barW;
      g.append(svg("rect", { x, y: y + 6, width: Math.max(w, 1), height: rowH - 12, class: `bar ${cls}`,
        "data-part": key }, svg("title", {}, `${r.plan_id}: ${r[key]} ${label.toLowerCase()}`)));
      if (w > 22) {
        g.append(svg("text", { x: x + w / 2, y: y + rowH / 2 + 4, "text-anchor": "middle", class: "bar-text" },
          String(r[key])));
      }
      x += w;
    }
    g.append(svg("text", { x: labelW + barW + 10, y: y + rowH / 2 + 4, class: "chart-value" },
      `${pct(attainment(r))} met (${r.tickets})`));
    chart.append(g);
  });
  const axisY = top + rows.length * rowH + 4;
  chart.append(svg("line", { x1: labelW, x2: labelW + barW, y1: axisY, y2: axisY, class: "axis" }));
  chart.append(svg("text", { x: labelW, y: axisY + 16, class: "axis-text" }, "0"));
  chart.append(svg("text", { x: labelW + barW, y: axisY + 16, "text-anchor": "end", class: "axis-text" },
    `${max} ticket${max === 1 ? "" : "s"}`));

  const legend = h("ul", { class: "legend", "aria-label": "Legend" }, PARTS.map(([, label, cls]) =>
    h("li", {}, h("span", { class: `swatch ${cls}`, "aria-hidden": "true" }), label)));
  const table = h("table", { class: "compact", id: "report-table" },
    h("caption", {}, `Numbers for ${report.period} (tickets accepted in the month, Warsaw time)`),
    h("thead", {}, h("tr", {}, ["Plan", "Tickets", "Met", "Breached", "Excused", "Pending", "Attainment",
      "Median reaction (business min)"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((r) => h("tr", {},
      h("th", { scope: "row" }, r.plan_id), ...[r.tickets, r.met, r.breached, r.excused, r.pending].map(
        (n) => h("td", { class: "num" }, String(n))),
      h("td", { class: "num" }, pct(attainment(r))),
      h("td", { class: "num" }, r.median_reaction_business_minutes ?? "—")))));
  return [h("figure", { class: "chart-figure" }, chart,
    h("figcaption", {}, "Attainment = met ÷ (met + breached); excused breaches and pending tickets are left out."),
    legend), table];
}
