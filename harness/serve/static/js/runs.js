// The runs page: every run under the served folder, newest first, with a pass-rate chart per
// suite. Live runs are marked and the list refreshes while any is running.

import { get } from "./api.js";
import { h, clear, path, withQuery, fmt, pill, rateBar } from "./dom.js";
import { seriesChart, shortTimes, sparkline } from "./charts.js";

const STATUSES = ["running", "passed", "failed", "error", "interrupted"];

export async function renderRuns(ctx) {
  const query = ctx.query;
  const suite = query.get("suite") || "";
  const status = query.get("status") || "";
  const page = Number(query.get("page") || 1);
  const data = await get(withQuery("/api/runs", { suite, status, page, per_page: 50 }));
  document.title = "Runs · harness";

  const suiteSelect = h("select", { "aria-label": "suite", on: { change: (e) => ctx.navigate(withQuery("/", { suite: e.target.value, status })) } },
    h("option", { value: "" }, "all suites"),
    data.suites.map((name) => h("option", { value: name, selected: name === suite }, name)));
  const statusSelect = h("select", { "aria-label": "status", on: { change: (e) => ctx.navigate(withQuery("/", { suite, status: e.target.value })) } },
    h("option", { value: "" }, "any status"),
    STATUSES.map((name) => h("option", { value: name, selected: name === status }, name)));

  const chartBox = h("div", { class: "chart" });
  const running = data.items.filter((run) => run.live).length;
  clear(ctx.app,
    h("div", { class: "page-head" },
      h("div", { class: "titles" },
        h("div", { class: "title-row" }, h("h1", {}, "Runs"), running ? pill("running", `${running} running`) : null),
        h("div", { class: "meta" }, h("span", {}, h("b", {}, fmt.int(data.total)), " runs"), h("span", {}, h("b", {}, data.suites.length), " suites"))),
      h("div", { class: "actions" }, suiteSelect, statusSelect)),
    data.items.length > 1 ? h("div", { class: "panel" }, h("h2", {}, "Pass rate over time"), chartBox) : null,
    h("div", { class: "panel flush" }, runsTable(data.items), pager(ctx, data, { suite, status })));

  if (data.items.length > 1) ctx.onLeave(passRateChart(chartBox, data.items));
  if (running) {
    const timer = setTimeout(ctx.refresh, 3000);
    ctx.onLeave(() => clearTimeout(timer));
  }
}

function runsTable(runs) {
  if (!runs.length) return h("p", { class: "empty" }, "No runs here yet. Run a suite (harness run SUITE) and they appear.");
  return h("div", { class: "table-wrap" }, h("table", { class: "data" },
    h("thead", {}, h("tr", {},
      h("th", {}, "Status"), h("th", {}, "Run"), h("th", {}, "Suite"), h("th", {}, "Models"),
      h("th", {}, "Pass rate"), h("th", {}, "Trend"), h("th", { class: "num" }, "Attempts"),
      h("th", { class: "num" }, "Cost"), h("th", { class: "num" }, "Wall time"), h("th", {}, "Started"), h("th", {}, ""))),
    h("tbody", {}, runs.map(runRow))));
}

function runRow(run) {
  const models = run.models.length ? run.models.map((m) => h("span", { class: "chip" }, m)) : h("span", { class: "faint" }, "–");
  const progress = run.live && run.attempts_planned ? `${fmt.int(run.attempts)} / ${fmt.int(run.attempts_planned)}` : fmt.int(run.attempts);
  return h("tr", { "data-run": run.run_id },
    h("td", { class: "nowrap" }, pill(run.status), idle(run)),
    h("td", { class: "id run-id" }, h("a", { href: path("runs", run.run_id) }, run.run_id)),
    h("td", {}, h("a", { href: withQuery("/", { suite: run.suite }) }, run.suite)),
    h("td", { class: "nowrap" }, models, run.trials > 1 ? h("span", { class: "muted" }, ` × ${run.trials}`) : null),
    h("td", {}, rateBar(run.pass_rate)),
    h("td", {}, sparkline(run.trend)),
    h("td", { class: "num" }, progress, run.flaky_cells ? h("span", { class: "badge flaky", title: "cells with mixed trials" }, `${run.flaky_cells} flaky`) : null),
    h("td", { class: "num" }, fmt.usd(run.cost_usd)),
    h("td", { class: "num" }, fmt.seconds(run.wall_seconds)),
    h("td", { class: "nowrap muted", title: fmt.stamp(run.started_at) }, fmt.when(run.started_at)),
    // The trend starts with this run: a second point is an earlier run to compare with.
    h("td", { class: "nowrap" }, run.trend.length > 1 ? h("a", { href: withQuery("/compare", { head: run.run_id }) }, "compare") : null));
}

// A live run that has written nothing for ten minutes was most likely killed (it never wrote its
// summary): say so beside its "running".
export function idle(run) {
  if (!run.live || run.idle_seconds === null || run.idle_seconds < 600) return null;
  return h("span", { class: "muted idle", title: "no result written for this long: was the run killed?" }, ` idle ${fmt.seconds(run.idle_seconds)}`);
}

function passRateChart(target, runs) {
  const ordered = [...runs].reverse().filter((run) => run.pass_rate !== null);
  const suites = [...new Set(ordered.map((run) => run.suite))];
  const labels = shortTimes(ordered.map((run) => run.started_at));
  const series = suites.map((suite) => ({ label: suite, values: ordered.map((run) => (run.suite === suite ? run.pass_rate : null)) }));
  return seriesChart(target, labels, series, { yFormat: (v) => fmt.pct(v), yRange: [0, 1.02] });
}

function pager(ctx, data, query) {
  if (data.pages <= 1) return null;
  const go = (page) => ctx.navigate(withQuery("/", { ...query, page }));
  return h("div", { class: "pager" },
    `page ${data.page} of ${data.pages}`,
    h("button", { disabled: data.page <= 1, on: { click: () => go(data.page - 1) } }, "← newer"),
    h("button", { disabled: data.page >= data.pages, on: { click: () => go(data.page + 1) } }, "older →"));
}
