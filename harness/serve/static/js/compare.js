// The compare page: two runs (base defaults to the gate's baseline or the previous run),
// cases regressed, fixed, still failing, new and removed, the deltas, the paired test, and per
// case the tool-call sequence diff and the output text diff of a sample attempt of each side.

import { get } from "./api.js";
import { h, clear, path, withQuery, fmt, pill, tile } from "./dom.js";
import { sequenceDiff, textDiff } from "./diff.js";

const CATEGORY_TEXT = {
  regressed: "Regressed", fixed: "Fixed", still_failing: "Still failing", new: "New", removed: "Removed", still_passing: "Still passing",
};

export async function renderCompare(ctx) {
  const query = ctx.query;
  const params = { base: query.get("base"), head: query.get("head"), category: query.get("category"), page: query.get("page") || 1, per_page: 100 };
  const data = await get(withQuery("/api/compare", params));
  const runs = await get(withQuery("/api/runs", { suite: data.head.suite, per_page: 200 }));
  document.title = `Compare ${data.base.run_id} → ${data.head.run_id} · harness`;
  const chooser = (name, current) => h("select", { "aria-label": name, on: { change: (e) => ctx.navigate(withQuery("/compare", { base: data.base.run_id, head: data.head.run_id, [name]: e.target.value })) } },
    runs.items.map((run) => h("option", { value: run.run_id, selected: run.run_id === current }, `${run.run_id} · ${fmt.pct(run.pass_rate)}`)));
  const open = { case: query.get("open"), model: query.get("open_model") || "" };
  clear(ctx.app,
    h("div", { class: "page-head" },
      h("div", { class: "titles" },
        h("div", { class: "crumbs" }, h("a", { href: "/" }, "Runs"), h("span", { class: "sep" }, "/"), h("a", { href: withQuery("/", { suite: data.head.suite }) }, data.head.suite)),
        h("div", { class: "title-row" }, h("h1", {}, "Compare runs")),
        h("div", { class: "meta" }, h("span", {}, "base chosen by ", h("b", {}, data.base_chosen_by.replace("_", " "))))),
      h("div", { class: "actions" }, h("label", { class: "muted" }, "base ", chooser("base", data.base.run_id)), h("label", { class: "muted" }, "head ", chooser("head", data.head.run_id)))),
    h("div", { class: "tiles" },
      Object.entries(CATEGORY_TEXT).map(([name, text]) => tile(text, fmt.int(data.counts[name]), null, name === "regressed" && data.counts[name] ? "fail" : name === "fixed" && data.counts[name] ? "pass" : name === "still_failing" && data.counts[name] ? "warn" : ""))),
    h("div", { class: "grid-2" }, totals(data), pairedTest(data.paired_test)),
    h("div", { class: "section-gap" }),
    h("div", { class: "panel flush" },
      h("div", { class: "filters" }, h("div", { class: "tabs" },
        [["", "All changes"], ...Object.entries(CATEGORY_TEXT)].map(([name, text]) => h("a", { class: (query.get("category") || "") === name ? "current" : "", href: withQuery("/compare", { base: data.base.run_id, head: data.head.run_id, category: name }) }, text)))),
      unitsTable(ctx, data, open)));
}

function runCell(run) {
  return h("span", {}, h("a", { class: "mono", href: path("runs", run.run_id) }, run.run_id), " ", pill(run.status));
}

function totals(data) {
  const t = data.totals;
  const row = (label, base, head, formatter, kind) => {
    const delta = base === null || head === null ? null : head - base;
    const direction = delta === null || delta === 0 ? "" : delta > 0 ? "up" : "down";
    return h("tr", {}, h("td", {}, label), h("td", { class: "num" }, formatter(base)), h("td", { class: "num" }, formatter(head)), h("td", { class: `num delta ${direction} ${kind}` }, fmt.signed(delta, formatter)));
  };
  return h("div", { class: "panel" }, h("h2", {}, "Totals"),
    h("table", { class: "data" },
      h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", { class: "num" }, "Base"), h("th", { class: "num" }, "Head"), h("th", { class: "num" }, "Δ"))),
      h("tbody", {},
        h("tr", {}, h("td", {}, "run"), h("td", { class: "num" }, runCell(data.base)), h("td", { class: "num" }, runCell(data.head)), h("td", {})),
        row("pass rate", t.pass_rate.base, t.pass_rate.head, (v) => fmt.pct(v, 1), "rate"),
        row("mean wall time", t.mean_wall_ms.base, t.mean_wall_ms.head, fmt.ms, "latency"),
        row("cost", t.cost_usd.base, t.cost_usd.head, fmt.usd, "cost"))));
}

