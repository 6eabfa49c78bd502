"""The Python SDK through a real run: an exception in the agent's function is a task_error
with the traceback whole (in data and on stderr) and its last frame on the console line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli_runs import Harness, command
from tests.support.files import read_jsonl, write_suite

AGENT = """\
from harness.sdk import Agent, run

def lookup(n):
    raise RuntimeError(f"boom {n}")

def triage(agent: Agent) -> dict:
    return {"answer": lookup(agent.input["n"])}

run(triage)
"""


def test_an_exception_keeps_its_traceback(harness: Harness, tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "agent.py").write_text(AGENT, encoding="utf-8")
    write_suite(
        suite,
        {"suite_name": "sdk", "agent_command": ["python3", "agent.py"]},
        [{"id": "t1", "input": {"n": 3}}],
    )

    run = harness.run(suite)

    assert run.exit_code == 1, run.describe()
    (result,) = run.results()
    (failure,) = result["failures"]
    message = "agent reported task_error: RuntimeError: boom 3 (at suite/agent.py:4 in lookup)"
    assert (failure["type"], failure["message"]) == ("task_error", message)
    assert message in run.stdout  # the console's failures table
    data = failure["details"]["data"]
    assert data["exception"] == "RuntimeError"
    assert data["where"] == "suite/agent.py:4 in lookup"
    frames = ["line 7, in triage\n", 'line 4, in lookup\n    raise RuntimeError(f"boom {n}")']
    assert data["traceback"].startswith("Traceback (most recent call last):\n")
    assert "harness/sdk" not in data["traceback"]  # the SDK's own frames are left out
    assert all(frame in data["traceback"] for frame in frames)
    assert data["traceback"].endswith("RuntimeError: boom 3\n")
    # The same text is in the attempt's stderr.log and in the trace the reports show.
    assert (run.dir / result["stderr_path"]).read_text(encoding="utf-8") == data["traceback"]
    (event,) = [e for e in read_jsonl(run.dir / "run.jsonl") if e["type"] == "task_error"]
    assert event["data"]["traceback"] == data["traceback"]
    page = command(harness, "report", str(run.dir), "--html", "page.html")
    assert page.exit_code == 0, page.describe()
    html = (harness.cwd / "page.html").read_text(encoding="utf-8")
    assert json.dumps(frames[1])[1:-1] in html
