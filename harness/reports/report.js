// The report page. Every string from the run is placed with textContent, never parsed as
// markup: tool results and agent output are untrusted. The data arrives as inert JSON.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("harness-data").textContent);

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function add(parent, ...children) {
    for (const child of children) parent.appendChild(child);
    return parent;
  }
  function row(cells, header) {
    const tr = el("tr");
    for (const cell of cells) add(tr, cell instanceof Node ? wrap(cell, header) : el(header ? "th" : "td", cell));
    return tr;
  }
  function wrap(node, header) {
    return add(el(header ? "th" : "td"), node);
  }
  function table(head, rows) {
    const t = el("table");
    add(t, row(head, true));
    for (const r of rows) add(t, r);
    return t;
  }
  function pretty(value) {
    return typeof value === "string" ? value : JSON.stringify(value, null, 2);
  }
  // Numbers as a person reads them: 3.3333333333333335 -> 3.333, 0.0030000000000000005 -> 0.003.
  function num(value) {
    return typeof value === "number" && !Number.isInteger(value) ? String(Number(value.toPrecision(4))) : value;
  }
  function pct(value) {
    return typeof value === "number" ? num(value * 100) + "%" : "–";
  }
  function cls(word) {
    return String(word || "").replace(/[^a-z_]/g, "");
  }

  const gate = data.gate || {};
  const verdicts = {};
  for (const unit of gate.cases || []) verdicts[unit.case_id + "\u0000" + (unit.model || "")] = unit;
  const results = data.results || [];

  // Header and overview
  document.getElementById("title").textContent = "harness: " + data.suite;
  document.getElementById("subtitle").textContent =
    "run " + data.run_id + " · started " + (data.started_at || "?") + " · exit " + data.exit_code;
  const passed = results.filter((r) => r.status === "pass").length;
  const overview = document.getElementById("overview");
  add(overview,
    el("span", passed + " / " + results.length + " attempts passed", "badge"),
    el("span", "exit code " + data.exit_code, "badge " + (data.exit_code === 0 ? "pass" : "fail")));
  if (gate.baseline && gate.baseline.path) add(overview, el("span", "baseline " + gate.baseline.path, "badge"));

  // Gate checks and verdicts
  const gateNode = document.getElementById("gate");
  if (!data.gate) {
    document.getElementById("gate-section").hidden = true;
  } else {
    add(gateNode, el("p", gate.passed ? "Gate passed" : "Gate failed", gate.passed ? "pass" : "fail"));
    if ((gate.checks || []).length) {
      add(gateNode, table(["check", "result", "value", "limit", "baseline"],
        gate.checks.map((c) => row([c.name, c.passed ? "ok" : "FAILED", num(c.value), num(c.limit), num(c.baseline)]))));
    }
    const noted = (gate.cases || []).filter((u) => u.verdict !== "pass");
    if (noted.length) {
      add(gateNode, table(["case", "model", "verdict", "baseline", "now", "why"],
        noted.map((u) => {
          const tr = row([u.case_id, u.model || "", u.verdict, u.baseline || "–", u.current, u.detail || ""]);
          tr.children[2].className = cls(u.verdict);
          return tr;
        })));
    }
  }

  // Sweep statistics: per model, pass rate with its Wilson interval, pass@k and pass^k; the
  // flaky (case, model) pairs below (harness.aggregate.sweep computes them; summary.md has the same).
  const sweep = data.sweep;
  if (!sweep) {
    document.getElementById("sweep-section").hidden = true;
  } else {
    const k = sweep.k;
    const node = document.getElementById("sweep");
    add(node, table(["model", "cases", "trials", "passed", "pass rate", "95% Wilson (pooled)", "pass@" + k, "pass^" + k, "flaky cases", "lost"],
      (sweep.per_model || []).map((m) => row([m.model || "–", m.cases, m.trials_counted, m.passed, pct(m.pass_rate),
        (m.wilson_95_pooled || []).map(pct).join(" – "), num(m.pass_at_k), num(m.pass_hat_k), m.flaky_cases, m.trials_lost]))));
    const flaky = (sweep.cases || []).filter((c) => c.flaky);
    add(node, el("h3", "Flaky cases (" + flaky.length + ")"));
    if (flaky.length) {
      add(node, table(["case", "model", "outcomes", "minority share", "class", "pass@" + k, "pass^" + k],
        flaky.map((c) => row([c.case_id, c.model || "–", c.outcomes, pct(c.minority_share), c.stability, num(c.pass_at_k), num(c.pass_hat_k)]))));
    } else {
      add(node, el("p", "None: every (case, model) agreed with itself across its trials.", "muted"));
    }
  }

  // Case x model matrix: one cell per (case, model), trials tallied.
  const models = [...new Set(results.map((r) => r.model || ""))].sort();
  const cases = [...new Set(results.map((r) => r.case_id))].sort();
  const matrix = table(["case", ...models.map((m) => m || "result")], []);
  for (const caseId of cases) {
    const tr = row([caseId]);
    for (const model of models) {
      const attempts = results.filter((r) => r.case_id === caseId && (r.model || "") === model);
      const unit = verdicts[caseId + "\u0000" + model];
      const ok = attempts.filter((r) => r.status === "pass").length;
      const label = attempts.length === 1 ? attempts[0].status : ok + "/" + attempts.length;
      const td = el("td", attempts.length ? label + (unit && unit.verdict !== "pass" ? " · " + unit.verdict : "") : "–",
        "cell " + cls(unit ? unit.verdict : attempts.length === 1 ? attempts[0].status : ""));
      td.dataset.case = caseId;
      td.addEventListener("click", () => showUnit(caseId, model, attempts, unit));
      add(tr, td);
    }
    add(matrix, tr);
  }
  add(document.getElementById("matrix"), matrix);

  // Pass-rate chart over history (an SVG drawn from numbers only).
  const history = data.history || [];
  if (history.length < 1) {
    document.getElementById("history-section").hidden = true;
  } else {
    const ns = "http://www.w3.org/2000/svg";
    const width = 420, height = 120, pad = 16;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", String(width));
    svg.setAttribute("height", String(height));
    const step = history.length > 1 ? (width - 2 * pad) / (history.length - 1) : 0;
    const points = history.map((run, i) => {
      const rate = run.attempts ? run.passed / run.attempts : 0;
      return [pad + i * step, height - pad - rate * (height - 2 * pad)];
    });
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map((p) => p[0].toFixed(1) + "," + p[1].toFixed(1)).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "#3867d6");
    line.setAttribute("stroke-width", "2");
    svg.appendChild(line);
    points.forEach((p, i) => {
      const dot = document.createElementNS(ns, "circle");
      dot.setAttribute("cx", p[0].toFixed(1));
      dot.setAttribute("cy", p[1].toFixed(1));
      dot.setAttribute("r", "3");
      const title = document.createElementNS(ns, "title");
      title.textContent = history[i].run_id + ": " + history[i].passed + "/" + history[i].attempts;
      dot.appendChild(title);
      svg.appendChild(dot);
    });
    add(document.getElementById("history"), svg,
      el("p", history.length + " run(s); latest " + history[history.length - 1].run_id, "muted"));
  }

  function showUnit(caseId, model, attempts, unit) {
    document.getElementById("detail-title").textContent = caseId + (model ? " [" + model + "]" : "");
    const detail = document.getElementById("detail");
    detail.replaceChildren();
    if (unit) {
      add(detail, el("h3", unit.baseline ? "Against the baseline" : "Gate verdict"));
      add(detail, table(["", "baseline", "now"], [
        row(["verdict", "", unit.verdict]),
        row(["status", unit.baseline || "–", unit.current]),
        ...Object.keys(unit.current_metrics || {}).map((name) =>
          row([name, num((unit.baseline_metrics || {})[name]), num(unit.current_metrics[name])])),
      ]));
      if (unit.detail) add(detail, el("p", unit.detail));
    }
    for (const attempt of attempts) showAttempt(detail, attempt);
  }

  function showAttempt(detail, attempt) {
    const key = attempt.attempt_id || attempt.case_id;
    add(detail, el("h3", "Attempt " + key + ": " + attempt.status, cls(attempt.status)));
    add(detail, el("p", "wall " + attempt.wall_ms + " ms · tool calls " + (attempt.tool_calls || 0) +
      (attempt.reused_from ? " · reused from run " + attempt.reused_from : "") +
      (attempt.flaky ? " · flaky (passed after " + attempt.reruns + " failed tries)" : ""), "muted"));
    for (const failure of attempt.failures || []) {
      const box = add(el("div", null, "event attempt_error"), el("strong", failure.type), el("pre", failure.message));
      if (failure.expected !== undefined) add(box, el("div", "expected"), el("pre", pretty(failure.expected)));
      if (failure.observed !== undefined) add(box, el("div", "observed"), el("pre", pretty(failure.observed)));
      add(detail, box);
    }
    if (attempt.stderr_tail) add(detail, el("div", "stderr (tail)"), el("pre", attempt.stderr_tail));
    const events = (data.traces || {})[key] || [];
    add(detail, el("h4", "Transcript (" + events.length + " events)"));
    for (const event of events) add(detail, renderEvent(event));
  }

  function renderEvent(event) {
    const box = el("div", null, "event transcript " + cls(event.type));
    add(box, el("strong", event.type));
    switch (event.type) {
      case "task_start": add(box, el("pre", pretty(event.input))); break;
      case "tool_call": add(box, el("span", " " + event.name + " (" + event.call_id + ")"), el("pre", pretty(event.args))); break;
      case "tool_result": add(box, el("span", event.ok ? " ok" : " error: " + event.error), el("pre", pretty(event.result))); break;
      case "final_output": add(box, el("pre", pretty(event.output))); break;
      case "log": add(box, el("pre", event.message)); break;
      case "task_error": {
        // The agent's traceback (the Python SDK sends it as data.traceback), whole.
        add(box, el("pre", event.message));
        const data = event.data;
        if (data && typeof data.traceback === "string") add(box, el("div", "traceback"), el("pre", data.traceback));
        else if (data !== null && data !== undefined) add(box, el("pre", pretty(data)));
        break;
      }
      default: {
        const rest = Object.assign({}, event);
        delete rest.type; delete rest.case_id; delete rest.timestamp;
        add(box, el("pre", pretty(rest)));
      }
    }
    return box;
  }

  // Open the first regression (or failure) so the page starts where a reviewer would look.
  const first = document.querySelector("td.cell.regressed, td.cell.fail, td.cell.error, td.cell.failed, td.cell.new_failure");
  if (first) first.click();
})();
