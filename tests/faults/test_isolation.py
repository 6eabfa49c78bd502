"""What an agent is given: the environment (inherited minus the tools' credentials, an
`agent_env_allow` list, or `--clean-env`), and no path out of the suite directory for its
cassettes and schemas. See docs/security.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.cli_runs import HOSTILE, Harness, started
from tests.support.files import write_suite

TOKEN = "tool-credential-value-1234"


def env_suite(harness: Harness, **settings: Any) -> Path:
    return write_suite(
        harness.cwd / "suite",
        {
            "suite_name": "env",
            "agent_command": ["python3", str(HOSTILE), "--marker", harness.marker],
            "tool_registry": ["crm"],
            "tools": {
                "crm": {
                    "backend": "http",
                    "url": "http://127.0.0.1:9/crm",
                    "headers_env": {"Authorization": "Bearer ${ACME_CRM_TOKEN}"},
                }
            },
            **settings,
        },
        [{"id": "env", "input": {"fault": "env"}}],
    )


def agent_env(harness: Harness, suite: Path, *args: str) -> dict[str, str]:
    run = harness.run(suite, *args)
    assert run.exit_code == 0, run.describe()
    [event] = [e for e in run.events() if e["type"] == "final_output"]
    env: dict[str, str] = event["output"]["env"]
    return env


def test_agent_inherits_the_environment_but_not_the_tools_credentials(tmp_path: Path) -> None:
    with started(tmp_path) as harness:
        harness.env.update(ACME_CRM_TOKEN=TOKEN, PLAIN_SETTING="plain")
        env = agent_env(harness, env_suite(harness, agent_env={"EXTRA": "x"}))
        assert env["PLAIN_SETTING"] == "plain"
        assert env["EXTRA"] == "x"
        assert "ACME_CRM_TOKEN" not in env
        assert TOKEN not in repr(env)


def test_clean_env_and_allowlist(tmp_path: Path) -> None:
    with started(tmp_path) as harness:
        harness.env.update(ACME_CRM_TOKEN=TOKEN, PLAIN_SETTING="plain")
        env = agent_env(harness, env_suite(harness), "--clean-env")
        assert "PLAIN_SETTING" not in env and "ACME_CRM_TOKEN" not in env
        assert env["PATH"] == harness.env["PATH"]
        assert env["HOME"] == harness.env["HOME"]

        suite = env_suite(harness, agent_env_allow=["PATH", "PLAIN_SETTING"])
        for args in ((), ("--clean-env",)):
            env = agent_env(harness, suite, *args)
            # Python itself may add LC_CTYPE when it coerces the C locale.
            assert set(env) - {"LC_CTYPE"} == {"PATH", "PLAIN_SETTING"}, env


def test_cassette_and_schema_paths_cannot_leave_the_project(tmp_path: Path) -> None:
    """Outside a git repository the project is the suite folder; a path that leads out of
    it, by `..`, an absolute path or a symlink, is a one-line error, exit 2."""
    with started(tmp_path / "project") as harness:
        harness.cwd.mkdir(parents=True, exist_ok=True)
        outside_file = tmp_path / "elsewhere.jsonl"
        outside_file.write_text("{}\n")
        suite = env_suite(harness)
        (suite / "cassettes").mkdir()
        (suite / "cassettes" / "link.jsonl").symlink_to(outside_file)
        (suite / "shared.jsonl").write_text("")
        attempts = {
            "../../elsewhere.jsonl": ("cassette", str(outside_file)),
            str(outside_file): ("cassette", str(outside_file)),
            "cassettes/link.jsonl": ("cassette", str(suite / "cassettes" / "link.jsonl")),
        }
        case_file = suite / "cases" / "env.yaml"
        for cassette, (kind, shown) in attempts.items():
            case_file.write_text(f"id: env\ninput: {{fault: env}}\ncassette: {cassette}\n")
            run = harness.run(suite)
            assert run.exit_code == 2, run.describe()
            [line] = run.stderr.strip().splitlines()
            assert f"{kind} {shown} is outside the suite's project" in line, line
            assert "env.yaml:3" in line, line
        # Up, but still inside the project: allowed (RunLedger suites share ../../cassettes).
        case_file.write_text("id: env\ninput: {fault: env}\ncassette: ../suite/shared.jsonl\n")
        assert harness.run(suite).exit_code == 0
        schema = "assertions: [{type: json_schema, schema_path: /etc/hostname}]\n"
        case_file.write_text("id: env\ninput: {fault: env}\n" + schema)
        run = harness.run(suite)
        assert run.exit_code == 2, run.describe()
        assert "schema /etc/hostname is outside the suite's project" in run.stderr
