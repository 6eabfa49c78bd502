"""Two record runs writing one shared cassette at the same time lose nothing: each commit
merges against the file as it is on disk, under a lock, so a run committing twice never
reverts what the other recorded in between from a stale copy."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.cli_runs import started
from tests.support.record_suites import call, case, entries, live_suite

WAIT_TOOL = """

def wait_for(path):
    import time
    from pathlib import Path
    while not Path(path).exists():  # the test says when the other run has committed
        time.sleep(0.05)
    return {"waited": True}
"""


def test_a_run_committing_twice_keeps_what_another_run_recorded_in_between(
    tmp_path: Path,
) -> None:
    gate = tmp_path / "other-run-done"
    with started(tmp_path) as harness:
        shared = "cassettes/shared.jsonl"
        suite = live_suite(
            harness.cwd / "rec",
            ["lookup", "wait_for"],
            {
                "lookup": {"backend": "python", "function": "tools:lookup"},
                "wait_for": {"backend": "python", "function": "tools:wait_for"},
            },
            [
                case("a1", [call("lookup", key="a1")], shared),
                case("a2", [call("wait_for", path=str(gate)), call("lookup", key="a2")], shared),
                case("b1", [call("lookup", key="b1")], shared),
            ],
        )
        (suite / "tools.py").write_text((suite / "tools.py").read_text() + WAIT_TOOL)
        first = harness.popen(suite, "--mode", "record", "--case", "a*", "-j", "2", "-q")
        cassette = suite / shared
        deadline = time.monotonic() + 60
        while not (cassette.exists() and '"a1"' in cassette.read_text()):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "a1 was never recorded"
            time.sleep(0.05)
        second = harness.run(suite, "--mode", "record", "--case", "b1", "-q")
        assert second.exit_code == 0, second.describe()
        gate.touch()  # now a2 commits, from what it read of the file before b1 was written
        out, err = first.communicate(timeout=60)
        assert first.returncode == 0, out + err
        recorded = {entry["case"]: entry["args"] for entry in entries(cassette)}
        assert recorded.keys() >= {"a1", "a2", "b1"}, recorded


def test_cases_sharing_a_per_model_cassette_keep_each_others_entries(tmp_path: Path) -> None:
    """`cassettes/{model}/shared.jsonl` named by two cases is shared on every model: the
    second case's commit merges, it does not replace the first's entries."""
    with started(tmp_path) as harness:
        shared = "cassettes/{model}/shared.jsonl"
        suite = live_suite(
            harness.cwd / "rec",
            ["lookup"],
            {"lookup": {"backend": "python", "function": "tools:lookup"}},
            [case(name, [call("lookup", key=name)], shared) for name in ("x1", "x2")],
            models=["m1"],
        )
        run = harness.run(suite, "--mode", "record", "-j", "1", "-q")
        assert run.exit_code == 0, run.describe()
        recorded = {entry.get("case") for entry in entries(suite / "cassettes/m1/shared.jsonl")}
        assert recorded == {"x1", "x2"}, recorded
