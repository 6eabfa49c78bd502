"""Ctrl+C during `harness vally eval`: exit 130, every finished trial's record kept (and the
documents written over them), no agent left running."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.cli_runs import Harness, surviving_processes
from tests.support.files import read_jsonl
from tests.support.vally_runs import PROJECT

SPEC = """\
name: interrupted
config: {executor: py, runs: 1}
stimuli:
  - name: quick
    prompt: SAY done
    graders: [{type: exit-success}]
  - name: stuck
    prompt: SLEEP 60
    graders: [{type: exit-success}]
"""


def test_ctrl_c_keeps_finished_trials_and_leaves_no_agent(harness: Harness, tmp_path: Path) -> None:
    spec = tmp_path / "interrupted.eval.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "results"
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "vally", "eval", "-e", str(spec), "--workers", "2",
         "--output-dir", str(out)],
        cwd=PROJECT, env=harness.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    results: list[Path] = []
    while time.monotonic() < deadline:
        results = [p for p in out.glob("*/results.jsonl") if p.stat().st_size > 0]
        if results:
            break
        time.sleep(0.1)
    assert results, "the quick trial never finished"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, f"{stdout}\n{stderr}"
    records = read_jsonl(results[0])
    assert [r["stimulusName"] for r in records] == ["quick"]
    assert records[0]["gradeResult"]["passed"] is True
    assert (results[0].parent / "eval-results.md").is_file()
    assert "interrupted: finished trials are in results.jsonl" in stderr
    assert surviving_processes(harness.marker) == []
