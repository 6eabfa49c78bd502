"""JUnit XML as CI servers read it: `<testsuites>`, one `<testsuite>` per model, errors apart
from failures, regressions named, expected failures and quarantined cases as skipped, stderr and
the final output attached, timestamps. Valid against the common (Jenkins/Ant) JUnit schema.
"""

from __future__ import annotations

import io
import re
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from harness.results import ERROR, FAIL, PASS, UNGRADED, AttemptResult
from harness.storage.atomic import atomic_stream

if TYPE_CHECKING:
    from harness.reports.run_data import RunData

# XML 1.0 cannot carry most control characters, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Long outputs make CI pages unusable; the run directory keeps everything.
MAX_OUTPUT_CHARS = 20_000
_SKIPPED_VERDICTS = {"expected_failure": "expected failure", "quarantined": "quarantined"}
UNGRADED_MESSAGE = "ungraded: run with --skip-grade; `harness grade` grades it"


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _cap(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS] + "\n[truncated]"


def _junit_time(stamp: str) -> str:
    # The common schema's timestamp has no zone designator: "2024-05-01T12:00:00".
    return stamp.rstrip("Z")[:19]


def render_junit(data: RunData) -> bytes:
    """The run as JUnit XML bytes."""
    buffer = io.BytesIO()
    _write(buffer, data)
    return buffer.getvalue()


def write_junit(data: RunData, path: Path) -> None:
    """`render_junit` written to `path` atomically, one testcase at a time: the same bytes,
    without the whole tree of a 10,000-attempt sweep in memory."""
    with atomic_stream(path) as handle:
        _write(handle, data)


# ElementTree lays the document out as `ET.indent(root)` then `ET.tostring(root)` would, but
# a few elements at a time: attribute counts are known from a first pass over the results,
# then each testcase is built, indented for its depth and serialized with a batch of others.
# An element serialized apart has the bytes it has inside the whole tree.
_INDENT = "  "


def _write(out: BinaryIO, data: RunData) -> None:
    counts: dict[str, _Counts] = {}
    for result in data.junit_results():
        model = result.model or ""
        counts.setdefault(model, _Counts()).add(_kind(result, data.verdict_of(result)))
    models = list(counts) or [""]
    checks = (data.gate or {}).get("checks", [])
    root_attributes = {"name": _clean(data.suite)}
    root_time = "0"
    for model in models:
        suite_counts = counts.setdefault(model, _Counts())
        if not model or model == models[-1]:
            for check in checks:
                suite_counts.add((_gate_kind(check), 0.0))
        for key in ("tests", "failures", "errors", "skipped"):
            total = int(root_attributes.get(key, "0")) + getattr(suite_counts, key)
            root_attributes[key] = str(total)
        root_time = f"{float(root_time) + suite_counts.seconds:.3f}"
        root_attributes["time"] = root_time
    root_attributes["timestamp"] = _junit_time(data.timestamp)
    out.write(b"<?xml version='1.0' encoding='utf-8'?>\n")
    out.write(_start_tag("testsuites", root_attributes))
    results = data.junit_results()
    pending = next(results, None)
    for number, model in enumerate(models):
        name = data.suite if not model else f"{data.suite} [{model}]"
        suite_attributes = {"name": _clean(name)}
        counts[model].apply(
            suite_attributes, timestamp=_junit_time(data.timestamp), hostname=_host()
        )
        out.write(b"\n" + _INDENT.encode() + _start_tag("testsuite", suite_attributes))
        children = _Children(out)
        children.add(_properties(data, model))
        while pending is not None and (pending.model or "") == model:
            children.add(_testcase(data, pending))
            pending = next(results, None)
        if not model or model == models[-1]:
            for check in checks:
                children.add(_gate_case(check))
        children.flush()
        out.write(b"\n" + _INDENT.encode() + b"</testsuite>")
        if number == len(models) - 1:
            out.write(b"\n")
    out.write(b"</testsuites>\n")


def _start_tag(tag: str, attributes: dict[str, str]) -> bytes:
    empty: bytes = ET.tostring(ET.Element(tag, attributes), encoding="utf-8")
    return empty.removesuffix(b" />") + b">"  # `<tag a="1" />` -> `<tag a="1">`


