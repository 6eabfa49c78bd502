// The run page's filter bar and its two tables: the case x model matrix (statistics per cell)
// and the attempts list. Every filter lives in the URL, so a copied link restores the view.

import { get } from "./api.js";
import { h, clear, path, withQuery, fmt, pill } from "./dom.js";

export const FILTERS = ["q", "status", "model", "tag", "grader", "reason", "case"];
const STATUS_CHOICES = [["pass", "passed"], ["fail", "failed"], ["error", "error"], ["budget_exceeded", "over budget"], ["infra_error", "infra error (lost)"]];
const SORTS = [["worst", "worst first"], ["flaky", "flaky first"], ["slowest", "slowest first"], ["cost", "costliest first"], ["case", "case id"]];

function select(name, label, choices, current, onChange) {
  return h("label", {}, label,
    h("select", { name, "aria-label": label, on: { change: (e) => onChange(name, e.target.value) } },
      h("option", { value: "" }, "any"),
      choices.map(([value, text]) => h("option", { value, selected: value === current }, text))));
}

export function filterBar(run, ctx, reload) {
  const query = new URLSearchParams(location.search);
  const filtered = () => FILTERS.some((f) => new URLSearchParams(location.search).get(f));
  const change = (name, value) => {
    ctx.setQuery({ [name]: value, page: null });
    clearAll.hidden = !filtered();  // the same bar a reload of this URL would draw
    reload();
  };
  let timer = null;
  const search = h("input", {
    type: "search", name: "q", placeholder: "Search outputs and transcripts", value: query.get("q") || "", "aria-label": "search",
    on: { input: (e) => { clearTimeout(timer); timer = setTimeout(() => change("q", e.target.value.trim()), 350); } },
  });
  const caseBox = h("input", {
    type: "text", name: "case", placeholder: "case id contains", value: query.get("case") || "", "aria-label": "case filter",
    on: { input: (e) => { clearTimeout(timer); timer = setTimeout(() => change("case", e.target.value.trim()), 350); } },
  });
  const facets = run.facets;
  const tags = Object.entries(facets.tags).flatMap(([key, values]) => values.map((v) => [`${key}=${v}`, `${key}=${v}`]));
  const view = query.get("view") || "matrix";
  const tab = (name, text) => h("a", {
    href: withQuery(location.pathname, { ...Object.fromEntries(new URLSearchParams(location.search)), view: name, page: null }),
    class: view === name ? "current" : "",
    on: { click: (e) => { e.preventDefault(); ctx.setQuery({ view: name, page: null }); for (const a of e.target.parentNode.children) a.classList.toggle("current", a === e.target); reload(); } },
  }, text);
  const clearAll = h("button", { hidden: !filtered(), on: { click: () => { ctx.setQuery(Object.fromEntries(FILTERS.map((f) => [f, null]))); ctx.refresh(); } } }, "Clear filters");
  return h("div", { class: "filters" },
    h("div", { class: "tabs" }, tab("matrix", "Matrix"), tab("attempts", "Attempts")),
    search,
    select("status", "status", STATUS_CHOICES, query.get("status"), change),
    facets.models.length ? select("model", "model", facets.models.map((m) => [m, m]), query.get("model"), change) : null,
    tags.length ? select("tag", "tag", tags, query.get("tag"), change) : null,
    facets.graders.length ? select("grader", "failing grader", facets.graders.map((g) => [g, `${g}${facets.failing_graders[g] ? ` (${facets.failing_graders[g]})` : ""}`]), query.get("grader"), change) : null,
    Object.keys(facets.reasons).length ? select("reason", "reason", Object.entries(facets.reasons).map(([r, n]) => [r, `${r} (${n})`]), query.get("reason"), change) : null,
    caseBox,
    view === "matrix" ? h("label", {}, "show", h("select", { name: "metric", "aria-label": "metric", on: { change: (e) => change("metric", e.target.value) } },
      run.metrics.map((m) => h("option", { value: m.name, selected: (query.get("metric") || "pass_rate") === m.name, title: m.aggregation }, m.label)))) : null,
    view === "matrix" ? h("label", {}, "sort", h("select", { name: "sort", "aria-label": "sort", on: { change: (e) => change("sort", e.target.value) } },
      SORTS.map(([value, text]) => h("option", { value, selected: (query.get("sort") || "worst") === value }, text)))) : null,
    clearAll);
}

function apiQuery(query, extra) {
  const params = { per_page: 100, page: query.get("page") || 1, ...extra };
  for (const name of FILTERS) params[name] = query.get(name);
  return params;
}

// The API request behind the current view (the run page starts it beside the run's own).
export function viewRequest(runId, query) {
  if ((query.get("view") || "matrix") === "attempts") return get(withQuery(path("api", "runs", runId, "outcomes"), apiQuery(query, {})));
  const metric = query.get("metric") || "pass_rate";
  return get(withQuery(path("api", "runs", runId, "matrix"), apiQuery(query, { metric, sort: query.get("sort") })));
}

// Draws the current view into `target`; returns the matrix page (for the latency chart), or null.
export async function tableView(run, ctx, query, target, pending = null) {
  const data = await (pending || viewRequest(run.run_id, query));
  if ((query.get("view") || "matrix") === "attempts") {
    clear(target, attemptsTable(run, data.items), pager(ctx, data, target, run));
    performance.mark("harness:view-ready");
    return null;
  }
  clear(target, matrixTable(run, data), pager(ctx, data, target, run));
  performance.mark("harness:view-ready"); // what make bench times: the table is on screen
  return data;
}

