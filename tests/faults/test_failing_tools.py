"""Live tools that misbehave while recording: an exception, a hang past the timeout, a huge
result, a command that prints something other than JSON, an HTTP tool answering 500 or 429.
Each is retried when it may be transient (with backoff), then answered to the agent as a tool
error or failed as infrastructure, precisely; the run goes on and nothing crashes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.support.cli_runs import started
from tests.support.record_suites import call, case, live_suite

TOOLS = """
import time

def boom():
    raise ValueError("the database is on fire")

def hang():
    time.sleep(30)

def huge():
    return {"blob": "x" * (8 << 20)}
"""
NOT_JSON = "print('hello, not json')\n"


class _Status(BaseHTTPRequestHandler):
    seen: ClassVar[dict[str, int]] = {}

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Status.seen[self.path] = _Status.seen.get(self.path, 0) + 1
        self.send_response(int(self.path.strip("/")))
        self.end_headers()
        self.wfile.write(b"busy")

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def status_server() -> Iterator[str]:
    _Status.seen = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_failing_live_tools_end_precisely(tmp_path: Path, status_server: str) -> None:
    fast = {"attempts": 3, "initial_backoff_ms": 20, "max_backoff_ms": 50}
    tools: dict[str, Any] = {
        "boom": {"backend": "python", "function": "faulty:boom"},
        "hang": {
            "backend": "python",
            "function": "faulty:hang",
            "timeout_ms": 300,
            "retry": {"attempts": 2, "initial_backoff_ms": 20},
        },
        "huge": {"backend": "python", "function": "faulty:huge"},
        "notjson": {"backend": "command", "command": ["python3", "not_json.py"]},
        "http500": {"backend": "http", "url": f"{status_server}/500", "retry": fast},
        "http429": {"backend": "http", "url": f"{status_server}/429", "retry": fast},
    }
    with started(tmp_path) as harness:
        suite = live_suite(
            harness.cwd / "tools",
            list(tools),
            tools,
            [case(name, [call(name)]) for name in tools],
            budgets={"max_wall_ms": 20000},
        )
        (suite / "faulty.py").write_text(TOOLS)
        (suite / "not_json.py").write_text(NOT_JSON)
        run = harness.run(suite, "--mode", "record", "--max-retries", "0", timeout_seconds=90)
        assert "Traceback" not in run.stderr, run.describe()
        results = run.results_by_case()
        assert set(results) == set(tools), run.describe()
        outputs = {e["case_id"]: e["output"] for e in run.events() if e["type"] == "final_output"}
        # A tool that fails for good is an error answer the agent sees; the attempt goes on.
        for name, said in (
            ("boom", "ValueError: the database is on fire"),
            ("notjson", "printed something that is not JSON on stdout: 'hello, not json'"),
        ):
            assert results[name]["status"] == "pass", results[name]
            [error] = outputs[name]["errors"]
            assert said in error, error
        assert len(outputs["huge"]["results"][0]["blob"]) == 8 << 20
        # A tool that may come back is retried with backoff, then the attempt is an
        # infrastructure error (retried by --max-retries) and its cassette is left as it was.
        for name, said in (
            ("hang", "unavailable after 2 tries: no answer within 0.3 s (timeout_ms)"),
            ("http500", "unavailable after 3 tries: HTTP 500: busy"),
            ("http429", "unavailable after 3 tries: HTTP 429: busy"),
        ):
            [failure] = results[name]["failures"]
            assert results[name]["outcome"] == "infra_error", results[name]
            assert failure["type"] == "tool_transient_error", failure
            assert said in failure["message"], failure
            assert not (suite / "cassettes" / f"{name}.jsonl").exists()
        assert _Status.seen == {"/500": 3, "/429": 3}
