"""SARIF 2.1.0 for code-scanning views: one result per failing check, at the case file's line.

Rules are check types (`assertion_failed/must_call`, `cassette_mismatch`, `budget_exceeded`,
`gate/min_pass_rate`, ...), so a reviewer can filter by kind. Expected failures and quarantined
cases are warnings; everything that fails the gate is an error.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from harness._version import __version__
from harness.results import PASS, Failure

if TYPE_CHECKING:
    from harness.reports.run_data import RunData

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub code scanning rejects files with more than 25,000 results per run.
MAX_RESULTS = 25_000
MAX_VALUE_CHARS = 20_000  # of an expected or observed text kept in a result's properties
_WARNING_VERDICTS = {"expected_failure", "quarantined", "not_significant", "flaky"}


def render_sarif(data: RunData, *, root: Path | None = None) -> bytes:
    """The run as a SARIF 2.1.0 log. Paths are relative to `root` (default: the cwd)."""
    root = (root or Path.cwd()).resolve()
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for result in sorted(data.results, key=lambda r: r.attempt_id or r.case_id):
        verdict = data.verdict_of(result) or {}
        name = verdict.get("verdict", "")
        if result.status == PASS and name != "metric_regression":
            continue
        level = "warning" if name in _WARNING_VERDICTS else "error"
        where = _location(data, result.case_id, root)
        checks: list[tuple[str, str, Failure | None]] = [
            (f.type + _sub(f.details), f.message, f) for f in result.failures
        ]
        if name == "metric_regression":
            detail = f"metric regression: {verdict.get('detail', '')}"
            checks = [("metric_regression", detail, None)]
        elif not checks:
            checks = [(result.status, f"status {result.status}", None)]
        for rule_id, message, failure in checks:
            _rule(rules, rule_id, level)
            text = f"{result.attempt_id or result.case_id}: {message}"
            if name == "regressed":
                text = f"{text} (regression: passed in the baseline)"
            entry = _result(rules, rule_id, level, text, where, result.case_id, result, name)
            results.append(_with_values(entry, failure))
    for check in (data.gate or {}).get("checks", []):
        if check.get("passed"):
            continue
        rule_id = f"gate/{check['name'].split('[')[0]}"
        _rule(rules, rule_id, "error")
        text = f"{check['name']}: {check.get('value')} against limit {check.get('limit')}"
        where = _file_location(data.run.get("suite_file"), 1, root)
        results.append(_result(rules, rule_id, "error", text, where, None, None, "gate"))
    truncated = len(results) > MAX_RESULTS
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "harness",
                        "version": __version__,
                        "rules": list(rules.values()),
                    }
                },
                "automationDetails": {"id": f"{data.suite}/{data.run_id}"},
                "originalUriBaseIds": {"SRCROOT": {"uri": root.as_uri() + "/"}},
                "invocations": [
                    {
                        "executionSuccessful": data.exit_code in (0, 1),
                        "exitCode": data.exit_code if data.exit_code is not None else -1,
                    }
                ],
                "results": results[:MAX_RESULTS],
                "properties": {"suite": data.suite, "run_id": data.run_id, "truncated": truncated},
            }
        ],
    }
    return msgspec.json.format(msgspec.json.encode(log), indent=2) + b"\n"


def _sub(details: dict[str, Any] | None) -> str:
    assertion = (details or {}).get("assertion")
    return f"/{assertion}" if isinstance(assertion, str) and assertion else ""


def _rule(rules: dict[str, dict[str, Any]], rule_id: str, level: str) -> None:
    if rule_id not in rules:
        rules[rule_id] = {
            "id": rule_id,
            "name": "".join(part.capitalize() for part in rule_id.replace("/", "_").split("_")),
            "shortDescription": {"text": f"harness check {rule_id}"},
            "defaultConfiguration": {"level": level},
        }


def _result(
    rules: dict[str, dict[str, Any]],
    rule_id: str,
    level: str,
    text: str,
    location: dict[str, Any] | None,
    case_id: str | None,
    result: Any,
    verdict: str,
) -> dict[str, Any]:
    key = f"{case_id}|{getattr(result, 'model', None)}|{rule_id}"
    entry: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": list(rules).index(rule_id),
        "level": level,
        "message": {"text": text},
        # Stable across runs, so code scanning tracks one alert per case and check.
        "partialFingerprints": {"harnessCase/v1": hashlib.sha256(key.encode()).hexdigest()},
        "properties": {"verdict": verdict},
    }
    if location is not None:
        entry["locations"] = [location]
    if result is not None:
        entry["properties"].update(
            case_id=result.case_id, attempt_id=result.attempt_id, status=result.status
        )
        if result.model is not None:
            entry["properties"]["model"] = result.model
        if result.trial is not None:
            entry["properties"]["trial"] = result.trial
    return entry


def _with_values(entry: dict[str, Any], failure: Failure | None) -> dict[str, Any]:
    """The failure's expected and observed values, whole up to MAX_VALUE_CHARS, beside the
    one-line message (which shows only where they differ)."""
    for name in ("expected", "observed"):
        value = getattr(failure, name, None)
        if value is not None:
            entry["properties"][name] = _capped(value)
    return entry


def _capped(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + f"…[{len(value) - MAX_VALUE_CHARS} more characters]"
    return value


def _location(data: RunData, case_id: str, root: Path) -> dict[str, Any] | None:
    source = data.source_of(case_id)
    location = _file_location(source[0] if source else None, source[1] if source else 1, root)
    if location is not None:
        location["logicalLocations"] = [{"name": case_id, "kind": "function"}]
    return location


def _file_location(path: Any, line: int, root: Path) -> dict[str, Any] | None:
    if not isinstance(path, str) or not path:
        return None
    absolute = Path(os.path.abspath(path))
    try:
        artifact = {"uri": absolute.relative_to(root).as_posix(), "uriBaseId": "SRCROOT"}
    except ValueError:
        artifact = {"uri": absolute.as_uri()}
    return {
        "physicalLocation": {"artifactLocation": artifact, "region": {"startLine": max(line, 1)}}
    }