function matrixTable(run, data) {
  if (!data.items.length) return h("p", { class: "empty" }, run.attempts ? "No case matches these filters." : "No attempt has finished yet.");
  const models = data.models;
  return h("div", { class: "table-wrap" }, h("table", { class: "data matrix" },
    h("thead", {}, h("tr", {}, h("th", {}, `Case (${fmt.int(data.total)})`), h("th", {}, "Tags"),
      models.map((m) => h("th", {}, m === null ? data.metric.label : m)))),
    h("tbody", {}, data.items.map((row) => h("tr", { "data-case": row.case_id },
      h("td", { class: "id" }, h("a", { href: withQuery(path("cases", row.case_id), { suite: run.suite }), title: "history of this case" }, row.case_id)),
      h("td", {}, Object.entries(row.tags).map(([k, v]) => h("span", { class: "chip tag" }, `${k}=${v}`))),
      row.cells.map((cell) => h("td", { class: "cell" }, cell ? matrixCell(run, cell, data) : h("span", { class: "faint" }, "not run"))))))));
}

function shown(metric, value) {
  if (metric.unit === "ratio") return fmt.pct(value);
  if (metric.unit === "ms") return fmt.ms(value);
  if (metric.unit === "usd") return fmt.usd(value);
  return fmt.num(value, 2);
}

function matrixCell(run, cell, data) {
  const tone = cell.n === 0 ? "r-lost" : cell.c === cell.n ? "r-all" : cell.c === 0 ? "r-none" : "r-some";
  const parts = [h("span", { class: "v" }, shown(data.metric, cell.value)), h("span", { class: "n" }, `${cell.c}/${cell.n}`)];
  if (cell.flaky) parts.push(h("span", { class: "badge flaky", title: `${cell.stability}: trials disagree` }, cell.stability === "unstable" ? "unstable" : "flaky"));
  if (cell.lost) parts.push(h("span", { class: "badge error", title: "trials lost to infrastructure errors" }, `${cell.lost} lost`));
  if (cell.wilson_95 && cell.n > 1) {
    const track = h("span", { class: "ci-track", title: `95% Wilson interval ${fmt.pct(cell.wilson_95[0])} – ${fmt.pct(cell.wilson_95[1])}` });
    const span = h("span", { class: "span" });
    span.style.left = `${cell.wilson_95[0] * 100}%`;
    span.style.width = `${(cell.wilson_95[1] - cell.wilson_95[0]) * 100}%`;
    const point = h("span", { class: "pt" });
    point.style.left = `calc(${cell.pass_rate * 100}% - 1px)`;
    track.append(span, point);
    parts.push(track, h("span", { class: "ci" }, `95% CI ${fmt.pct(cell.wilson_95[0])}–${fmt.pct(cell.wilson_95[1])}`));
  }
  if (data.k > 1 && cell.pass_at_k !== null) parts.push(h("span", { class: "ks" }, `pass@${data.k} ${fmt.pct(cell.pass_at_k)} · pass^${data.k} ${fmt.pct(cell.pass_hat_k)}`));
  const reasons = Object.keys(cell.reasons);
  return h("a", { class: `cellbox ${tone}`, href: path("runs", run.run_id, "attempts", cell.sample), title: reasons.length ? `failures: ${reasons.join(", ")}` : "open an attempt" }, parts);
}

function attemptsTable(run, items) {
  if (!items.length) return h("p", { class: "empty" }, "No attempt matches these filters.");
  return h("div", { class: "table-wrap" }, h("table", { class: "data attempts" },
    h("thead", {}, h("tr", {}, h("th", {}, "Attempt"), h("th", {}, "Outcome"), h("th", {}, "Model"), h("th", { class: "num" }, "Trial"), h("th", {}, "Reason"), h("th", {}, "Message"),
      h("th", { class: "num" }, "Wall"), h("th", { class: "num" }, "Cost"), h("th", { class: "num" }, "Tokens out"), h("th", { class: "num" }, "Score"))),
    h("tbody", {}, items.map((item) => h("tr", { "data-attempt": item.attempt_id },
      h("td", { class: "id" }, h("a", { href: path("runs", run.run_id, "attempts", item.attempt_id) }, item.attempt_id)),
      h("td", {}, pill(item.outcome || item.status), item.flaky ? h("span", { class: "badge flaky" }, "flaky") : null),
      h("td", { class: "mono" }, item.model || "–"),
      h("td", { class: "num" }, item.trial ?? "–"),
      h("td", { class: "mono" }, item.reason || ""),
      h("td", { class: "msg", title: item.message || "" }, item.message || ""),
      h("td", { class: "num" }, fmt.ms(item.wall_ms)),
      h("td", { class: "num" }, fmt.usd(item.cost_usd)),
      h("td", { class: "num" }, fmt.int(item.tokens_out)),
      h("td", { class: "num" }, fmt.num(item.score, 2)))))));
}

function pager(ctx, data, target, run) {
  if (data.pages <= 1) return h("div", { class: "pager" }, `${fmt.int(data.total)} ${data.models ? "cases" : "attempts"}`);
  const go = async (page) => {
    const query = ctx.setQuery({ page });
    await tableView(run, ctx, query, target);
  };
  return h("div", { class: "pager" },
    `${fmt.int(data.total)} ${data.models ? "cases" : "attempts"} · page ${data.page} of ${data.pages}`,
    h("button", { disabled: data.page <= 1, on: { click: () => go(data.page - 1) } }, "← previous"),
    h("button", { disabled: data.page >= data.pages, on: { click: () => go(data.page + 1) } }, "next →"));
}
