// The attempt page: the transcript in order (input, tool calls with their results, model calls,
// logs, the final output), then each grader's verdict with its evidence and an expected vs
// observed diff, the budgets used against their limits, and stderr. All of it is agent output:
// it is placed as text, never parsed as HTML.

import { get } from "./api.js";
import { h, clear, path, withQuery, fmt, pill, jsonView, textBlock } from "./dom.js";
import { structuralDiff } from "./diff.js";

const MODE_BADGE = { replay: "replayed", record: "recorded", live: "live", auto: "replayed or recorded" };
// A model call's own `source` (the model proxy says which, call by call).
const SOURCE_BADGE = { replay: "replayed", record: "recorded", live: "live" };
const BUDGETS = [
  ["max_wall_ms", "wall time", "wall_ms", fmt.ms],
  ["max_tool_calls", "tool calls", "tool_calls", fmt.int],
  ["max_tool_errors", "tool errors", "tool_errors", fmt.int],
  ["max_tokens_out", "tokens out", "tokens_out", fmt.int],
  ["max_cost_usd", "cost", "cost_usd", fmt.usd],
];

export async function renderAttempt(ctx) {
  const { runId, attempt } = ctx.params;
  const data = await get(path("api", "runs", runId, "attempts", attempt));
  const result = data.result;
  document.title = `${result.attempt_id} · ${data.run_id} · harness`;
  clear(ctx.app,
    header(data, result),
    result.failures && result.failures.length ? h("div", { class: "panel" }, h("h2", {}, "Why it did not pass"), result.failures.map(failureBox)) : null,
    h("div", { class: "panel" }, h("h2", {}, `Transcript (${data.transcript.length} events)`), transcript(data)),
    verdicts(result),
    budgets(data, result),
    retries(result),
    stderr(data.stderr));
}

function header(data, result) {
  const outcome = result.outcome || result.status;
  return h("div", { class: "page-head" },
    h("div", { class: "titles" },
      h("div", { class: "crumbs" },
        h("a", { href: "/" }, "Runs"), h("span", { class: "sep" }, "/"),
        h("a", { href: withQuery("/", { suite: data.suite }) }, data.suite), h("span", { class: "sep" }, "/"),
        h("a", { class: "mono", href: path("runs", data.run_id) }, data.run_id)),
      h("div", { class: "title-row" }, h("h1", { class: "mono" }, result.attempt_id), pill(outcome === "passed" ? "pass" : outcome, outcome)),
      h("div", { class: "meta" },
        h("span", {}, "case ", h("b", { class: "mono" }, result.case_id)),
        result.model ? h("span", {}, "model ", h("b", {}, result.model)) : null,
        result.trial ? h("span", {}, "trial ", h("b", {}, result.trial)) : null,
        h("span", {}, "wall ", h("b", {}, fmt.ms(result.wall_ms))),
        h("span", {}, "tool calls ", h("b", {}, fmt.int(result.tool_calls || 0))),
        result.tokens_out !== undefined ? h("span", {}, "tokens ", h("b", {}, `${fmt.int(result.tokens_in)} in / ${fmt.int(result.tokens_out)} out`)) : null,
        result.cost_usd !== undefined ? h("span", {}, "cost ", h("b", {}, fmt.usd(result.cost_usd))) : null,
        result.score !== undefined ? h("span", {}, "score ", h("b", {}, fmt.num(result.score, 2))) : null,
        result.exit_code !== undefined && result.exit_code !== null ? h("span", {}, "exit ", h("b", {}, result.exit_code)) : null,
        data.source ? h("span", {}, "defined in ", h("b", { class: "mono" }, `${data.source[0]}:${data.source[1]}`)) : null)),
    h("div", { class: "actions" },
      h("a", { class: "button", href: withQuery(path("cases", result.case_id), { suite: data.suite, model: result.model }) }, "Case history"),
      h("a", { class: "button", href: path("runs", data.run_id) }, "Back to run")));
}

function failureBox(failure) {
  const diff = failure.expected !== undefined || failure.observed !== undefined;
  return h("div", { class: "failure" },
    h("div", { class: "type" }, failure.type),
    h("div", { class: "message" }, failure.message),
    diff ? h("div", { class: "section-gap" }) : null,
    diff ? structuralDiff(failure.expected, failure.observed) : null);
}

function card(kind, cls, name, extra, body, time) {
  return h("div", { class: `event ${cls}` }, h("div", { class: "event-card" },
    h("div", { class: "event-head" }, h("span", { class: "kind" }, kind), name ? h("span", { class: "name" }, name) : null, extra, h("span", { class: "spacer" }), time ? h("span", { class: "t" }, time) : null),
    body));
}

