"""A POSIX sh agent (no Python in the agent at all) through `harness run`."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli_runs import SHELL_AGENT, Harness
from tests.support.files import interaction, write_suite

WEATHER = {
    "Paris": {"temp_c": 14, "sky": "overcast"},
    "Oslo": {"temp_c": -3, "sky": "snow"},
}


def weather_suite(root: Path, agent_command: list[str]) -> Path:
    cases = [
        {
            "id": f"weather_{city.lower()}",
            "input": {"city": city},
            "cassette": "weather.jsonl",
            "assertions": [
                {"type": "must_call", "tools": ["get_weather"]},
                {"type": "required_fields", "fields": ["city", "ok", "tool_result"]},
            ],
            "budgets": {"max_tool_calls": 1, "max_tool_errors": 0},
        }
        for city in WEATHER
    ]
    entries = [interaction("get_weather", {"city": c}, report) for c, report in WEATHER.items()]
    return write_suite(
        root,
        {"suite_name": "shell", "agent_command": agent_command, "tool_registry": ["get_weather"]},
        cases,
        {"weather.jsonl": entries},
    )


def test_shell_agent_passes(harness: Harness, tmp_path: Path) -> None:
    suite = weather_suite(tmp_path / "shell", ["sh", str(SHELL_AGENT)])

    run = harness.run(suite)

    assert run.exit_code == 0, run.describe()
    assert {result["case_id"]: result["status"] for result in run.results()} == {
        "weather_paris": "pass",
        "weather_oslo": "pass",
    }
    for city, report in WEATHER.items():
        case_id = f"weather_{city.lower()}"
        (final,) = run.events_of(case_id, "final_output")
        assert final["output"]["city"] == city
        assert final["output"]["ok"] is True
        # The agent embeds the tool_result line it received, verbatim.
        assert final["output"]["tool_result"]["result"] == report
        assert f"shell_agent: looking up {city}" in run.stderr_log(case_id).read_text()


def test_executable_script_path_resolves_against_the_suite_dir(
    harness: Harness, tmp_path: Path
) -> None:
    # agent_command[0] is a path relative to the suite dir, run directly via its #! line.
    suite = tmp_path / "shell_direct"
    suite.mkdir()
    local_agent = suite / "agent.sh"
    local_agent.write_bytes(SHELL_AGENT.read_bytes())
    local_agent.chmod(0o755)
    weather_suite(suite, ["./agent.sh"])

    run = harness.run(suite, "--case", "weather_oslo")

    assert run.exit_code == 0, run.describe()
    (result,) = run.results()
    assert result["case_id"] == "weather_oslo"
    assert result["status"] == "pass"
