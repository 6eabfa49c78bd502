"""Record, auto and live modes end to end: real agents, real live tools, then replay."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_runs import Harness
from tests.support.record_suites import (
    call,
    case,
    entries,
    final_outputs,
    live_calls,
    live_suite,
    write_legacy_cassette,
)

PYTHON_TOOLS = {
    "weather": {"backend": "python", "function": "tools:weather"},
    "forecast": {"backend": "python", "function": "tools:forecast", "timeout_ms": 5000},
    # {python}: the interpreter running harness
    "add": {"backend": "command", "command": ["{python}", "command_tool.py"]},
}


def test_python_and_command_tools_record_then_replay(harness: Harness, tmp_path: Path) -> None:
    suite = live_suite(
        tmp_path / "py",
        list(PYTHON_TOOLS),
        PYTHON_TOOLS,
        [
            case(
                "trip",
                [
                    call("weather", city="Paris"),
                    call("forecast", city="Oslo", days=2),
                    call("add", numbers=[1, 2, 3]),
                    call("add", fail="widget"),
                ],
            )
        ],
    )
    recorded = harness.run(suite, "--mode", "record")
    assert recorded.exit_code == 0, recorded.describe()
    lines = entries(suite / "cassettes" / "trip.jsonl")
    assert [(e["tool"], e["ok"]) for e in lines] == [
        ("weather", True),
        ("forecast", True),
        ("add", True),
        ("add", False),
    ]
    assert lines[2]["result"] == {"tool": "add", "sum": 6}
    assert "exited with status 2: no such thing: widget" in lines[3]["error"]
    assert json.loads((suite / "cassettes" / "trip.jsonl").read_text().split("\n")[0]) == {
        **json.loads((suite / "cassettes" / "trip.jsonl").read_text().split("\n")[0]),
        "format_version": 1,
        "backend": "command,python",
    }
    assert len(live_calls(suite)) == 2

    replayed = harness.run(suite)
    assert replayed.exit_code == 0, replayed.describe()
    assert len(live_calls(suite)) == 2  # replay never runs a live tool
    # The agent saw exactly the same answers in both runs.
    assert final_outputs(replayed.events()) == final_outputs(recorded.events())


class _Api(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = {"q": body["args"]["q"], "hits": 3, "seen_auth": self.headers["Authorization"]}
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def api_url() -> Iterator[tuple[str, ThreadingHTTPServer]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/search", server
    server.shutdown()
    server.server_close()


def test_http_tool_records_with_env_headers_and_replays_without_the_server(
    harness: Harness, tmp_path: Path, api_url: tuple[str, ThreadingHTTPServer]
) -> None:
    url, server = api_url
    token = "Zq8wX1vB7nM2kL5p"
    harness.env["SEARCH_API_TOKEN"] = token
    tools = {
        "search": {
            "backend": "http",
            "url": url,
            "headers_env": {"Authorization": "Bearer ${SEARCH_API_TOKEN}"},
        }
    }
    suite = live_suite(
        tmp_path / "http", ["search"], tools, [case("find", [call("search", q="shoes")])]
    )
    recorded = harness.run(suite, "--mode", "record")
    assert recorded.exit_code == 0, recorded.describe()
    [entry] = entries(suite / "cassettes" / "find.jsonl")
    assert entry["result"]["q"] == "shoes" and entry["result"]["hits"] == 3
    # The server echoed the header: the token is redacted, the scheme kept.
    assert entry["result"]["seen_auth"].startswith("Bearer [REDACTED:")
    assert token not in (suite / "cassettes" / "find.jsonl").read_text()

    server.shutdown()
    replayed = harness.run(suite)
    assert replayed.exit_code == 0, replayed.describe()
    assert final_outputs(replayed.events()) == final_outputs(recorded.events())


def _unshare_allowed() -> bool:
    try:
        done = subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def test_mcp_time_server_records_then_replays_with_the_network_cut(
    harness: Harness, tmp_path: Path
) -> None:
    server = Path(sys.executable).with_name("mcp-server-time")
    if not server.exists():
        pytest.skip("mcp-server-time is not installed (pip install -e '.[dev]')")
    tools = {
        "convert_time": {"backend": "mcp", "server": "time"},
        "now": {"backend": "mcp", "server": "time", "name": "get_current_time"},
    }
    cases = [
        case(
            "tokyo",
            [
                call(
                    "convert_time",
                    source_timezone="UTC",
                    time="12:00",
                    target_timezone="Asia/Tokyo",
                ),
                call("now", timezone="Not/AZone"),
            ],
        ),
        case(
            "oslo",
            [
                call(
                    "convert_time",
                    source_timezone="UTC",
                    time="08:30",
                    target_timezone="Europe/Oslo",
                )
            ],
        ),
    ]
    suite = live_suite(
        tmp_path / "mcp",
        ["convert_time", "now"],
        tools,
        cases,
        mcp_servers={"time": {"command": [str(server), "--local-timezone", "UTC"]}},
    )
    recorded = harness.run(suite, "--mode", "record")
    assert recorded.exit_code == 0, recorded.describe()
    tokyo = entries(suite / "cassettes" / "tokyo.jsonl")
    assert tokyo[0]["result"]["target"]["datetime"].endswith("T21:00:00+09:00")
    assert tokyo[1]["ok"] is False and "Not/AZone" in tokyo[1]["error"]
    # The server's stderr (it logs the failed call) is kept, redacted, in the run directory.
    assert "Not/AZone" in (recorded.dir / "tools" / "mcp-time.stderr.log").read_text()

    replayed = harness.run(suite)
    assert replayed.exit_code == 0, replayed.describe()
    if not _unshare_allowed():
        pytest.skip("unshare -rn is not permitted here; replayed with the network up only")
    argv = ["unshare", "-rn", *harness.argv(suite)]
    cut = subprocess.run(argv, cwd=harness.cwd, env=harness.env, capture_output=True, text=True)
    assert cut.returncode == 0, cut.stdout + cut.stderr


def test_mcp_server_without_the_tool_is_a_config_error(harness: Harness, tmp_path: Path) -> None:
    server = Path(sys.executable).with_name("mcp-server-time")
    if not server.exists():
        pytest.skip("mcp-server-time is not installed")
    suite = live_suite(
        tmp_path / "mcp_bad",
        ["get_weather"],
        {"get_weather": {"backend": "mcp", "server": "time"}},
        [case("c", [call("get_weather")])],
        mcp_servers={"time": {"command": [str(server)]}},
    )
    run = harness.run(suite, "--mode", "record")
    assert run.exit_code == 2, run.describe()
    assert "tools.get_weather: MCP server 'time' has no tool 'get_weather'; it offers" in run.stderr


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT])
def test_killed_recording_leaves_each_cassette_old_or_complete(
    harness: Harness, tmp_path: Path, signum: int
) -> None:
    cases = [case(f"c{i}", [call("slow", n=i), call("slow", n=i + 1)]) for i in range(6)]
    suite = live_suite(
        tmp_path / "kill",
        ["slow"],
        {"slow": {"backend": "python", "function": "tools:slow"}},
        cases,
    )
    old = {
        f"c{i}": write_legacy_cassette(suite / "cassettes" / f"c{i}.jsonl", "old", {}, i)
        for i in range(6)
    }
    process = harness.popen(suite, "--mode", "record", "--workers", "2")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        changed = [
            c
            for c, data in old.items()
            if (suite / "cassettes" / f"{c}.jsonl").read_bytes() != data
        ]
        if changed:
            break
        time.sleep(0.02)
    process.send_signal(signum)
    process.communicate(timeout=30)
    if signum == signal.SIGINT:
        assert process.returncode == 130
    kept = written = 0
    for case_id, data in old.items():
        now = (suite / "cassettes" / f"{case_id}.jsonl").read_bytes()
        if now == data:
            kept += 1
            continue
        n = int(case_id[1:])
        lines = entries(suite / "cassettes" / f"{case_id}.jsonl")
        assert [e["args"] for e in lines] == [{"n": n}, {"n": n + 1}], case_id
        written += 1
    assert written >= 1 and kept >= 1, (written, kept)


def test_secrets_never_reach_the_run_directory_or_cassettes(
    harness: Harness, tmp_path: Path
) -> None:
    token, plain = "acme-Tk-93f0a7c2e51b", "P1ain-Setting-Value"
    harness.env.update(ACME_API_TOKEN=token, PLAIN_SETTING=plain)
    openai = "sk-" + "Z" * 24
    tools = {
        "secrets": {"backend": "python", "function": "tools:secrets"},
        "weather": {"backend": "python", "function": "tools:weather"},
    }
    steps = [
        call("secrets"),
        call("weather", city=f"Paris {token}"),  # the agent leaks it into an argument
        {"stderr": f"debug: token={token} plain={plain}"},
        {"log": f"using {plain}"},
    ]
    suite = live_suite(
        tmp_path / "sec",
        ["secrets", "weather"],
        tools,
        [case("leaky", steps)],
        redact={"env": ["PLAIN_SETTING"]},
    )
    recorded = harness.run(suite, "--mode", "record")
    assert recorded.exit_code == 0, recorded.describe()
    replayed = harness.run(suite)
    assert replayed.exit_code == 0, replayed.describe()  # redacted args still match
    assert final_outputs(replayed.events()) == final_outputs(recorded.events())
    written = [
        p for p in (*harness.out.rglob("*"), *(suite / "cassettes").rglob("*")) if p.is_file()
    ]
    assert any(p.name == "stderr.log" for p in written)
    for path in written:
        data = path.read_bytes()
        for secret in (token, plain, openai):
            assert secret.encode() not in data, f"{secret} in {path}"
    assert "[REDACTED:" in recorded.stderr_log("leaky").read_text()


def test_cases_sharing_a_cassette_are_merged_by_case(harness: Harness, tmp_path: Path) -> None:
    shared = "cassettes/shared.jsonl"
    cases = [
        case("a", [call("lookup", key="ping"), call("lookup", key="alpha")], cassette=shared),
        case("b", [call("lookup", key="ping"), call("lookup", key="beta")], cassette=shared),
    ]
    suite = live_suite(
        tmp_path / "shared",
        ["lookup"],
        {"lookup": {"backend": "python", "function": "tools:lookup"}},
        cases,
    )
    run = harness.run(suite, "--mode", "record", "--workers", "2")
    assert run.exit_code == 0, run.describe()
    lines = entries(suite / shared)
    assert sorted((e["case"], e["args"]["key"]) for e in lines) == [
        ("a", "alpha"),
        ("a", "ping"),
        ("b", "beta"),
        ("b", "ping"),
    ]
    b_before = [e for e in lines if e["case"] == "b"]
    again = harness.run(suite, "--mode", "record", "--case", "a")
    assert again.exit_code == 0, again.describe()
    assert [e for e in entries(suite / shared) if e["case"] == "b"] == b_before
    assert harness.run(suite).exit_code == 0


def test_auto_records_only_what_is_missing(harness: Harness, tmp_path: Path) -> None:
    tools = {"lookup": {"backend": "python", "function": "tools:lookup"}}
    suite = live_suite(
        tmp_path / "auto", ["lookup"], tools, [case("c", [call("lookup", key="one")])]
    )
    assert harness.run(suite, "--mode", "record").exit_code == 0
    live_suite(
        suite,
        ["lookup"],
        tools,
        [case("c", [call("lookup", key="one"), call("lookup", key="two")])],
    )
    (suite / "live_calls.jsonl").unlink()
    auto = harness.run(suite, "--mode", "auto")
    assert auto.exit_code == 0, auto.describe()
    assert [c["args"]["key"] for c in live_calls(suite)] == ["two"]
    assert [e["args"]["key"] for e in entries(suite / "cassettes" / "c.jsonl")] == ["one", "two"]
    before = (suite / "cassettes" / "c.jsonl").read_bytes()
    assert harness.run(suite, "--mode", "auto").exit_code == 0
    assert (suite / "cassettes" / "c.jsonl").read_bytes() == before  # nothing new: untouched
    assert harness.run(suite).exit_code == 0


def test_live_mode_writes_no_cassette(harness: Harness, tmp_path: Path) -> None:
    tools = {"lookup": {"backend": "python", "function": "tools:lookup"}}
    suite = live_suite(tmp_path / "live", ["lookup"], tools, [case("c", [call("lookup", key="k")])])
    run = harness.run(suite, "--mode", "live")
    assert run.exit_code == 0, run.describe()
    assert not (suite / "cassettes" / "c.jsonl").exists()
    assert final_outputs(run.events())["c"]["results"] == [{"key": "k", "value": "K"}]


def _down_suite(root: Path) -> Path:
    """One case calling `down`, a tool that refuses every connection (2 tries), no retries."""
    tools = {
        "down": {
            "backend": "python",
            "function": "tools:unreachable",
            "retry": {"attempts": 2, "initial_backoff_ms": 1, "max_backoff_ms": 2},
        }
    }
    return live_suite(root, ["down"], tools, [case("c", [call("down")])], retry={"max_retries": 0})


def test_unreachable_tool_is_an_error_answer_and_keeps_the_old_cassette(
    harness: Harness, tmp_path: Path
) -> None:
    suite = _down_suite(tmp_path / "down")
    old = write_legacy_cassette(suite / "cassettes" / "c.jsonl", "down", {}, "old")
    run = harness.run(suite, "--mode", "record")
    assert run.exit_code == 3, run.describe()  # the trial is lost, not failed: infrastructure
    [result] = run.results()
    assert result["failures"][0]["type"] == "tool_transient_error"
    assert "left as it was" in result["failures"][0]["message"]
    assert (suite / "cassettes" / "c.jsonl").read_bytes() == old
    errors = final_outputs(run.events())["c"]["errors"]
    assert "unavailable after 2 tries: ConnectionError: connection refused" in errors[0]


def test_an_unreachable_tool_in_live_mode_is_an_infrastructure_error(
    harness: Harness, tmp_path: Path
) -> None:
    """Nothing is written in live mode, yet the attempt measured an outage, not the agent."""
    suite = _down_suite(tmp_path / "live-down")
    run = harness.run(suite, "--mode", "live")
    assert run.exit_code == 3, run.describe()
    assert run.run_json()["reason_code"] == "trials_lost"
    [result] = run.results()
    assert result["outcome"] == "infra_error", result
    [failure] = result["failures"]
    assert failure["type"] == "tool_transient_error"
    assert "a live tool could not be reached: " in failure["message"]
    assert "unavailable after 2 tries: ConnectionError: connection refused" in failure["message"]
    assert not (suite / "cassettes" / "c.jsonl").exists()


def test_a_tool_without_backend_and_a_bad_mode_are_config_errors(
    harness: Harness, tmp_path: Path
) -> None:
    suite = live_suite(
        tmp_path / "cfg",
        ["lookup", "ghost"],
        {"lookup": {"backend": "python", "function": "tools:lookup"}},
        [case("c", [])],
    )
    run = harness.run(suite, "--mode", "record")
    assert run.exit_code == 2, run.describe()
    assert "suite.yaml:" in run.stderr and "tool_registry: no live backend for ghost" in run.stderr
    assert run.run_dir is None and not harness.out.exists()
    bad = harness.run(suite, "--mode", "recrod")
    assert bad.exit_code == 2
    assert "valid modes: replay, record, auto, live" in bad.stderr


def test_runledger_tool_module_is_imported_from_the_suite_folder(
    harness: Harness, tmp_path: Path
) -> None:
    suite = live_suite(
        tmp_path / "rl" / "suite",
        ["lookup", "weather"],
        {"weather": {"backend": "python", "function": "tools:weather"}},
        [case("c", [call("lookup", key="k"), call("weather", city="Rome")])],
        tool_module="rl_tools",
    )
    (suite / "rl_tools.py").write_text(
        "class Lookup:\n"
        "    def call(self, args):\n"
        "        return {'found': args['key']}\n"
        "TOOLS = {'lookup': Lookup(), 'weather': lambda args: 'never used'}\n",
        encoding="utf-8",
    )
    run = harness.run(suite, "--mode", "record")  # the cwd is not the suite folder
    assert run.exit_code == 0, run.describe()
    lookup, weather = entries(suite / "cassettes" / "c.jsonl")
    assert lookup["result"] == {"found": "k"}
    assert weather["result"] == {"city": "Rome", "temp_c": 12}  # `tools:` wins over TOOLS


def test_live_tools_own_stderr_is_prefixed_on_the_console(harness: Harness, tmp_path: Path) -> None:
    suite = live_suite(
        tmp_path / "noisy",
        ["noisy", "quiet_async", "shout"],
        {
            "noisy": {"backend": "python", "function": "noise:noisy"},
            "quiet_async": {"backend": "python", "function": "noise:quiet_async"},
            "shout": {"backend": "command", "command": ["sh", "shout.sh"]},
        },
        [
            case(
                "t1",
                [
                    call("noisy", city="Oslo"),
                    call("quiet_async", city="Rome"),
                    call("shout", city="Lima"),
                ],
            )
        ],
        redact={"env": ["NOISE_TOKEN"]},
    )
    harness.env["NOISE_TOKEN"] = "tok-5f1e9a7c"
    (suite / "noise.py").write_text(
        "import os, sys\n"
        "def noisy(city):\n"
        "    print('looking up', city, file=sys.stderr)\n"
        "    print('key:', os.environ['NOISE_TOKEN'], file=sys.stderr)\n"
        "    sys.stderr.write('two ')\n"
        "    sys.stderr.write('parts\\n')\n"
        "    return {'city': city}\n"
        "async def quiet_async(city):\n"
        "    print('async', city, file=sys.stderr)\n"
        "    return {'city': city}\n",
        encoding="utf-8",
    )
    # A command tool in shell: its stderr, an escape sequence in it, shown once it ends.
    (suite / "shout.sh").write_text(
        "read -r request\n"
        "printf 'asked: %s\\n\\033[2Jcleared\\n' \"$request\" >&2\n"
        "echo '{\"loud\": true}'\n",
        encoding="utf-8",
    )
    run = harness.run(suite, "--mode", "record")
    assert run.exit_code == 0, run.describe()
    lines = run.stderr.splitlines()
    assert "[tool noisy] looking up Oslo" in lines
    assert "[tool noisy] two parts" in lines
    assert "[tool quiet_async] async Rome" in lines
    assert '[tool shout] asked: {"tool": "shout", "args": {"city": "Lima"}}' in lines
    assert "[tool shout] \ufffd[2Jcleared" in lines  # never sent to the terminal
    assert "[tool noisy] key: " in run.stderr and "tok-5f1e9a7c" not in run.stderr  # redacted
    assert "\x1b" not in run.stderr
    assert not any(line.startswith("[tool") for line in run.stdout.splitlines())
