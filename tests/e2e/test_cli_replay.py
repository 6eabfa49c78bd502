"""`harness run` in replay mode through the CLI: the demo suite, case selection, config errors,
artifacts, output locations, line separators, and Ctrl+C."""

from __future__ import annotations

import json
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli_runs import (
    SUITES,
    Harness,
    marked_processes,
    script_agent_command,
    surviving_processes,
)
from tests.support.files import interaction, read_jsonl, write_cassette, write_suite

DEMO = SUITES / "demo"
DEMO_CASES = {
    "double_charge",
    "enterprise_outage",
    "password_reset",
    "sso_question",
    "unknown_customer_refund",
    "where_is_my_order",
}
# Tool calls each demo case makes, one per line of its cassette.
DEMO_TOOL_CALLS = {
    "double_charge": 4,
    "enterprise_outage": 3,
    "password_reset": 2,
    "sso_question": 2,
    "unknown_customer_refund": 4,
    "where_is_my_order": 3,
}


def test_demo_suite_passes_in_replay(harness: Harness) -> None:
    run = harness.run(DEMO, "--mode", "replay")

    assert run.exit_code == 0, run.describe()
    assert run.dir.parent == harness.out / "demo"

    summary = run.summary()
    aggregates = summary["aggregates"]
    assert aggregates["cases_total"] == 6
    assert aggregates["cases_pass"] == 6
    assert aggregates["cases_fail"] == 0
    assert aggregates["cases_error"] == 0
    assert aggregates["pass_rate"] == 1.0
    rows = {row["id"]: row for row in summary["cases"]}
    assert set(rows) == DEMO_CASES
    for case_id, row in rows.items():
        assert row["status"] == "pass", row
        assert row["tool_calls"] == DEMO_TOOL_CALLS[case_id]
        assert row["failure_reason"] is None
        assert not row["failed_assertions"]
        assert isinstance(row["wall_ms"], int)
    assert rows["unknown_customer_refund"]["tool_errors"] == 1

    results = run.results()
    assert sorted(result["case_id"] for result in results) == sorted(DEMO_CASES)
    for result in results:
        assert result["status"] == "pass"
        assert result.get("failures", []) == []
        assert result["exit_code"] == 0

    run_info = run.run_json()
    assert run_info["exit_code"] == 0
    assert "versions" in run_info


def test_demo_trace_has_every_event_kind(harness: Harness) -> None:
    run = harness.run(DEMO, "--case", "double_charge")
    assert run.exit_code == 0, run.describe()

    events = run.events_of("double_charge")
    kinds = [event["type"] for event in events]
    for kind in ("task_start", "tool_call", "tool_result", "log", "final_output", "case_end"):
        assert kind in kinds, kinds
    assert kinds[0] == "task_start"
    assert kinds[-1] == "case_end"
    calls = [event["name"] for event in events if event["type"] == "tool_call"]
    assert calls == ["get_customer", "get_order", "search_kb", "create_ticket"]
    final = next(event for event in events if event["type"] == "final_output")
    assert final["output"]["category"] == "billing"
    assert final["output"]["ticket_id"] == "TCK-5001"
    # The suite's normalization rule replaced the agent's clock reading.
    assert final["output"]["handled_at"] == "<timestamp>"


def test_case_normalization_adds_to_the_suites(harness: Harness) -> None:
    run = harness.run(DEMO, "--case", "enterprise_outage")
    assert run.exit_code == 0, run.describe()

    (final,) = run.events_of("enterprise_outage", "final_output")
    assert final["output"]["ticket_id"] == "TCK-<id>"  # the case's replace_text
    assert "ticket TCK-<id>." in final["output"]["reply"]
    assert final["output"]["handled_at"] == "<timestamp>"  # the suite's replace_paths


def test_console_script_runs_too(harness: Harness) -> None:
    run = harness.run(DEMO, "--case", "sso_question", script=True)

    assert run.exit_code == 0, run.describe()
    assert [result["case_id"] for result in run.results()] == ["sso_question"]


