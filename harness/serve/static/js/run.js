// The run page: what the run was, its gate, charts by model and by case, the case x model
// matrix or the attempts list under filters kept in the URL, and, while it runs, new attempts
// as they finish (polling the tail with ETags: a quiet poll costs the server one stat).

import { get, poll } from "./api.js";
import { h, clear, path, withQuery, fmt, pill, tile } from "./dom.js";
import { barChart, rangeRows } from "./charts.js";
import { idle } from "./runs.js";
import { FILTERS, filterBar, tableView, viewRequest } from "./matrix.js";

export async function renderRun(ctx) {
  const runId = ctx.params.runId;
  const firstView = viewRequest(runId, new URLSearchParams(location.search)); // beside the run's own
  firstView.catch(() => {}); // a missing run is reported by the run's own request
  const run = await get(path("api", "runs", runId));
  document.title = `${run.suite} ${run.run_id} · harness`;

  const tiles = h("div", { class: "tiles" });
  const liveFeed = h("div", { class: "live-feed" });
  const tableBox = h("div", {});
  const caseChart = h("div", {});
  const modelChart = h("div", { class: "chart" });
  const state = { run, ctx, table: tableBox, caseChart };

  clear(ctx.app,
    header(run),
    tiles,
    gatePanel(run),
    run.live ? h("div", { class: "panel flush", id: "live" },
      h("div", { class: "panel-head" }, h("h2", {}, "Live"), pill("running", "following"), h("span", { class: "spacer" }), h("span", { class: "muted", id: "live-count" }, "waiting for attempts…")),
      liveFeed) : null,
    h("div", { class: "grid-2" },
      h("div", { class: "panel" }, h("h2", {}, "Cost and latency by model"), modelChart),
      h("div", { class: "panel" }, h("h2", {}, "Latency per case (this page)"), caseChart)),
    h("div", { class: "section-gap" }),
    h("div", { class: "panel flush" }, filterBar(run, ctx, () => loadTable(state)), tableBox));

  drawTiles(tiles, run);
  ctx.onLeave(modelCostChart(modelChart, run.by_model));
  await loadTable(state, firstView);
  if (run.live) follow(state, tiles, liveFeed);
}

function header(run) {
  const models = run.models.length ? run.models.join(", ") : "–";
  return h("div", { class: "page-head" },
    h("div", { class: "titles" },
      h("div", { class: "crumbs" }, h("a", { href: "/" }, "Runs"), h("span", { class: "sep" }, "/"), h("a", { href: withQuery("/", { suite: run.suite }) }, run.suite)),
      h("div", { class: "title-row" }, h("h1", { class: "mono" }, run.run_id), pill(run.status), idle(run)),
      h("div", { class: "meta" },
        h("span", {}, "started ", h("b", {}, fmt.stamp(run.started_at))),
        h("span", {}, "mode ", h("b", {}, run.mode || "–")),
        h("span", {}, "models ", h("b", {}, models)),
        h("span", {}, "trials ", h("b", {}, run.trials)),
        run.git_sha ? h("span", {}, "commit ", h("b", { class: "mono" }, run.git_sha.slice(0, 12))) : null,
        run.reason_code ? h("span", {}, "reason ", h("b", {}, run.reason_code)) : null)),
    h("div", { class: "actions" },
      run.previous_run ? h("a", { class: "button", href: withQuery("/compare", { base: run.previous_run, head: run.run_id }) }, "Compare with previous") : null,
      h("a", { class: "button", href: path("api", "runs", run.run_id), target: "_blank", rel: "noopener" }, "JSON")));
}

function drawTiles(target, run) {
  const counted = run.attempts - run.lost;
  clear(target,
    tile("Pass rate", fmt.pct(run.pass_rate, 1), `${fmt.int(run.passed)} of ${fmt.int(counted)} counted trials`, run.pass_rate === 1 ? "pass" : run.pass_rate !== null && run.pass_rate < 0.8 ? "fail" : ""),
    tile("Attempts", fmt.int(run.attempts), run.attempts_planned ? `of ${fmt.int(run.attempts_planned)} planned` : null),
    tile("Flaky cells", fmt.int(run.flaky_cells), "case × model with mixed trials", run.flaky_cells ? "warn" : ""),
    tile("Lost trials", fmt.int(run.lost), "infrastructure errors: no trial", run.lost ? "warn" : ""),
    tile("Cost", fmt.usd(run.cost_usd), run.cost_usd === null ? "no usage reported" : null),
    tile("Wall time", fmt.seconds(run.wall_seconds), run.live ? "so far" : null));
}

