"""`harness vally ...` run as a real subprocess over the fixture project (tests/fixtures/vally,
used in place: outputs, workspaces and cassettes go to the test's tmp_path), and the files
Vally's users read afterwards."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.support.cli_runs import REPO, Harness, Run
from tests.support.files import read_json, read_jsonl

PROJECT = REPO / "tests" / "fixtures" / "vally"


def vally(
    harness: Harness,
    *args: str,
    cwd: Path = PROJECT,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout_seconds: float = 90,
) -> Run:
    completed = subprocess.run(
        [sys.executable, "-m", "harness", "vally", *args],
        cwd=cwd,
        env={**harness.env, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout_seconds,
        check=False,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr, cwd)


def latest(output_dir: Path) -> Path:
    """The run folder `<output-dir>/latest` points to."""
    link = output_dir / "latest"
    assert link.is_symlink(), f"no latest pointer in {output_dir}"
    target = (output_dir / link.readlink()).resolve()
    assert (output_dir / "latest.txt").read_text().strip() == target.name
    return target


def records(run_dir: Path) -> list[dict[str, Any]]:
    return read_jsonl(run_dir / "results.jsonl")


def by_stimulus(run_dir: Path) -> dict[str, dict[str, Any]]:
    return {f"{r['evalName']}/{r['stimulusName']}": r for r in records(run_dir)}


def graders(record: Mapping[str, Any]) -> dict[str, tuple[bool, str]]:
    """Grader name -> (passed, evidence)."""
    return {g["name"]: (g["passed"], g["evidence"]) for g in record["gradeResult"]["graders"]}


def summary_rows(run_dir: Path) -> dict[tuple[str, str | None], dict[str, Any]]:
    rows = read_json(run_dir / "summary.json")["stimuli"]
    return {(f"{row['eval']}/{row['stimulus']}", row["model"]): row for row in rows}


def session_log(run_dir: Path, record: Mapping[str, Any]) -> Path:
    model = str(record["model"] or "default")
    folder: Path = run_dir / "executor-session-logs" / str(record["evalName"]) / model
    return folder / str(record["stimulusName"]) / f"trial-{record['trialIndex']}"