def test_unwritable_output_dir_is_an_infrastructure_error(harness: Harness, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output directory should go")

    run = harness.run(DEMO, "--output-dir", str(blocker / "out"), output_dir=False)

    assert run.exit_code == 3, run.describe()
    assert "Traceback" not in run.stderr
    assert run.stderr.strip()


def test_junit_of_a_passing_run(harness: Harness) -> None:
    run = harness.run(DEMO, "--case", "password_reset", "--case", "sso_question")
    assert run.exit_code == 0, run.describe()

    testcases = run.junit().findall(".//testcase")
    assert sorted(case.get("name") or "" for case in testcases) == [
        "password_reset",
        "sso_question",
    ]
    for case in testcases:
        assert case.find("failure") is None
        assert case.find("error") is None


def test_case_flag_selects_cases(harness: Harness) -> None:
    run = harness.run(DEMO, "--case", "sso_question", "--case", "where_is_my_order")

    assert run.exit_code == 0, run.describe()
    assert {result["case_id"] for result in run.results()} == {"sso_question", "where_is_my_order"}
    assert run.summary()["aggregates"]["cases_total"] == 2


def test_unknown_case_id_is_a_usage_error(harness: Harness) -> None:
    run = harness.run(DEMO, "--case", "no_such_case")

    assert run.exit_code == 2, run.describe()
    assert "no_such_case" in run.stderr
    assert harness.run_dirs() == []


def test_unknown_mode_is_a_usage_error(harness: Harness) -> None:
    run = harness.run(DEMO, "--mode", "replya")

    assert run.exit_code == 2, run.describe()
    assert "replya" in run.stderr
    assert harness.run_dirs() == []


def test_bad_config_exits_2_with_file_and_line(harness: Harness, tmp_path: Path) -> None:
    suite = write_suite(
        tmp_path / "broken",
        {"suite_name": "broken", "agent_command": script_agent_command()},
        [{"id": "fine", "input": {"steps": [{"final": {"ok": True}}]}}],
    )
    (suite / "cases" / "bad_budget.yaml").write_text(
        "id: bad_budget\ninput: {steps: []}\nbudgets:\n  max_wall_ms: 1000\n  max_tool_calls: ten\n"
    )
    (suite / "cases" / "typo.yaml").write_text("id: typo\ninput: {steps: []}\nasertions: []\n")

    run = harness.run(suite)

    assert run.exit_code == 2, run.describe()
    problems = [line for line in run.stderr.splitlines() if ".yaml:" in line]
    assert len(problems) == 2, run.stderr
    assert any(
        re.search(r"bad_budget\.yaml:5: budgets\.max_tool_calls: ", line) for line in problems
    ), run.stderr
    assert any(re.search(r"typo\.yaml:3: .*asertions", line) for line in problems), run.stderr
    assert "Traceback" not in run.stderr
    assert "Run directory" not in run.stdout
    assert harness.run_dirs() == []


def test_case_without_tool_calls_needs_no_cassette(harness: Harness, tmp_path: Path) -> None:
    # One that names a cassette needs the file in replay, tool calls or not: that is a config
    # error at load (tests/e2e/test_validate.py).
    steps = [{"final": {"answer": "no tools needed"}}]
    suite = write_suite(
        tmp_path / "no_tools",
        {"suite_name": "no_tools", "agent_command": script_agent_command()},
        [{"id": "no_cassette_key", "input": {"steps": steps}}],
    )

    run = harness.run(suite)

    assert run.exit_code == 0, run.describe()
    assert {row["case_id"]: row["status"] for row in run.results()} == {"no_cassette_key": "pass"}


def test_line_separators_in_a_recorded_result_survive(harness: Harness, tmp_path: Path) -> None:
    # U+2028/U+2029/U+0085 are line breaks to str.splitlines() but not to JSON: a runner that
    # splits on them corrupts the cassette or the message (RunLedger did).
    text = "one\u2028two\u2029three\u0085four"
    result = {"text": text}
    suite = write_suite(
        tmp_path / "unicode",
        {
            "suite_name": "unicode",
            "agent_command": script_agent_command(),
            "tool_registry": ["fetch_note"],
        },
        [
            {
                "id": "separators",
                "cassette": "cassette.jsonl",
                "input": {
                    "steps": [
                        {"call": "fetch_note", "args": {"id": 1}, "expect_result": result},
                        {"final_from_results": True},
                    ]
                },
            }
        ],
        {"cassette.jsonl": [interaction("fetch_note", {"id": 1}, result)]},
    )
    cassette = suite / "cassette.jsonl"
    assert "\u2028".encode() in cassette.read_bytes()  # raw, not escaped
    before = cassette.read_bytes()

    run = harness.run(suite)

    assert run.exit_code == 0, run.describe()
    finals = run.events_of("separators", "final_output")
    assert len(finals) == 1
    assert finals[0]["output"] == {"results": [result], "errors": []}
    assert cassette.read_bytes() == before


def test_output_dir_defaults(harness: Harness, tmp_path: Path) -> None:
    case = {"id": "only", "input": {"steps": [{"final": {"ok": True}}]}}
    plain = write_suite(
        tmp_path / "plain", {"suite_name": "plain", "agent_command": script_agent_command()}, [case]
    )
    configured = write_suite(
        tmp_path / "configured",
        {
            "suite_name": "configured",
            "agent_command": script_agent_command(),
            "output_dir": "results",
        },
        [case],
    )

    first = harness.run(plain, output_dir=False)
    second = harness.run(configured, output_dir=False)

    assert first.exit_code == 0, first.describe()
    assert first.dir.parent.resolve() == (tmp_path / "harness_out" / "plain").resolve()
    assert second.exit_code == 0, second.describe()
    assert second.dir.parent.resolve() == (configured / "results" / "configured").resolve()


def test_agent_runs_in_the_invokers_cwd(harness: Harness, tmp_path: Path) -> None:
    marker_file = "cwd-probe.txt"
    (tmp_path / marker_file).write_text("here")
    # The agent reads a relative path: it only exists in the invoker's cwd (tmp_path).
    suite = write_suite(
        tmp_path / "cwd_suite",
        {
            "suite_name": "cwd_suite",
            "agent_command": [
                "python3",
                "-c",
                "import json, os, sys; sys.stdin.readline(); "
                f"print(json.dumps({{'type': 'final_output', 'output': "
                f"{{'cwd': os.getcwd(), 'probe': os.path.exists({marker_file!r})}}}}))",
            ],
        },
        [{"id": "where", "input": {}}],
    )

    run = harness.run(suite)

    assert run.exit_code == 0, run.describe()
    final = run.events_of("where", "final_output")[0]["output"]
    assert final["probe"] is True
    assert Path(final["cwd"]).resolve() == tmp_path.resolve()


def _interrupt_suite(tmp_path: Path, marker: str) -> Path:
    fast = [{"final": {"speed": "fast"}}]
    slow = [{"log": "sleeping"}, {"sleep": 20}, {"final": {"speed": "slow"}}]
    kinds = ["fast", "fast", "slow", "slow", "slow", "slow"]
    cases = [
        {"id": f"{index}_{kind}", "input": {"steps": fast if kind == "fast" else slow}}
        for index, kind in enumerate(kinds)
    ]
    return write_suite(
        tmp_path / "interrupt",
        {
            "suite_name": "interrupt",
            "agent_command": script_agent_command("--marker", marker),
            "budgets": {"max_idle_ms": 60000, "max_wall_ms": 60000},
        },
        cases,
    )


def _wait_for(condition: Callable[[], object], timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_sigint_exits_130_and_keeps_finished_results(harness: Harness, tmp_path: Path) -> None:
    suite = _interrupt_suite(tmp_path, harness.marker)
    process = harness.popen(suite, "--workers", "2")
    results_path = harness.out / "interrupt"

    def results_lines() -> list[bytes]:
        files = list(results_path.glob("*/results.jsonl"))
        return [line for line in files[0].read_bytes().split(b"\n") if line] if files else []

    try:
        # Two workers: the fast cases finish first, then only slow agents are left running.
        _wait_for(lambda: len(results_lines()) >= 2, 30, "the fast cases' result lines")
        _wait_for(
            lambda: marked_processes(harness.marker, exclude=[process.pid]),
            30,
            "a running slow agent",
        )
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    except BaseException:  # a timeout or a failed wait: never leave the run behind
        process.kill()
        process.communicate()
        raise

    assert process.returncode == 130, f"{stdout}\n{stderr}"
    run_dir = next(results_path.glob("*"))
    results = read_jsonl(run_dir / "results.jsonl")  # every line complete JSON
    assert results, "finished results were not kept"
    passed = {result["case_id"] for result in results if result["status"] == "pass"}
    assert passed == {"0_fast", "1_fast"}, results
    run_info = json.loads((run_dir / "run.json").read_text())
    assert "interrupted" in (run_info.get("status"), run_info.get("reason_code")), run_info
    assert run_info["exit_code"] == 130
    assert surviving_processes(harness.marker) == []


def test_cassette_file_written_by_the_test_is_valid(tmp_path: Path) -> None:
    # Guards the helper the other tests rely on: sorted keys, one object per line.
    path = tmp_path / "c.jsonl"
    write_cassette(path, [interaction("t", {"b": 1, "a": 2}, "x\u2028y")])
    (line,) = read_jsonl(path)
    assert list(line) == ["args", "error", "ok", "result", "tool"]
    assert line["result"] == "x\u2028y"


def test_an_output_that_is_not_an_object_is_the_agents_error(
    harness: Harness, tmp_path: Path
) -> None:
    """RunLedger's rule: final_output.output is a JSON object; a list or a string is the
    agent's error (RunLedger 0.2.3 reports agent_error, status error). `output_type: any` in
    suite.yaml accepts them."""
    cases = [
        {"id": "as_list", "input": {"steps": [{"final": ["a", "b"]}]}},
        {"id": "as_string", "input": {"steps": [{"final": "Paris"}]}},
        {"id": "as_object", "input": {"steps": [{"final": {"answer": "Paris"}}]}},
    ]
    settings = {"suite_name": "shapes", "agent_command": script_agent_command()}
    strict = write_suite(tmp_path / "strict", settings, cases)

    run = harness.run(strict)

    assert run.exit_code == 1, run.describe()
    results = run.results_by_case()
    assert {case: row["status"] for case, row in results.items()} == {
        "as_list": "error", "as_string": "error", "as_object": "pass",
    }  # fmt: skip
    (failure,) = results["as_string"]["failures"]
    assert failure["type"] == "protocol_error"
    assert failure["message"] == (
        "agent stdout line 1: final_output.output must be a JSON object (RunLedger's rule), got a"
        " string; return an object, or set `output_type: any` in suite.yaml to accept any JSON"
        " value"
    )
    loose = write_suite(tmp_path / "loose", {**settings, "output_type": "any"}, cases)
    assert harness.run(loose).exit_code == 0
    bad = write_suite(tmp_path / "bad", {**settings, "output_type": "str"}, cases[:1])
    refused = harness.run(bad)
    assert refused.exit_code == 2
    assert "output_type" in refused.stderr and "any" in refused.stderr


def test_python_placeholder_is_the_interpreter_running_harness(
    harness: Harness, tmp_path: Path
) -> None:
    agent = tmp_path / "which.py"
    agent.write_text(
        "import json, sys\nsys.stdin.readline()\n"
        "print(json.dumps({'type': 'final_output', 'output': {'python': sys.executable}}))\n"
    )
    suite = write_suite(
        tmp_path / "py",
        {"suite_name": "py", "agent_command": ["{python}", str(agent)]},
        [{"id": "which", "input": {}}],
    )
    # As the README writes it: unquoted, which YAML reads as the mapping {python: null}.
    settings = (suite / "suite.yaml").read_text("utf-8").split("agent_command:")[0]
    (suite / "suite.yaml").write_text(f"{settings}agent_command: [{{python}}, {agent}]\n")
    run = harness.run(suite)
    assert run.exit_code == 0, run.describe()
    (final,) = run.events_of("which", "final_output")
    # The interpreter of `python -m harness`: the one that has harness (and its SDK).
    assert Path(final["output"]["python"]).resolve() == Path(sys.executable).resolve()


def test_a_cassette_miss_shows_whole_on_the_console(harness: Harness, tmp_path: Path) -> None:
    """Every nearest call, each diff line ending where an argument or a word ends, and the hint
    to record: nothing cut away by the console's detail budget."""
    city = "Oslo del Norte, a long name that goes on and on beyond the width of an argument"
    recorded = [
        interaction("get_weather", {"city": "Oslo"}, {"rain_mm": 4}),
        interaction("tz", {"city": "Oslo"}, {"tz": "CET"}),
        interaction("get_calendar", {"day": "mon"}, []),
    ]
    steps = [{"call": "get_weather", "args": {"city": city}}, {"final": {}}]
    suite = write_suite(
        tmp_path / "miss",
        {
            "suite_name": "miss",
            "agent_command": script_agent_command(),
            "tool_registry": ["get_weather", "tz", "get_calendar"],
        },
        [{"id": "long", "input": {"steps": steps}, "cassette": "cassettes/long.jsonl"}],
        {"cassettes/long.jsonl": recorded},
    )
    run = harness.run(suite)
    assert run.exit_code == 1, run.describe()
    # The table folds long lines: read its Detail column back as text.
    cells = [line.split("│")[-2].strip() for line in run.stdout.splitlines() if "│" in line]
    detail = " ".join(cells)
    for rank, tool in enumerate(["get_weather", "tz", "get_calendar"], start=1):
        assert re.search(rf"{rank}\. \S*long\.jsonl:{rank}: {tool} ", detail), detail
    assert "--mode record" in detail and "more line(s)" not in detail
    shortened = re.findall(r'got "([^"]*)\.\.\.', detail)
    assert shortened, detail
    for head in shortened:
        assert city.startswith(head) and head.endswith((" ", ",")), head
