"""JUnit XML: errors as <error>, failures as <failure>, the agent's stderr attached."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from harness.results import ERROR, FAIL, AttemptResult

# XML 1.0 cannot carry most control characters, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def render_junit(
    suite_name: str, results: Sequence[AttemptResult], *, timestamp: dt.datetime | None = None
) -> bytes:
    stamp = (timestamp or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S")
    failures = sum(1 for r in results if r.status == FAIL)
    errors = sum(1 for r in results if r.status == ERROR)
    seconds = sum(r.wall_ms for r in results) / 1000
    counts = {
        "tests": str(len(results)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": "0",
        "time": f"{seconds:.3f}",
    }
    root = ET.Element("testsuites", {"name": suite_name, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": suite_name, "timestamp": stamp, **counts})
    for result in sorted(results, key=lambda r: r.attempt_id or r.case_id):
        name = result.attempt_id or result.case_id
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "name": _clean(name),
                "classname": _clean(suite_name),
                "time": f"{result.wall_ms / 1000:.3f}",
            },
        )
        if result.failures:
            first = result.failures[0]
            tag = "error" if result.status == ERROR else "failure"
            element = ET.SubElement(
                case, tag, {"message": _clean(first.message.splitlines()[0]), "type": first.type}
            )
            element.text = _clean("\n\n".join(f"[{f.type}] {f.message}" for f in result.failures))
        if result.stderr_tail:
            ET.SubElement(case, "system-err").text = _clean(result.stderr_tail)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
