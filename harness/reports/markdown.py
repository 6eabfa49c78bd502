"""A pull-request comment in GitHub Markdown: verdict line, totals against the baseline,
regressions first, other failures, gate checks, then collapsible details per failing case.

Agent data is escaped (no markup, no @mentions, no broken tables) and the comment stays under
GitHub's 65,536-character limit, spent on failing cases first: each gets a short block of
evidence, then the blocks grow to the whole observed text while room is left; blocks that do
not fit are dropped with a note.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from harness._version import __version__
from harness.results import PASS, AttemptResult

if TYPE_CHECKING:
    from harness.reports.run_data import RunData

MARKER = "<!-- harness-report -->"
MAX_CHARS = 65_536
# Room kept for the closing lines and for what a bot may wrap around the comment.
_RESERVE = 1_500
# Each expected or observed value (and the stderr tail) in a failing attempt's block: short
# until every failing attempt has its block, then whole as far as the budget goes.
SHORT_VALUE_CHARS = 300
FULL_VALUE_CHARS = 20_000
_REGRESSED = {"regressed", "metric_regression", "below_threshold"}
_NOT_GATING = {"expected_failure", "quarantined", "not_significant", "flaky", "unexpected_pass"}


def escape(text: str) -> str:
    """Text safe inside a table cell or a line: no HTML, no Markdown, no mentions."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"([\\`*_{}\[\]()#+!|~])", r"\\\1", text)
    return text.replace("@", "@\u200b")  # a zero-width joiner stops the mention


def code(text: str) -> str:
    """An inline code span of `text`: one line, pipes escaped for tables (GFM honours `\\|`
    inside spans there), a fence longer than any backtick run inside."""
    text = re.sub(r"\s+", " ", str(text)).strip().replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def code_block(text: str) -> str:
    """`text` in a fence longer than any backtick run inside it, so it cannot close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def render_markdown(data: RunData) -> str:
    gate = data.gate or {}
    verdicts = data.verdicts()
    results = sorted(data.results, key=lambda r: (r.case_id, r.model or "", r.trial or 0))
    failing = [r for r in results if r.status != PASS]
    regressions = [
        u for u in verdicts.values() if u.get("verdict") in _REGRESSED and u.get("gating")
    ]
    passed = data.exit_code == 0 if data.exit_code is not None else not failing
    parts = [MARKER, _headline(data, passed, regressions, failing), _totals(data, results)]
    if regressions:
        parts.append(_unit_table("Regressions", regressions))
    quiet = {"pass", "fixed", "missing", *_REGRESSED}
    others = [u for u in verdicts.values() if u.get("verdict") not in quiet]
    if others:
        title = "Other failing and noted cases" if regressions else "Failing and noted cases"
        parts.append(_unit_table(title, others))
    fixed = [u for u in verdicts.values() if u.get("verdict") == "fixed"]
    if fixed:
        parts.append("**Fixed since the baseline:** " + ", ".join(_name(u) for u in fixed))
    if not gate and failing:
        parts.append(_plain_failures(failing))
    if gate.get("checks"):
        parts.append(_checks(gate["checks"]))
    footer = f"<sub>harness {__version__} · run {escape(data.run_id)}</sub>"
    body = "\n\n".join(parts)
    details = _details(data, failing, budget=MAX_CHARS - _RESERVE - len(body) - len(footer))
    return "\n\n".join(part for part in (body, details, footer) if part) + "\n"


def _headline(
    data: RunData, passed: bool, regressions: list[Any], failing: list[AttemptResult]
) -> str:
    icon = "✅" if passed else "❌"
    what = "passed" if passed else "failed"
    bits = []
    if regressions:
        bits.append(f"{len(regressions)} regression{'s' * (len(regressions) != 1)}")
    if failing:
        bits.append(f"{len(failing)} failing attempt{'s' * (len(failing) != 1)}")
    tail = f": {', '.join(bits)}" if bits else ""
    return f"### {icon} harness: suite {code(data.suite)} {what}{tail}"


def _cells(*values: object) -> str:
    return "| " + " | ".join(str(value) for value in values) + " |"


def _totals(data: RunData, results: list[AttemptResult]) -> str:
    total = len(results)
    passed = sum(r.status == PASS for r in results)
    failed = sum(r.status == "fail" for r in results)
    errors = sum(r.status == "error" for r in results)
    rows = [
        "| | attempts | passed | failed | errors | pass rate |",
        "|---|---:|---:|---:|---:|---:|",
        _cells("this run", total, passed, failed, errors, _pct(passed / total if total else None)),
    ]
    base = (data.gate or {}).get("baseline_aggregates")
    if isinstance(base, dict):
        counts = [
            base.get(k, "") for k in ("cases_total", "cases_pass", "cases_fail", "cases_error")
        ]
        rows.append(_cells("baseline", *counts, _pct(base.get("pass_rate"))))
    return "\n".join(rows)


def _pct(value: Any) -> str:
    return f"{value * 100:.1f} %" if isinstance(value, (int, float)) else "–"


def _name(unit: dict[str, Any]) -> str:
    model = unit.get("model")
    return code(unit["case_id"]) + (f" ({escape(model)})" if model else "")


def _unit_table(title: str, units: list[dict[str, Any]]) -> str:
    lines = [
        f"#### {title}",
        "",
        "| case | verdict | baseline | now | why |",
        "|---|---|---|---|---|",
    ]
    lines += [
        _cells(
            _name(unit),
            escape(unit.get("verdict", "")),
            escape(unit.get("baseline") or "–"),
            escape(unit.get("current", "")),
            escape(unit.get("detail") or ""),
        )
        for unit in sorted(units, key=lambda u: (u["case_id"], u.get("model") or ""))
    ]
    return "\n".join(lines)


def _plain_failures(failing: list[AttemptResult]) -> str:
    lines = ["#### Failing attempts", "", "| attempt | status | reason |", "|---|---|---|"]
    for result in failing:
        reason = result.failures[0].message if result.failures else ""
        name = code(result.attempt_id or result.case_id)
        lines.append(_cells(name, result.status, escape(reason[:200])))
    return "\n".join(lines)


def _checks(checks: list[dict[str, Any]]) -> str:
    lines = [
        "#### Gate checks",
        "",
        "| check | result | value | limit | baseline |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [
        _cells(
            escape(check["name"]),
            "✅" if check.get("passed") else "❌",
            _fmt(check.get("value")),
            _fmt(check.get("limit")),
            _fmt(check.get("baseline")),
        )
        for check in checks
    ]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "–" if value is None else escape(str(value))


def _details(data: RunData, failing: list[AttemptResult], *, budget: int) -> str:
    """Collapsed evidence per failing attempt, gating ones first. Every attempt gets a short
    block before any gets a long one; what budget is left then grows blocks, in that order, to
    the whole expected and observed values (up to FULL_VALUE_CHARS each)."""
    ordered = sorted(failing, key=lambda result: not _gating(data, result))
    blocks: list[str] = []
    used = 0
    for result in ordered:
        block = _detail_block(data, result, SHORT_VALUE_CHARS)
        if used + len(block) + 2 > budget:
            break
        blocks.append(block)
        used += len(block) + 2
    for index, result in enumerate(ordered[: len(blocks)]):
        full = _detail_block(data, result, FULL_VALUE_CHARS)
        if len(full) > len(blocks[index]) and used + len(full) - len(blocks[index]) <= budget:
            used += len(full) - len(blocks[index])
            blocks[index] = full
    if len(blocks) < len(ordered):
        left = len(ordered) - len(blocks)
        blocks.append(f"_{left} more failing attempt(s) not shown: see the run artifacts._")
    return "\n\n".join(blocks)


def _gating(data: RunData, result: AttemptResult) -> bool:
    return bool((data.verdict_of(result) or {}).get("gating"))


def _detail_block(data: RunData, result: AttemptResult, value_chars: int) -> str:
    verdict = (data.verdict_of(result) or {}).get("verdict", result.status)
    parts = []
    for failure in result.failures:
        text = f"[{failure.type}] {failure.message}"
        for name in ("expected", "observed"):
            value = getattr(failure, name)
            if value is not None:
                text += f"\n{name}: {_value(value, value_chars)}"
        parts.append(text)
    text = "\n\n".join(parts) or result.status
    if result.stderr_tail:
        text += "\n\n--- stderr (tail)\n" + _cut(result.stderr_tail, value_chars)
    name = escape(result.attempt_id or result.case_id)
    return (
        f"<details><summary>{name}: {escape(verdict)}</summary>\n\n{code_block(text)}\n\n</details>"
    )


def _value(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"…[{len(text) - limit} more characters]"
