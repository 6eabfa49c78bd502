"""eval-results.md and the JUnit XML (harness.vally.documents) with hostile agent text: no
markup reaches the Markdown, no control character the XML, which stays parseable."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from harness.vally.documents import render_junit, render_markdown
from harness.vally.tallies import Tallies

HOSTILE = "<script>alert(1)</script> | `x` @here \x1b[31m\x00 ]]> [link](javascript:x)"


def record(passed: bool, status: str = "success") -> dict[str, Any]:
    return {
        "evalName": "e",
        "variant": None,
        "model": None,
        "stimulusName": "s<b>",
        "trialIndex": 0,
        "status": status,
        "error": HOSTILE if status == "error" else None,
        "durationMs": 1200,
        "gradeResult": {
            "passed": passed,
            "score": 1.0 if passed else 0.0,
            "evidence": HOSTILE,
            "graders": [
                {"name": "g|x", "passed": passed, "score": 0.0, "evidence": HOSTILE},
            ],
        },
        "trajectory": {"metrics": {"tokenUsage": {"totalTokens": 3}, "turns": 1}},
        "harness": {"outcome": "passed" if passed else "failed", "infraReason": None},
    }


def test_markdown_escapes_agent_text() -> None:
    records = [record(False), record(True, status="error")]
    tallies = Tallies()
    for r in records:
        tallies.add(r)
    text = render_markdown("T", tallies.summary(), records)
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert "@\u200bhere" in text
    assert "\x1b" not in text and "\x00" not in text
    assert "[^1]:" in text  # the error is footnoted


def test_junit_is_valid_xml_whatever_the_agent_wrote() -> None:
    data = render_junit("T", [record(False), record(True, status="error"), record(True)])
    root = ET.fromstring(data)
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    failure = root.find(".//failure")
    assert failure is not None and "\x00" not in (failure.text or "")
    assert "g|x" in (failure.text or "")