function transcript(data) {
  const events = data.transcript;
  if (!events.length) return h("p", { class: "muted" }, "No transcript was kept for this attempt (a reused result, or the run was killed before it was written).");
  const start = events[0].timestamp;
  const at = (event) => (typeof event.timestamp === "number" && typeof start === "number" ? `+${fmt.ms((event.timestamp - start) * 1000)}` : "");
  // Each tool_call with the first tool_result after it that carries its call id.
  const entries = [];
  const pending = new Map();
  for (const event of events) {
    const id = JSON.stringify(event.call_id);
    if (event.type === "tool_result" && pending.has(id)) {
      pending.get(id).reply = event;
      pending.delete(id);
      continue;
    }
    const entry = { event, reply: null };
    if (event.type === "tool_call") pending.set(id, entry);
    entries.push(entry);
  }
  return h("div", { class: "timeline" }, entries.map(({ event, reply }) => renderEvent(event, reply, data, at)));
}

function renderEvent(event, reply, data, at) {
  const payload = Object.fromEntries(Object.entries(event).filter(([key]) => !["type", "case_id", "attempt_id", "timestamp"].includes(key)));
  switch (event.type) {
    case "task_start":
      return card("input", "input", event.task_id, null, h("div", { class: "event-body" }, jsonView(event.input)), at(event));
    case "tool_call": {
      const source = reply?.source || event.source || MODE_BADGE[data.mode] || data.mode;
      const took = reply && typeof reply.timestamp === "number" ? fmt.ms((reply.timestamp - event.timestamp) * 1000) : null;
      const status = !reply ? h("span", { class: "badge error" }, "no result") : reply.ok === false ? h("span", { class: "badge error" }, "error") : null;
      return card("tool call", "tool", event.name, [source ? h("span", { class: `badge ${String(source).split(" ")[0]}`, title: "where the result came from" }, source) : null, status, took ? h("span", { class: "faint" }, took) : null],
        h("div", { class: "event-body two" },
          h("div", {}, h("div", { class: "sub" }, "arguments"), jsonView(event.args)),
          h("div", {}, h("div", { class: "sub" }, reply?.ok === false ? "error" : "result"), reply ? (reply.ok === false ? textBlock(String(reply.error ?? "")) : jsonView(reply.result)) : h("span", { class: "muted" }, "—"))),
        at(event));
    }
    case "tool_result":
      return card("tool result", "tool", String(event.call_id), null, h("div", { class: "event-body" }, jsonView(payload)), at(event));
    case "log":
      return h("div", { class: "event log" }, h("div", { class: "logline" }, h("span", { class: `lvl ${event.level || ""}` }, event.level || "log"), h("span", {}, String(event.message ?? "")), event.data !== null && event.data !== undefined ? h("span", { class: "muted" }, JSON.stringify(event.data)) : null, h("span", { class: "faint" }, at(event))));
    case "final_output":
      return card("final output", "final", null, null, h("div", { class: "event-body" }, jsonView(event.output)), at(event));
    case "task_error":
    case "attempt_error":
      return card(event.type.replace("_", " "), "bad", event.failure_type || null, null, h("div", { class: "event-body" }, textBlock(String(event.message ?? "")), typeof event.data?.traceback === "string" ? textBlock(event.data.traceback) : null, event.data ? jsonView(event.data) : null), at(event));
    case "assertion_failure":
      return card("assertions failed", "bad", null, null, h("div", { class: "event-body" }, (event.failures || []).map((f) => h("div", {}, h("b", { class: "mono" }, f.type || ""), " ", String(f.message ?? "")))), at(event));
    case "model_call": {
      const source = SOURCE_BADGE[event.source] || event.source;
      const facts = [
        ["model", event.model], ["status", event.status], ["streamed", event.streamed ? "yes" : "no"],
        ["tokens in", fmt.int(event.tokens_in)], ["tokens out", fmt.int(event.tokens_out)], ["cost", fmt.usd(event.cost_usd)],
        ["recorded at", event.recorded_at],
      ].filter(([, value]) => value !== null && value !== undefined && value !== "–");
      return card("model call", "model", `${event.method || ""} ${event.path || ""}`.trim(),
        [event.api ? h("span", { class: "chip" }, event.api) : null, source ? h("span", { class: `badge ${source}`, title: "where the answer came from" }, source) : null],
        h("div", { class: "event-body" }, h("dl", { class: "kv" }, facts.map(([label, value]) => [h("dt", {}, label), h("dd", {}, String(value))]))), at(event));
    }
    case "model_error":
      return card("model call failed", "bad", `${event.method || ""} ${event.path || ""}`.trim(), event.api ? h("span", { class: "chip" }, event.api) : null,
        h("div", { class: "event-body" }, textBlock(String(event.message ?? ""))), at(event));
    case "case_end":
      return h("div", { class: "event log" }, h("div", { class: "logline" }, h("span", { class: "lvl" }, "end"), h("span", {}, event.passed ? "passed" : "did not pass", ` after ${fmt.ms(event.wall_ms)}`)));
    default: {
      const model = String(event.type || "").startsWith("model");
      return card(String(event.type || "event").replaceAll("_", " "), model ? "model" : "", event.api || event.path || event.name || null, model && event.source ? h("span", { class: "badge" }, event.source) : null, h("div", { class: "event-body" }, jsonView(payload)), at(event));
    }
  }
}

