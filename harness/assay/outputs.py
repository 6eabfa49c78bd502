"""Assay's output files, written atomically into the working directory: run.json (rows in
Assay's shape plus exit and reason codes), summary.json (`assay.run_summary.v1`), and for `ci`
junit.xml, sarif.json and a PR comment.

Where harness does better than Assay, the shape stays and more data is added: JUnit carries
counts, times and a classname; SARIF has one rule per check and the failing test's real line
in the config; summary counts a `warn` as warned, not as passed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from harness._version import __version__
from harness.assay.codes import REASON_CODE_VERSION, Outcome
from harness.config.yaml_source import display_path
from harness.storage.atomic import atomic_write

SUMMARY_SCHEMA = "assay.run_summary.v1"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_MAX_RESULTS = 25_000
PR_MARKER = "<!-- assay-governance-report -->"
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
PASSING = ("pass", "allowed_on_error")
BLOCKING = ("fail", "error")
WARNING = ("warn", "flaky", "unstable")


def write_json(path: Path, value: Any) -> None:
    atomic_write(path, msgspec.json.format(msgspec.json.encode(value), indent=2) + b"\n")


def run_document(
    run_id: str, suite: str, rows: Sequence[dict[str, Any]], outcome: Outcome, seed: Any
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "run_id": run_id,
        "suite": suite,
        "results": list(rows),
        "runner_clone_ms": None,
        "exit_code": outcome.exit_code,
        "reason_code": outcome.reason_code,
        "reason_code_version": REASON_CODE_VERSION,
        "seed_version": 1,
        "order_seed": None if seed is None else str(seed),
        "judge_seed": None,
        "resolution": outcome.resolution(),
        "harness_version": __version__,
    }
    if outcome.warnings:
        document["warnings"] = outcome.warnings
    return document


def minimal_run_document(outcome: Outcome) -> dict[str, Any]:
    """What an early failure (a bad config or trace) leaves: no results."""
    return {
        "exit_code": outcome.exit_code,
        "reason_code": outcome.reason_code,
        "reason_code_version": REASON_CODE_VERSION,
        "seed_version": 1,
        "order_seed": None,
        "judge_seed": None,
        "resolution": outcome.resolution(),
    }


def summary_document(
    rows: Sequence[dict[str, Any]] | None,
    outcome: Outcome,
    *,
    provenance: dict[str, Any],
    total_ms: int = 0,
    seed: Any = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema": SUMMARY_SCHEMA,
        "schema_version": 1,
        "reason_code_version": REASON_CODE_VERSION,
        "exit_code": outcome.exit_code,
        "reason_code": outcome.reason_code,
        "message": outcome.message,
    }
    if outcome.reason_code:
        document["next_step"] = outcome.resolution()["next_step"]
    document["provenance"] = {"assay_version": f"harness {__version__}", **provenance}
    if rows is not None:
        count = _counter(rows)
        document["results"] = {
            "passed": count(*PASSING),
            "failed": count(*BLOCKING),
            "warned": count(*WARNING),
            "skipped": count("skipped"),
            "total": len(rows),
        }
        slowest = sorted(rows, key=lambda r: (-(r["duration_ms"] or 0), r["test_id"]))[:5]
        document["performance"] = {
            "total_duration_ms": total_ms,
            "cache_hit_rate": 0.0,
            "slowest_tests": [
                {"test_id": r["test_id"], "duration_ms": r["duration_ms"]} for r in slowest
            ],
        }
    document["seeds"] = {
        "seed_version": 1,
        "order_seed": None if seed is None else str(seed),
        "judge_seed": None,
    }
    return document


def _counter(rows: Sequence[dict[str, Any]]) -> Any:
    return lambda *statuses: sum(1 for row in rows if row["status"] in statuses)


def render_junit(suite: str, rows: Sequence[dict[str, Any]]) -> bytes:
    count = _counter(rows)
    seconds = sum(row["duration_ms"] or 0 for row in rows) / 1000
    counts = {
        "tests": str(len(rows)),
        "failures": str(count("fail")),
        "errors": str(count("error")),
        "skipped": str(count("skipped")),
        "time": f"{seconds:.3f}",
    }
    root = ET.Element("testsuite", {"name": _xml(suite), **counts})
    for row in rows:
        case = ET.SubElement(
            root,
            "testcase",
            {
                "name": _xml(row["test_id"]),
                "classname": _xml(suite),
                "time": f"{(row['duration_ms'] or 0) / 1000:.3f}",
            },
        )
        message = _xml(row["message"])
        status = row["status"]
        if status == "fail":
            ET.SubElement(case, "failure", {"message": message})
        elif status == "error":
            ET.SubElement(case, "error", {"message": message})
        elif status == "skipped":
            ET.SubElement(case, "skipped", {"message": message})
        elif status in WARNING:
            label = {"flaky": "FLAKY", "unstable": "UNSTABLE"}.get(status, "WARNING")
            ET.SubElement(case, "system-out").text = f"{label}: {message}"
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _xml(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def render_sarif(
    rows: Sequence[dict[str, Any]], config_path: Path, lines: dict[str, int]
) -> tuple[dict[str, Any], int]:
    """SARIF 2.1.0: one result per fail/error/warn row (blocking first, then by id), with a
    rule per failing check and the test's line in the config; (document, omitted count)."""
    eligible = [row for row in rows if row["status"] in (*BLOCKING, *WARNING)]
    eligible.sort(key=lambda r: (r["status"] not in BLOCKING, r["test_id"]))
    kept, omitted = eligible[:SARIF_MAX_RESULTS], max(0, len(eligible) - SARIF_MAX_RESULTS)
    uri = display_path(config_path)
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for row in kept:
        rule = _rule_of(row)
        rules.setdefault(rule, {"id": rule, "shortDescription": {"text": f"assay check {rule}"}})
        region = {"startLine": lines.get(row["test_id"], 1), "startColumn": 1}
        results.append(
            {
                "ruleId": rule,
                "level": "error" if row["status"] in BLOCKING else "warning",
                "message": {"text": f"{row['test_id']}: {row['message']}"},
                "locations": [
                    {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}
                ],
                "partialFingerprints": {"assayTest/v1": f"{row['test_id']}:{rule}"},
            }
        )
    driver = {"name": "harness", "version": __version__, "rules": list(rules.values())}
    run: dict[str, Any] = {"tool": {"driver": driver}, "results": results}
    if omitted:
        run["properties"] = {"assay": {"truncated": True, "omitted_count": omitted}}
    return {"version": "2.1.0", "$schema": SARIF_SCHEMA, "runs": [run]}, omitted


