"""Baseline files: RunLedger's format read, written and promoted; bad files are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError, UsageError
from harness.gate.baseline import (
    baseline_document,
    check_same_suite,
    load_baseline,
    write_baseline,
)
from harness.gate.stored import promote


def summary(*rows: dict[str, Any], suite: str = "s") -> dict[str, Any]:
    failing = sum(row["status"] != "pass" for row in rows)
    return {
        "schema_version": 1,
        "run": {"run_id": "r1", "exit_status": "success"},
        "suite": {"name": suite},
        "aggregates": {"cases_fail": failing, "cases_error": 0, "cases_total": len(rows)},
        "cases": list(rows),
        "regression": {"passed": True},
    }


def row(case_id: str, status: str = "pass", **extra: Any) -> dict[str, Any]:
    return {"id": case_id, "status": status, "wall_ms": 10, "tool_calls": 1, **extra}


def test_document_drops_the_verdict_sorts_and_recomputes_exit_status() -> None:
    document = baseline_document(summary(row("b", "fail"), row("a")))
    assert "regression" not in document
    assert [r["id"] for r in document["cases"]] == ["a", "b"]
    assert document["run"]["exit_status"] == "failed"
    assert baseline_document(document) == document  # promoting twice changes nothing


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    path = write_baseline(tmp_path / "b.json", summary(row("a", model="m", trial=2), row("b")))
    text = path.read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    loaded = load_baseline(path)
    assert loaded.suite == "s" and loaded.run_id == "r1"
    assert [(r.id, r.model, r.trial) for r in loaded.rows] == [("a", "m", 2), ("b", None, None)]


def test_runledger_baseline_without_our_fields_loads(tmp_path: Path) -> None:
    # The shape RunLedger 0.2.3 promotes: no model, trial or harness keys; extra keys kept.
    document = {
        "schema_version": 1,
        "generated_at": "2025-01-01T00:00:00Z",
        "runledger_version": "0.2.3",
        "run": {"run_id": "x", "mode": "replay", "exit_status": "success"},
        "suite": {"name": "demo", "suite_path": "evals/demo", "cases_total": 1},
        "aggregates": {"cases_total": 1, "cases_pass": 1, "pass_rate": 1.0, "metrics": {}},
        "cases": [{"id": "t1", "status": "pass", "wall_ms": 25, "replay": {}, "assertions": {}}],
    }
    (tmp_path / "b.json").write_text(json.dumps(document))
    (only,) = load_baseline(tmp_path / "b.json").rows
    assert (only.id, only.status, only.model, only.trial) == ("t1", "pass", None, None)
    assert only.wall_ms == 25


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "b.json: not valid JSON"),
        ("[]", "b.json: expected a JSON object (a promoted summary.json)"),
        ('{"schema_version": 1, "suite": {"name": "s"}}', "b.json: cases: missing required key"),
        ('{"schema_version": 1, "suite": "s", "cases": []}', "b.json: suite: expected an object"),
        (
            '{"schema_version": 1, "suite": {"name": "s"}, "cases": [{"id": "a", "status": "ok"}]}',
            "b.json: cases[0].status: unknown status 'ok'",
        ),
        (
            '{"schema_version": 1, "suite": {"name": "s"}, "cases": [{"status": "pass"}]}',
            "b.json: cases[0]: object missing required field `id`",
        ),
        (
            '{"schema_version": 1, "suite": {"name": "s"}, "cases": '
            '[{"id": "a", "status": "pass"}, {"id": "a", "status": "fail"}]}',
            "b.json: cases: duplicate case row ('a', None, None)",
        ),
    ],
)
def test_bad_baselines_are_config_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("b.json").write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_baseline(Path("b.json"))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_missing_baseline_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--export-baseline or `baseline promote`"):
        load_baseline(tmp_path / "none.json")


def test_promote_refuses_a_failing_run_unless_allowed(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(summary(row("a"), row("b", "error"))))
    with pytest.raises(UsageError, match=r"1 case\(s\) did not pass \(b\).*--allow-failing"):
        promote(run, tmp_path / "b.json")
    assert not (tmp_path / "b.json").exists()
    path, _ = promote(run, tmp_path / "b.json", allow_failing=True)
    assert load_baseline(path).suite == "s"


def test_suite_identity(tmp_path: Path) -> None:
    path = write_baseline(tmp_path / "b.json", summary(row("a"), suite="one"))
    check_same_suite(load_baseline(path), "one")
    with pytest.raises(UsageError, match="baseline of suite 'one', but the run is of suite 'two'"):
        check_same_suite(load_baseline(path), "two")
