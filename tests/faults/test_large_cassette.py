"""A large cassette stays bounded in what a run writes and prints: strict replay names the first
few unused entries, counts the rest and lists them as line ranges in the attempt's folder (a
million unused entries made a million failures: a 113 MB summary.json, and a console flood
even under --quiet). --quiet prints the counts and the run directory, nothing else.

The 1,000,000-entry figures (time, peak RSS) are measured by `make bench`
(tests/bench/bench_cassette.py); this test uses 20,000 entries to stay quick."""

from __future__ import annotations

from pathlib import Path

from harness.cassette.matching import UNUSED_LISTED
from tests.support.cli_runs import Harness, script_agent_command, started
from tests.support.files import write_suite

ENTRIES = 20_000
CALLED = 3  # the agent calls the first three entries, in order


def large_suite(harness: Harness) -> Path:
    steps = [{"call": "lookup", "args": {"n": n}} for n in range(CALLED)]
    suite = write_suite(
        harness.cwd / "suite",
        {
            "suite_name": "large",
            "agent_command": script_agent_command(),
            "tool_registry": ["lookup"],
        },
        [{"id": "c", "cassette": "cassettes/c.jsonl", "input": {"steps": [*steps, {"final": {}}]}}],
    )
    lines = (
        f'{{"args":{{"n":{n}}},"ok":true,"result":{{"value":{n}}},"tool":"lookup"}}\n'
        for n in range(ENTRIES)
    )
    (suite / "cassettes").mkdir()
    (suite / "cassettes" / "c.jsonl").write_text("".join(lines), encoding="utf-8")
    return suite


def test_strict_replay_of_a_large_cassette_is_bounded_and_quiet_is_quiet(tmp_path: Path) -> None:
    with started(tmp_path) as harness:
        run = harness.run(large_suite(harness), "--strict", "--quiet", "--db", ":memory:")
    assert run.exit_code == 1, run.describe()
    # --quiet: the counts line and the run directory; no table, no gate lines.
    assert run.stdout.splitlines()[0].startswith("0 passed, 1 failed"), run.stdout
    assert len(run.stdout.splitlines()) == 2, run.stdout
    [result] = run.results()
    unused = [f for f in result["failures"] if f["type"] == "cassette_unused"]
    assert len(unused) == UNUSED_LISTED + 1
    assert unused[0]["message"].endswith('c.jsonl:4: lookup {"n":3} was never called')
    rest = ENTRIES - CALLED - UNUSED_LISTED
    summary = unused[-1]["message"]
    assert f"{rest:,} more of the {ENTRIES:,} recorded entries were never called" in summary
    assert f"c.jsonl:{CALLED + UNUSED_LISTED + 1}-{ENTRIES}" in summary
    listing = run.dir / "attempts" / "c" / "cassette_unused.txt"
    assert f"every one is listed in {listing}" in summary
    assert listing.read_text().splitlines() == [f"{tmp_path}/suite/cassettes/c.jsonl:4-{ENTRIES}"]
    # Everything the run wrote stays small: counts, not one line per entry.
    for name in ("results.jsonl", "summary.json", "junit.xml", "run.jsonl"):
        assert (run.dir / name).stat().st_size < 64 * 1024, name


def test_a_large_cassette_replays_without_strict(tmp_path: Path) -> None:
    """Unused entries are no failure without --strict, and no listing is written."""
    with started(tmp_path) as harness:
        run = harness.run(large_suite(harness), "--quiet", "--db", ":memory:")
    assert run.exit_code == 0, run.describe()
    assert [result["status"] for result in run.results()] == ["pass"]
    assert not (run.dir / "attempts" / "c" / "cassette_unused.txt").exists()