def _rule_of(row: dict[str, Any]) -> str:
    details = row["details"]
    if details.get("run_error_kind"):
        return str(details["run_error_kind"])
    failing = [name for name, m in (details.get("metrics") or {}).items() if not m.get("passed")]
    failing += [a["type"] for a in details.get("assertions") or [] if not a.get("passed")]
    return failing[0] if failing else "baseline" if details.get("baseline") else "assay"


def render_pr_comment(
    suite: str, rows: Sequence[dict[str, Any]], outcome: Outcome, shown: int = 20
) -> str:
    count = _counter(rows)
    status = ":white_check_mark: Pass" if outcome.exit_code == 0 else ":x: Fail"
    lines = [PR_MARKER, "## Assay Governance Report", "", f"**Status:** {status}", ""]
    lines += ["| Metric | Value |", "|--------|-------|", f"| Suite | {_cell(suite)} |"]
    lines.append(f"| Tests | {count(*PASSING)}/{len(rows)} passed |")
    if count(*BLOCKING):
        lines.append(f"| Failed | {count(*BLOCKING)} |")
    if count(*WARNING):
        lines.append(f"| Warned | {count(*WARNING)} |")
    lines.append(f"| Exit | {outcome.exit_code} |")
    if outcome.reason_code:
        lines.append(f"| Reason | `{outcome.reason_code}` |")
    failing = [row for row in rows if row["status"] not in PASSING]
    if failing:
        lines += ["", "| Test | Status | Message |", "|------|--------|---------|"]
        for row in failing[:shown]:
            lines.append(f"| {_cell(row['test_id'])} | {row['status']} | {_cell(row['message'])} |")
        if len(failing) > shown:
            lines.append(f"| ... | | {len(failing) - shown} more in run.json |")
    if outcome.warnings:
        lines += ["", "<details>", "<summary>Warnings</summary>", ""]
        lines += [f"- {_cell(warning)}" for warning in outcome.warnings]
        lines += ["", "</details>"]
    lines += ["", "---", f"Generated by harness {__version__} (Assay-compatible `assay ci`)", ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    flat = " ".join(str(text).split())
    flat = re.sub(r"([\\`*_\[\]#<>|])", r"\\\1", flat)
    return flat if len(flat) <= 200 else flat[:197] + "..."
