// The case history page: the pass/fail strip over the last N runs, pass rate, latency, cost
// and score per run, the latency distribution, and whether the case is flaky (and by which rule).

import { get } from "./api.js";
import { h, clear, path, withQuery, fmt, pill } from "./dom.js";
import { color, histogram, seriesChart, shortTimes } from "./charts.js";

export async function renderCase(ctx) {
  const caseId = ctx.params.caseId;
  const query = ctx.query;
  const params = { suite: query.get("suite"), model: query.get("model"), runs: query.get("runs") || 30 };
  const data = await get(withQuery(path("api", "cases", caseId, "history"), params));
  document.title = `${caseId} history · harness`;
  const entries = data.items;
  const models = [...new Set(entries.map((e) => e.model ?? ""))];
  const boxes = { rate: h("div", { class: "chart" }), latency: h("div", { class: "chart" }), cost: h("div", { class: "chart" }), score: h("div", { class: "chart" }), spread: h("div", { class: "chart" }) };
  const hasCost = entries.some((e) => e.cost_usd !== null);
  const hasScore = entries.some((e) => e.mean_score !== null);
  clear(ctx.app,
    h("div", { class: "page-head" },
      h("div", { class: "titles" },
        h("div", { class: "crumbs" }, h("a", { href: "/" }, "Runs"), data.suite ? [h("span", { class: "sep" }, "/"), h("a", { href: withQuery("/", { suite: data.suite }) }, data.suite)] : null, h("span", { class: "sep" }, "/"), "case history"),
        h("div", { class: "title-row" }, h("h1", { class: "mono" }, caseId), ...Object.values(data.flakiness).some((f) => f.flaky) ? [pill("flaky", "flaky")] : []),
        h("div", { class: "meta" }, h("span", {}, h("b", {}, entries.length), " run entries"), h("span", {}, "source ", h("b", {}, data.database ? "history database + run folders" : "run folders")))),
      h("div", { class: "actions" },
        h("label", { class: "muted" }, "runs ", h("select", { "aria-label": "runs", on: { change: (e) => ctx.navigate(withQuery(location.pathname, { ...params, runs: e.target.value })) } },
          [10, 30, 100, 200].map((n) => h("option", { value: n, selected: Number(params.runs) === n }, `last ${n}`)))))),
    flakiness(data.flakiness),
    h("div", { class: "panel" }, h("h2", {}, `Pass / fail over the last ${new Set(entries.map((e) => e.run_id)).size} runs`), strips(entries, models),
      h("div", { class: "legend-row" }, [["P", "passed"], ["F", "failed"], ["B", "over budget"], ["E", "error"], ["L", "lost (infrastructure)"]].map(([k, text]) => h("span", {}, h("span", { class: `sq ${k}` }), text)))),
    h("div", { class: "grid-2" },
      h("div", { class: "panel" }, h("h2", {}, "Pass rate per run"), boxes.rate),
      h("div", { class: "panel" }, h("h2", {}, "Latency per run (mean)"), boxes.latency)),
    h("div", { class: "section-gap" }),
    h("div", { class: "grid-3" },
      h("div", { class: "panel" }, h("h2", {}, "Latency distribution"), boxes.spread, h("p", { class: "chart-note" }, "every attempt in the window")),
      h("div", { class: "panel" }, h("h2", {}, "Cost per run"), hasCost ? boxes.cost : h("p", { class: "chart-note" }, "No cost was reported for this case (agents report it with usage messages).")),
      h("div", { class: "panel" }, h("h2", {}, "Score per run (mean)"), hasScore ? boxes.score : h("p", { class: "chart-note" }, "No score is recorded for these runs (the history database keeps none; run folders do)."))),
    h("div", { class: "section-gap" }),
    h("div", { class: "panel flush" }, runsTable(entries, caseId)));

  // One point per run, oldest first; a model that did not run in a run leaves a gap.
  const runs = [...new Map(entries.map((e) => [e.run_id, e])).values()];
  const labels = shortTimes(runs.map((e) => e.started_at));
  const series = (field) => models.map((model, i) => ({
    label: model || "(no model)",
    color: color(i),
    values: runs.map((run) => entries.find((e) => e.run_id === run.run_id && (e.model ?? "") === model)?.[field] ?? null),
  }));
  ctx.onLeave(seriesChart(boxes.rate, labels, series("pass_rate"), { yFormat: (v) => fmt.pct(v), yRange: [0, 1.02] }));
  ctx.onLeave(seriesChart(boxes.latency, labels, series("mean_wall_ms"), { yFormat: fmt.ms }));
  if (hasScore) ctx.onLeave(seriesChart(boxes.score, labels, series("mean_score"), { yFormat: (v) => fmt.num(v, 2), yRange: [0, 1.02], height: 180 }));
  if (hasCost) ctx.onLeave(seriesChart(boxes.cost, labels, series("cost_usd"), { yFormat: fmt.usd, height: 180 }));
  ctx.onLeave(histogram(boxes.spread, entries.flatMap((e) => e.wall_ms), { format: fmt.ms, buckets: 10, height: 180 }));
}