class _Children:
    """The children of one <testsuite>, each on its own line at depth 2, serialized a batch at
    a time inside a throwaway <b> element (one ET.tostring a testcase costs more than the
    testcase); the <b> tags are cut off, what is between them is the children's bytes."""

    BATCH = 256

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.batch = self._new()

    @staticmethod
    def _new() -> ET.Element:
        batch = ET.Element("b")
        batch.text = "\n" + 2 * _INDENT  # the line break before the first child
        return batch

    def add(self, element: ET.Element) -> None:
        ET.indent(element, space=_INDENT, level=2)
        if len(self.batch):
            self.batch[-1].tail = "\n" + 2 * _INDENT
        self.batch.append(element)
        if len(self.batch) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if len(self.batch):
            data: bytes = ET.tostring(self.batch, encoding="utf-8")
            self.out.write(data.removeprefix(b"<b>").removesuffix(b"</b>"))
            self.batch = self._new()


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

    def apply(self, attributes: dict[str, str], **extra: str) -> None:
        attributes["tests"] = str(self.tests)
        attributes["failures"] = str(self.failures)
        attributes["errors"] = str(self.errors)
        attributes["skipped"] = str(self.skipped)
        attributes["time"] = f"{self.seconds:.3f}"
        attributes.update(extra)


def _host() -> str:
    return _clean(socket.gethostname() or "localhost")


def _properties(data: RunData, model: str) -> ET.Element:
    properties = ET.Element("properties")
    values: dict[str, Any] = {"run_id": data.run_id, "exit_code": data.exit_code}
    if model:
        values["model"] = model
    baseline = (data.gate or {}).get("baseline") or {}
    if baseline.get("path"):
        values["baseline"] = baseline["path"]
    for name, value in values.items():
        if value is not None:
            ET.SubElement(properties, "property", {"name": name, "value": _clean(str(value))})
    return properties


def _kind(result: AttemptResult, verdict: dict[str, Any] | None) -> tuple[str, float]:
    """What `_testcase` makes of the result (passed, failure, error, skipped) and its seconds."""
    verdict = verdict or {}
    seconds = result.wall_ms / 1000
    if result.status != PASS and _SKIPPED_VERDICTS.get(verdict.get("verdict", "")) is not None:
        return "skipped", seconds
    if result.status == UNGRADED and not result.failures:
        return "skipped", seconds
    if result.status in (FAIL, ERROR) or result.failures:
        return ("error" if result.status == ERROR else "failure"), seconds
    if verdict.get("verdict") == "metric_regression":
        return "failure", seconds
    return "passed", seconds


def _testcase(data: RunData, result: AttemptResult) -> ET.Element:
    seconds = result.wall_ms / 1000
    attributes = {
        "name": _clean(result.attempt_id or result.case_id),
        "classname": _clean(data.suite if result.model is None else f"{data.suite}.{result.model}"),
        "time": f"{seconds:.3f}",
    }
    source = data.source_of(result.case_id)
    if source is not None:
        attributes["file"], attributes["line"] = _clean(source[0]), str(source[1])
    case = ET.Element("testcase", attributes)
    verdict = data.verdict_of(result) or {}
    label = _SKIPPED_VERDICTS.get(verdict.get("verdict", ""))
    if result.status != PASS and label is not None:
        why = result.failures[0].message if result.failures else result.status
        ET.SubElement(case, "skipped", {"message": _clean(f"{label}: {_first_line(why)}")})
    elif result.status == UNGRADED and not result.failures:
        # Run with --skip-grade: nothing judged it yet, so it neither passed nor failed.
        ET.SubElement(case, "skipped", {"message": UNGRADED_MESSAGE})
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
        message = f"metric regression: {verdict.get('detail', '')}"
        ET.SubElement(case, "failure", {"message": _clean(message), "type": "metric_regression"})
    out = _system_out(result, verdict)
    if out:
        ET.SubElement(case, "system-out").text = _clean(_cap(out))
    if result.stderr_tail:
        ET.SubElement(case, "system-err").text = _clean(_cap(result.stderr_tail))
    return case


def _gate_kind(check: dict[str, Any]) -> str:
    return "passed" if check.get("passed") else "failure"


def _gate_case(check: dict[str, Any]) -> ET.Element:
    case = ET.Element(
        "testcase", {"name": _clean(f"gate: {check['name']}"), "classname": "harness.gate.evaluate"}
    )
    case.set("time", "0.000")
    if check.get("passed"):
        return case
    text = f"{check['name']}: value {check.get('value')} limit {check.get('limit')}"
    if check.get("baseline") is not None:
        text += f" baseline {check['baseline']}"
    if check.get("message"):
        text += f" ({check['message']})"
    ET.SubElement(case, "failure", {"message": _clean(text), "type": "regression_gate"})
    return case


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
