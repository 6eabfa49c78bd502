"""What an agent writes cannot crash the console or drive the terminal: rich markup in its
messages is shown as text, control characters (ESC, BEL, NUL, CR, bidirectional overrides) are
replaced before they reach stdout or stderr, and the process exits with the code run.json
records (decided once, in harness.execute.finish.decide)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.support.cli_runs import Run, script_agent_command, started
from tests.support.files import write_suite

HOSTILE = "oops [/] done [bold red]x[/bold red] \x1b[31mRED\x1b]0;title\x07 nul\x00 cr\r \u202eevil"
# What must never reach a terminal raw: C0 but tab and newline, DEL, C1, bidi overrides.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def hostile_suite(root: Path, **settings: Any) -> Path:
    steps: list[dict[str, Any]] = [
        {"stderr": HOSTILE},
        {"log": HOSTILE},
        {"task_error": HOSTILE},
    ]
    return write_suite(
        root,
        {"suite_name": "console", "agent_command": script_agent_command(), **settings},
        [
            {"id": "bad", "input": {"steps": steps}},
            {"id": "good", "input": {"steps": [{"final": {"ok": True}}]}},
        ],
    )


def check_console(run: Run) -> None:
    assert "Traceback" not in run.stderr, run.describe()
    assert "MarkupError" not in run.stderr, run.describe()
    for stream in (run.stdout, run.stderr):
        assert not RAW_CONTROL.search(stream), repr(RAW_CONTROL.findall(stream))
    assert run.exit_code == run.run_json()["exit_code"], run.describe()


def test_markup_and_control_characters_from_the_agent_are_shown_as_text(tmp_path: Path) -> None:
    with started(tmp_path) as harness:
        harness.env["GITHUB_ACTIONS"] = "true"  # annotations print the messages too
        run = harness.run(hostile_suite(tmp_path / "s"), "-v")
        check_console(run)
        assert run.exit_code == 1
        assert "oops [/] done" in run.stdout  # shown, as text
        assert "\ufffd[31mRED" in run.stdout


def test_a_quarantined_failure_exits_as_run_json_says(tmp_path: Path) -> None:
    with started(tmp_path) as harness:
        run = harness.run(hostile_suite(tmp_path / "s", quarantine=["bad"]))
        check_console(run)
        assert run.exit_code == 0


def test_a_sweep_table_shows_hostile_text_as_text(tmp_path: Path) -> None:
    with started(tmp_path) as harness:
        run = harness.run(hostile_suite(tmp_path / "s", models=["m[/]1", "m2"]))
        check_console(run)
        assert "m[/]1" in run.stdout