function verdicts(result) {
  const list = result.verdicts || [];
  if (!list.length) return null;
  return h("div", { class: "panel" }, h("h2", {}, `Graders (${list.length})`), list.map((verdict) => {
    const diff = verdict.expected !== undefined || verdict.observed !== undefined;
    return h("div", { class: "verdict" },
      h("div", { class: "verdict-head" }, pill(verdict.status), h("span", { class: "name" }, verdict.name || verdict.grader),
        verdict.name ? h("span", { class: "chip" }, verdict.grader) : null, h("span", { class: "spacer" }),
        verdict.score !== undefined ? h("span", { class: "muted" }, `score ${fmt.num(verdict.score, 2)}`) : null,
        h("span", { class: "muted" }, `weight ${fmt.num(verdict.weight ?? 1, 1)}`)),
      h("div", { class: "verdict-body" },
        h("div", { class: "evidence" }, String(verdict.evidence ?? "")),
        diff ? h("div", {}, h("div", { class: "sub muted" }, "expected (−) vs observed (+)"), structuralDiff(verdict.expected, verdict.observed)) : null,
        verdict.details ? jsonView(verdict.details) : null));
  }));
}

function budgets(data, result) {
  const limits = data.budgets || {};
  const rows = BUDGETS.filter(([limit]) => limits[limit] !== undefined && limits[limit] !== null);
  if (!rows.length) return h("div", { class: "panel" }, h("h2", {}, "Budgets"), h("p", { class: "muted" }, "No budget limits were set for this case."));
  return h("div", { class: "panel" }, h("h2", {}, "Budgets used"), rows.map(([limit, label, used, format]) => {
    const value = result[used] ?? 0;
    const share = limits[limit] ? value / limits[limit] : 0;
    const bar = h("i", { class: share > 1 ? "over" : share > 0.8 ? "near" : "" });
    bar.style.width = `${Math.min(100, Math.round(share * 100))}%`;
    return h("div", { class: "budget" }, h("span", {}, label), h("span", { class: "track" }, bar), h("span", { class: "nums" }, `${format(value)} of ${format(limits[limit])} (${fmt.pct(share)})`));
  }));
}

function retries(result) {
  if (!result.retries || !result.retries.length) return null;
  return h("div", { class: "panel" }, h("h2", {}, "Infrastructure retries"), h("table", { class: "data" },
    h("thead", {}, h("tr", {}, h("th", {}, "Try"), h("th", {}, "Failure"), h("th", {}, "Why it was retried"), h("th", { class: "num" }, "Wall"), h("th", { class: "num" }, "Waited"))),
    h("tbody", {}, result.retries.map((r) => h("tr", {}, h("td", {}, r.try_number), h("td", { class: "mono" }, r.failure_type), h("td", { class: "msg" }, `${r.reason}: ${r.message}`), h("td", { class: "num" }, fmt.ms(r.wall_ms)), h("td", { class: "num" }, fmt.ms(r.wait_ms)))))));
}

function stderr(tail) {
  if (!tail) return h("div", { class: "panel" }, h("h2", {}, "stderr"), h("p", { class: "muted" }, "No stderr was kept."));
  const note = tail.cut ? `last ${fmt.int(tail.text.length)} characters of ${fmt.int(tail.size)} bytes` : `${fmt.int(tail.size)} bytes`;
  return h("div", { class: "panel" }, h("h2", {}, "stderr"), h("p", { class: "chart-note" }, note),
    tail.text ? textBlock(tail.text, "text stderr") : h("p", { class: "muted" }, "(empty)"));
}