// A callout for each flaky model; the others in one short table when there are several, so a
// sweep's history does not open with a stack of green boxes.
function flakiness(verdicts) {
  const entries = Object.entries(verdicts);
  const calm = entries.filter(([, verdict]) => !verdict.flaky);
  const boxes = entries.filter(([, verdict]) => verdict.flaky || calm.length === 1).map(([model, verdict]) => flakyBox(model, verdict));
  const table = calm.length > 1 ? h("div", { class: "panel flush" }, h("table", { class: "data" },
    h("thead", {}, h("tr", {}, h("th", {}, "Not flaky on"), h("th", {}, "passed"), h("th", {}, "why"))),
    h("tbody", {}, calm.map(([model, verdict]) => h("tr", {},
      h("td", { class: "mono" }, model || "(no model)"),
      h("td", {}, passedText(verdict)),
      h("td", { class: "muted" }, calmReason(verdict))))))) : null;
  return h("div", { class: "stack" }, boxes, table);
}

const passedText = (verdict) => `${fmt.pct(verdict.pass_rate)} of ${verdict.trials} trials over ${verdict.runs} runs`;

function calmReason(verdict) {
  const why = verdict.runs < 5 ? `not enough runs to tell (${verdict.runs}; the rule needs 5)` : `stable: ${verdict.rule}`;
  return verdict.rerun_flaky_runs ? `${why}; passed only on a re-run in ${verdict.rerun_flaky_runs} run(s)` : why;
}

function flakyBox(model, verdict) {
  const who = model ? ` on ${model}` : "";
  if (verdict.flaky) return h("div", { class: "callout warn" }, h("span", { class: "big" }, `Flaky${who}`), h("span", {}, `passed ${passedText(verdict)}; ${verdict.rule}.`));
  return h("div", { class: `callout ${verdict.pass_rate === 1 ? "good" : ""}` }, h("span", { class: "big" }, `Not flaky${who}`), h("span", {}, `passed ${passedText(verdict)}; ${calmReason(verdict)}.`));
}

// One column per run, the same columns on every model's row (a gap where a model did not run),
// so a column is one moment for every model.
function strips(entries, models) {
  const runIds = [...new Set(entries.map((e) => e.run_id))];
  return h("div", { class: "strips" }, models.map((model) => {
    const mine = new Map(entries.filter((e) => (e.model ?? "") === model).map((e) => [e.run_id, e]));
    return h("div", { class: "strip-row" },
      h("span", { class: "strip-label mono" }, model || "(no model)"),
      h("div", { class: "strip" }, runIds.map((runId) => (mine.has(runId) ? runColumn(mine.get(runId)) : h("div", { class: "run none", title: `${runId}: not run on ${model || "this model"}` })))));
  }));
}

function runColumn(entry) {
  return h("div", { class: "run", title: `${entry.run_id} · ${fmt.stamp(entry.started_at)} · ${entry.c}/${entry.n} passed` },
    entry.trials.map((letter, i) => (entry.in_index
      ? h("a", { class: `sq ${letter}`, href: path("runs", entry.run_id, "attempts", entry.attempts[i]), "aria-label": `${entry.run_id} trial ${i + 1}: ${letter}` })
      : h("span", { class: `sq ${letter}` }))));
}

function runsTable(entries, caseId) {
  return h("div", { class: "table-wrap" }, h("table", { class: "data" },
    h("thead", {}, h("tr", {}, h("th", {}, "Run"), h("th", {}, "Started"), h("th", {}, "Model"), h("th", {}, "Trials"), h("th", { class: "num" }, "Pass rate"), h("th", { class: "num" }, "Mean wall"), h("th", { class: "num" }, "Cost"), h("th", { class: "num" }, "Score"), h("th", {}, "Commit"), h("th", {}, "Failures"))),
    h("tbody", {}, [...entries].reverse().map((e) => h("tr", {},
      h("td", { class: "id" }, e.in_index ? h("a", { href: path("runs", e.run_id) }, e.run_id) : e.run_id),
      h("td", { class: "muted nowrap" }, fmt.stamp(e.started_at)),
      h("td", { class: "mono" }, e.model || "–"),
      h("td", { class: "mono" }, e.trials.join("")),
      h("td", { class: "num" }, fmt.pct(e.pass_rate)),
      h("td", { class: "num" }, fmt.ms(e.mean_wall_ms)),
      h("td", { class: "num" }, fmt.usd(e.cost_usd)),
      h("td", { class: "num" }, fmt.num(e.mean_score, 2)),
      h("td", { class: "mono" }, e.git_sha ? e.git_sha.slice(0, 10) : "–"),
      h("td", { class: "mono" }, e.reasons.join(", ")))))));
}
