"""JUnit XML as CI servers read it: `<testsuites>`, one `<testsuite>` per model, errors apart
from failures, regressions named, expected failures and quarantined cases as skipped, stderr and
the final output attached, timestamps. Valid against the common (Jenkins/Ant) JUnit schema.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from harness.results import ERROR, FAIL, PASS, AttemptResult

if TYPE_CHECKING:
    from harness.reports.rebuild import RunData

# XML 1.0 cannot carry most control characters, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Long outputs make CI pages unusable; the run directory keeps everything.
MAX_OUTPUT_CHARS = 20_000
_SKIPPED_VERDICTS = {"expected_failure": "expected failure", "quarantined": "quarantined"}


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _cap(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS] + "\n[truncated]"


def _junit_time(stamp: str) -> str:
    # The common schema's timestamp has no zone designator: "2024-05-01T12:00:00".
    return stamp.rstrip("Z")[:19]


def render_junit(data: RunData) -> bytes:
    """The run as JUnit XML bytes."""
    results = sorted(data.results, key=lambda r: (r.model or "", r.attempt_id or r.case_id))
    models = sorted({r.model or "" for r in results}) or [""]
    root = ET.Element("testsuites", {"name": _clean(data.suite)})
    for model in models:
        chosen = [r for r in results if (r.model or "") == model]
        name = data.suite if not model else f"{data.suite} [{model}]"
        suite = ET.SubElement(root, "testsuite", {"name": _clean(name)})
        _properties(suite, data, model)
        counts = _Counts()
        for result in chosen:
            counts.add(_testcase(suite, data, result))
        if not model or model == models[-1]:
            for check in (data.gate or {}).get("checks", []):
                counts.add(_gate_case(suite, data, check))
        counts.apply(suite, timestamp=_junit_time(data.timestamp), hostname=_host())
        root_counts = counts
        for key in ("tests", "failures", "errors", "skipped"):
            total = int(root.get(key, "0")) + int(suite.get(key, "0"))
            root.set(key, str(total))
        root.set("time", f"{float(root.get('time', '0')) + root_counts.seconds:.3f}")
    root.set("timestamp", _junit_time(data.timestamp))
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"


class _Counts:
    def __init__(self) -> None:
        self.tests = self.failures = self.errors = self.skipped = 0
        self.seconds = 0.0

    def add(self, outcome: tuple[str, float]) -> None:
        kind, seconds = outcome
        self.tests += 1
        self.seconds += seconds
        if kind == "failure":
            self.failures += 1
        elif kind == "error":
            self.errors += 1
        elif kind == "skipped":
            self.skipped += 1

    def apply(self, suite: ET.Element, **extra: str) -> None:
        suite.set("tests", str(self.tests))
        suite.set("failures", str(self.failures))
        suite.set("errors", str(self.errors))
        suite.set("skipped", str(self.skipped))
        suite.set("time", f"{self.seconds:.3f}")
        for key, value in extra.items():
            suite.set(key, value)


def _host() -> str:
    return _clean(socket.gethostname() or "localhost")


def _properties(suite: ET.Element, data: RunData, model: str) -> None:
    properties = ET.SubElement(suite, "properties")
    values: dict[str, Any] = {"run_id": data.run_id, "exit_code": data.exit_code}
    if model:
        values["model"] = model
    baseline = (data.gate or {}).get("baseline") or {}
    if baseline.get("path"):
        values["baseline"] = baseline["path"]
    for name, value in values.items():
        if value is not None:
            ET.SubElement(properties, "property", {"name": name, "value": _clean(str(value))})


def _testcase(suite: ET.Element, data: RunData, result: AttemptResult) -> tuple[str, float]:
    seconds = result.wall_ms / 1000
    attributes = {
        "name": _clean(result.attempt_id or result.case_id),
        "classname": _clean(data.suite if result.model is None else f"{data.suite}.{result.model}"),
        "time": f"{seconds:.3f}",
    }
    source = data.source_of(result.case_id)
    if source is not None:
        attributes["file"], attributes["line"] = _clean(source[0]), str(source[1])
    case = ET.SubElement(suite, "testcase", attributes)
    verdict = data.verdict_of(result) or {}
    kind = "passed"
    label = _SKIPPED_VERDICTS.get(verdict.get("verdict", ""))
    if result.status != PASS and label is not None:
        kind = "skipped"
        why = result.failures[0].message if result.failures else result.status
        ET.SubElement(case, "skipped", {"message": _clean(f"{label}: {_first_line(why)}")})
    elif result.status in (FAIL, ERROR) or result.failures:
        kind = "error" if result.status == ERROR else "failure"
        prefix = (
            "REGRESSION (passed in the baseline): " if verdict.get("verdict") == "regressed" else ""
        )
        first = result.failures[0] if result.failures else None
        message = prefix + (_first_line(first.message) if first else result.status)
        element = ET.SubElement(
            case, kind, {"message": _clean(message), "type": first.type if first else result.status}
        )
        element.text = _clean(_cap("\n\n".join(_failure_text(f) for f in result.failures)))
    elif verdict.get("verdict") == "metric_regression":
        kind = "failure"
        message = f"metric regression: {verdict.get('detail', '')}"
        ET.SubElement(case, "failure", {"message": _clean(message), "type": "metric_regression"})
    out = _system_out(result, verdict)
    if out:
        ET.SubElement(case, "system-out").text = _clean(_cap(out))
    if result.stderr_tail:
        ET.SubElement(case, "system-err").text = _clean(_cap(result.stderr_tail))
    return kind, seconds


def _gate_case(suite: ET.Element, data: RunData, check: dict[str, Any]) -> tuple[str, float]:
    case = ET.SubElement(
        suite, "testcase", {"name": _clean(f"gate: {check['name']}"), "classname": "harness.gate"}
    )
    case.set("time", "0.000")
    if check.get("passed"):
        return "passed", 0.0
    text = f"{check['name']}: value {check.get('value')} limit {check.get('limit')}"
    if check.get("baseline") is not None:
        text += f" baseline {check['baseline']}"
    if check.get("message"):
        text += f" ({check['message']})"
    ET.SubElement(case, "failure", {"message": _clean(text), "type": "regression_gate"})
    return "failure", 0.0


def _failure_text(failure: Any) -> str:
    text = f"[{failure.type}] {failure.message}"
    if failure.expected is not None:
        text += f"\nexpected: {failure.expected!r}"
    if failure.observed is not None:
        text += f"\nobserved: {failure.observed!r}"
    return text


def _system_out(result: AttemptResult, verdict: dict[str, Any]) -> str:
    lines = []
    if verdict.get("verdict") not in (None, "pass"):
        baseline = verdict.get("baseline")
        lines.append(
            f"verdict: {verdict['verdict']} (baseline: {baseline}, now: {verdict.get('current')})"
        )
    if result.reused_from:
        lines.append(f"reused: unchanged since run {result.reused_from}, where it passed")
    if result.flaky:
        lines.append(
            f"flaky: passed after {result.reruns} failed tr{'y' if result.reruns == 1 else 'ies'}"
        )
    if result.stderr_path:
        lines.append(f"stderr log: {result.stderr_path}")
    return "\n".join(lines)


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text.strip() else text