function pairedTest(test) {
  const regressed = test.verdict === "regressed";
  return h("div", { class: "panel" }, h("h2", {}, "Paired gate"),
    h("div", { class: `callout ${regressed ? "bad" : "good"}` }, h("span", { class: "big" }, regressed ? "Significant regression" : "No significant drop"),
      h("span", { class: "muted" }, `p = ${test.p_value.toPrecision(3)} at α = ${test.alpha}`)),
    h("dl", { class: "kv" },
      h("dt", {}, "paired trials"), h("dd", {}, fmt.int(test.pairs)),
      h("dt", {}, "passed before, fail now"), h("dd", {}, fmt.int(test.worse)),
      h("dt", {}, "failed before, pass now"), h("dd", {}, fmt.int(test.better)),
      h("dt", {}, "drop in pass rate"), h("dd", {}, fmt.pct(test.drop, 1)),
      h("dt", {}, "test"), h("dd", {}, "one-sided exact sign test on the flips (McNemar's exact test), as harness's gate runs it")));
}

function unitsTable(ctx, data, open) {
  if (!data.items.length) return h("p", { class: "empty" }, "Nothing in this category.");
  const rows = [];
  for (const unit of data.items) {
    const detail = h("tr", { class: "detail" }, h("td", { colspan: 9 }, h("div", { class: "muted" }, "Loading…")));
    detail.hidden = open.case !== unit.case_id || open.model !== (unit.model ?? "");
    const toggle = h("button", { on: { click: () => {
      detail.hidden = !detail.hidden;
      ctx.setQuery(detail.hidden ? { open: null, open_model: null } : { open: unit.case_id, open_model: unit.model });
      if (!detail.hidden) loadDiffs(data, unit, detail.firstChild);
    } } }, "diff");
    if (!detail.hidden) loadDiffs(data, unit, detail.firstChild);
    const d = unit.delta;
    rows.push(h("tr", { "data-case": unit.case_id },
      h("td", {}, pill(unit.category, CATEGORY_TEXT[unit.category])),
      h("td", { class: "id" }, h("a", { href: withQuery(path("cases", unit.case_id), { suite: data.head.suite, model: unit.model }) }, unit.case_id)),
      h("td", { class: "mono" }, unit.model || "–"),
      h("td", { class: "num" }, side(data.base, unit.base), " → ", side(data.head, unit.head)),
      h("td", { class: `num delta ${d.pass_rate > 0 ? "up" : d.pass_rate < 0 ? "down" : ""}` }, fmt.signed(d.pass_rate, (v) => fmt.pct(v))),
      h("td", { class: "num" }, fmt.signed(d.mean_score, (v) => fmt.num(v, 2))),
      h("td", { class: `num delta latency ${d.mean_wall_ms > 0 ? "up" : d.mean_wall_ms < 0 ? "down" : ""}` }, fmt.signed(d.mean_wall_ms, fmt.ms)),
      h("td", { class: `num delta cost ${d.cost_usd > 0 ? "up" : d.cost_usd < 0 ? "down" : ""}` }, fmt.signed(d.cost_usd, fmt.usd)),
      h("td", {}, unit.base && unit.head ? toggle : null)), detail);
  }
  return h("div", { class: "table-wrap" }, h("table", { class: "data" },
    h("thead", {}, h("tr", {}, h("th", {}, "Change"), h("th", {}, "Case"), h("th", {}, "Model"), h("th", { class: "num" }, "Pass rate"), h("th", { class: "num" }, "Δ rate"), h("th", { class: "num" }, "Δ score"), h("th", { class: "num" }, "Δ latency"), h("th", { class: "num" }, "Δ cost"), h("th", {}, ""))),
    h("tbody", {}, rows)));
}

function side(run, cell) {
  if (!cell) return h("span", { class: "faint" }, "–");
  return h("a", { href: path("runs", run.run_id, "attempts", cell.sample), title: `${cell.c}/${cell.n} passed` }, fmt.pct(cell.pass_rate));
}

function calls(transcript) {
  return transcript.filter((e) => e.type === "tool_call").map((e) => `${e.name}(${JSON.stringify(e.args)})`);
}

function output(transcript) {
  const final = transcript.find((e) => e.type === "final_output");
  return final ? JSON.stringify(final.output, null, 2) : "(no final output)";
}

async function loadDiffs(data, unit, target) {
  if (target.dataset.loaded) return;
  target.dataset.loaded = "1";
  const [before, after] = await Promise.all([
    get(path("api", "runs", data.base.run_id, "attempts", unit.base.sample)),
    get(path("api", "runs", data.head.run_id, "attempts", unit.head.sample)),
  ]);
  clear(target, h("div", { class: "grid-2" },
    h("div", {}, h("h3", {}, "Tool calls: base (−) vs head (+)"), h("p", { class: "chart-note" }, `${before.result.attempt_id} vs ${after.result.attempt_id}`), sequenceDiff(calls(before.transcript), calls(after.transcript))),
    h("div", {}, h("h3", {}, "Final output: base (−) vs head (+)"), h("p", { class: "chart-note" }, "JSON, keys in the agent's order"), textDiff(output(before.transcript), output(after.transcript)))));
}