function gatePanel(run) {
  const gate = run.gate;
  if (!gate || !gate.checks || (!gate.checks.length && !gate.baseline)) return null;
  const verdict = gate.passed ? "good" : "bad";
  return h("div", { class: "panel" },
    h("h2", {}, "Gate"),
    h("div", { class: `callout ${verdict}` }, h("span", { class: "big" }, gate.passed ? "Gate passed" : "Gate failed"),
      gate.baseline ? h("span", { class: "muted" }, "baseline ", h("code", {}, gate.baseline)) : null),
    gate.checks.length ? h("table", { class: "data" },
      h("thead", {}, h("tr", {}, h("th", {}, "Check"), h("th", {}, "Result"), h("th", { class: "num" }, "Value"), h("th", { class: "num" }, "Limit"), h("th", {}, "Detail"))),
      h("tbody", {}, gate.checks.map((check) => h("tr", {},
        h("td", { class: "id" }, check.name),
        h("td", {}, pill(check.passed ? "pass" : "fail", check.passed ? "pass" : "fail")),
        h("td", { class: "num" }, fmt.num(check.value, 3)),
        h("td", { class: "num" }, fmt.num(check.limit, 3)),
        h("td", { class: "msg" }, check.message || ""))))) : null);
}

function modelCostChart(target, byModel) {
  const labels = byModel.map((m) => m.model || "(no model)");
  const latency = byModel.map((m) => m.mean_wall_ms);
  const wrap = h("div", {});
  const costs = byModel.map((m) => m.cost_usd);
  target.append(wrap);
  const stopLatency = barChart(wrap, labels, [{ label: "mean wall time", values: latency }], { yFormat: fmt.ms, height: 200 });
  let stopCost = () => {};
  if (costs.some((c) => c !== null)) {
    const costBox = h("div", {});
    target.append(costBox);
    stopCost = barChart(costBox, labels, [{ label: "cost", values: costs, color: "#059669" }], { yFormat: fmt.usd, height: 160 });
  } else {
    target.append(h("p", { class: "chart-note" }, "No cost reported by these attempts (agents report it with usage messages)."));
  }
  return () => { stopLatency(); stopCost(); };
}

async function loadTable(state, pending = null) {
  const { run, ctx, table, caseChart } = state;
  const query = new URLSearchParams(location.search);
  let matrix = await tableView(run, ctx, query, table, pending);
  if (matrix === null) {
    // The attempts view: the chart still shows the cells the filters keep.
    const params = { per_page: 100, metric: "mean_wall_ms", sort: "slowest" };
    for (const name of FILTERS) params[name] = query.get(name);
    matrix = await get(withQuery(path("api", "runs", run.run_id, "matrix"), params));
  }
  const ranges = matrix.items
    .flatMap((row) => row.cells.map((cell, i) => [matrix.models.length > 1 ? `${row.case_id} · ${matrix.models[i]}` : row.case_id, cell]))
    .filter(([, cell]) => cell && cell.wall_range_ms)
    .slice(0, 14)
    .map(([label, cell]) => [label, cell.wall_range_ms[0], cell.mean_wall_ms, cell.wall_range_ms[1]]);
  clear(caseChart, ranges.length ? rangeRows(ranges, { format: fmt.ms }) : h("p", { class: "chart-note" }, "No attempt to show."),
    ranges.length ? h("p", { class: "chart-note" }, "min to max wall time of each cell's attempts; the dot is the mean") : null);
}

function follow(state, tiles, feed) {
  let offset = state.run.offset;
  let seen = 0;
  let pending = null;
  const stop = poll(() => withQuery(path("api", "runs", state.run.run_id, "tail"), { offset }), (body) => {
    offset = body.offset;
    Object.assign(state.run, body.card);
    drawTiles(tiles, state.run);
    for (const item of body.items) {
      seen += 1;
      feed.prepend(h("div", { class: "item fresh", "data-attempt": item.attempt_id },
        pill(item.outcome || item.status),
        h("a", { class: "mono", href: path("runs", state.run.run_id, "attempts", item.attempt_id) }, item.attempt_id),
        h("span", { class: "muted" }, fmt.ms(item.wall_ms)),
        item.reason ? h("span", { class: "badge error" }, item.reason) : null));
    }
    while (feed.childElementCount > 50) feed.lastElementChild.remove();
    const count = document.getElementById("live-count");
    if (count) count.textContent = `${seen} new attempt${seen === 1 ? "" : "s"} since this page opened`;
    if (body.items.length && !pending) pending = setTimeout(() => { pending = null; loadTable(state); }, 1500);
    if (!body.card.live) setTimeout(state.ctx.refresh, 300);
    return body.more;
  });
  state.ctx.onLeave(() => { stop(); clearTimeout(pending); });
}

