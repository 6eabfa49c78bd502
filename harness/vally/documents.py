"""The run's human and CI documents: `eval-results.md` (per-stimulus verdicts and statistics,
each trial's grader breakdown, tokens, footnoted failures) and `eval-results.junit.xml` (one
testsuite per eval and model, one testcase per trial). Everything an agent wrote is escaped:
no markup reaches the Markdown, no control character the XML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.excerpts import cut
from harness.reports.markdown import code as _code
from harness.reports.markdown import escape as _escape

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Terminal control characters: a report `cat` in a terminal must not move or colour it.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape(text: object) -> str:
    return _escape(_CONTROL.sub("\ufffd", str(text)))


def code(text: object) -> str:
    return _code(_CONTROL.sub("\ufffd", str(text)))


MAX_EVIDENCE_CHARS = 300


def _num(value: Any, digits: int = 3) -> str:
    return "–" if not isinstance(value, int | float) else f"{value:.{digits}f}"


def _pct(value: Any) -> str:
    return "–" if not isinstance(value, int | float) else f"{value * 100:.1f}%"


def _short(text: str) -> str:
    return cut(text, MAX_EVIDENCE_CHARS)


def render_markdown(
    title: str, summary: Mapping[str, Any], records: Sequence[Mapping[str, Any]]
) -> str:
    rows = summary["stimuli"]
    lines = [f"# {escape(title)}", ""]
    lines += [
        f"pass@k: {escape(summary['estimators']['passAtK'])}  ",
        f"pass^k: {escape(summary['estimators']['passHatK'])}",
        "",
        "| eval | model | stimulus | passed | pass rate | pass@k | pass^k | flaky | lost |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        verdict = "✔" if row["passed"] else "✘"
        cells = [
            escape(row["eval"] + (f" [{row['variant']}]" if row["variant"] else "")),
            escape(row["model"] or "default"),
            f"{verdict} {escape(row['stimulus'])}",
            f"{row['trialsPassed']}/{row['trialsCounted']}",
            _pct(row["passRate"]),
            _num(row["passAtK"]),
            _num(row["passHatK"]),
            "yes" if row["flaky"] else "no",
            str(row["trialsLost"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Trials", ""]
    footnotes: list[str] = []
    for record in records:
        lines += _trial(record, footnotes)
    if footnotes:
        lines += ["", "## Failures", "", *footnotes]
    return "\n".join(lines) + "\n"


def _trial(record: Mapping[str, Any], footnotes: list[str]) -> list[str]:
    grade = record.get("gradeResult")
    metrics = (record.get("trajectory") or {}).get("metrics") or {}
    tokens = (metrics.get("tokenUsage") or {}).get("totalTokens", 0)
    mark = "✔" if grade and grade["passed"] else ("⚠" if record["status"] == "error" else "✘")
    head = (
        f"### {mark} {escape(record['evalName'])} / {escape(record['stimulusName'])} · "
        f"{escape(record.get('model') or 'default')} · trial {record['trialIndex']}"
    )
    lines = [
        head,
        "",
        f"score {_num(grade['score'] if grade else None, 2)} · {tokens} tokens · "
        f"{metrics.get('turns', 0)} turns · {metrics.get('toolCalls', 0)} tool calls · "
        f"{record['durationMs'] / 1000:.1f}s · outcome {code(record['harness']['outcome'] or '–')}",
        "",
    ]
    if record.get("error"):
        footnotes.append(f"[^{len(footnotes) + 1}]: {escape(_short(record['error']))}")
        lines += [f"error[^{len(footnotes)}]", ""]
    for grader in (grade or {}).get("graders", []):
        sign = "✔" if grader["passed"] else "✘"
        evidence = escape(_short(grader["evidence"]))
        lines.append(f"- {sign} {code(grader['name'])} ({_num(grader['score'], 2)}): {evidence}")
    return [*lines, ""]


def render_junit(title: str, records: Iterable[Mapping[str, Any]]) -> bytes:
    """One testsuite per (eval, variant, model); a failed grade is a failure, a trial with no
    trajectory an error, a lost trial an error with its reason."""
    suites: dict[str, ET.Element] = {}
    root = ET.Element("testsuites", {"name": _clean(title)})
    counts: dict[str, dict[str, int]] = {}
    for record in records:
        name = "/".join(
            part
            for part in (record["evalName"], record.get("variant"), record.get("model"))
            if part
        )
        suite = suites.get(name)
        if suite is None:
            suite = suites[name] = ET.SubElement(root, "testsuite", {"name": _clean(name)})
            counts[name] = {"tests": 0, "failures": 0, "errors": 0}
        counts[name]["tests"] += 1
        kind = _case(suite, record)
        if kind:
            counts[name][kind] += 1
    for name, suite in suites.items():
        for key, value in counts[name].items():
            suite.set(key, str(value))
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _case(suite: ET.Element, record: Mapping[str, Any]) -> str | None:
    attributes = {
        "classname": _clean(record["evalName"]),
        "name": _clean(f"{record['stimulusName']} [trial {record['trialIndex']}]"),
        "time": f"{record['durationMs'] / 1000:.3f}",
    }
    case = ET.SubElement(suite, "testcase", attributes)
    grade = record.get("gradeResult")
    outcome = record["harness"]["outcome"]
    if record["status"] == "error" or outcome == "infra_error":
        message = record.get("error") or record["harness"].get("infraReason") or "error"
        ET.SubElement(case, "error", {"message": _clean(_short(message))}).text = _clean(message)
        return "errors"
    if grade is not None and not grade["passed"]:
        failed = [g for g in grade["graders"] if not g["passed"]]
        text = "\n".join(f"{g['name']}: {g['evidence']}" for g in failed) or grade["evidence"]
        attrs = {"message": _clean(_short(grade["evidence"]))}
        ET.SubElement(case, "failure", attrs).text = _clean(text)
        return "failures"
    if grade is None:
        ET.SubElement(case, "skipped", {"message": "ungraded (--skip-grade)"})
    return None


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", str(text))
