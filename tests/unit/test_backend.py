"""Live tool backends and the policy around them: timeouts, retries, errors as answers."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from harness.config.schema import ToolRetry
from harness.tools.backend import LiveTool, ToolFailure, TransientToolError
from harness.tools.command import CommandBackend
from harness.tools.fake import FakeBackend
from harness.tools.python import PythonBackend, import_suite_module, load_function

FAST_RETRY = ToolRetry(attempts=3, initial_backoff_ms=1, max_backoff_ms=5)


async def test_transient_failures_are_retried_then_answered() -> None:
    fake = FakeBackend({"weather": {"temp": 21}})
    fake.fail_next("weather", TransientToolError("HTTP 503"), times=2)
    answer = await LiveTool("weather", fake, retry=FAST_RETRY).call({"city": "Paris"})
    assert (answer.ok, answer.result, answer.tries) == (True, {"temp": 21}, 3)
    assert len(fake.calls) == 3


async def test_a_tool_that_stays_unreachable_is_an_error_answer_not_a_crash() -> None:
    fake = FakeBackend()
    fake.fail_next("weather", TransientToolError("connection refused"), times=5)
    answer = await LiveTool("weather", fake, retry=FAST_RETRY).call({})
    assert not answer.ok and answer.unavailable and answer.tries == 3
    assert answer.error is not None and "after 3 tries: connection refused" in answer.error


async def test_a_tool_error_is_recorded_and_never_retried() -> None:
    fake = FakeBackend()
    fake.fail_next("lookup", ToolFailure("no such customer"), times=5)
    answer = await LiveTool("lookup", fake, retry=FAST_RETRY).call({})
    assert (answer.ok, answer.error, answer.unavailable, answer.tries) == (
        False,
        "no such customer",
        False,
        1,
    )


async def test_a_backend_bug_becomes_a_tool_error() -> None:
    fake = FakeBackend()
    fake.fail_next("lookup", KeyError("oops"))
    answer = await LiveTool("lookup", fake, retry=FAST_RETRY).call({})
    assert not answer.ok and answer.error == "KeyError: 'oops'"


async def test_each_try_has_its_own_timeout() -> None:
    fake = FakeBackend({"slow": 1}, delay=5)
    tool = LiveTool("slow", fake, timeout_ms=20, retry=ToolRetry(attempts=2, initial_backoff_ms=1))
    answer = await tool.call({})
    assert answer.unavailable and answer.tries == 2
    assert answer.error is not None and "no answer within 0.02 s" in answer.error


# Python ---------------------------------------------------------------------------------------


def _tools_module(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mytools.py").write_text(body, encoding="utf-8")
    return folder


async def test_python_functions_sync_and_async_get_keyword_args(tmp_path: Path) -> None:
    suite = _tools_module(
        tmp_path,
        "async def add(a, b):\n    return a + b\n\ndef neg(x):\n    return -x\n"
        "def boom(**_):\n    raise ValueError('bad city')\n"
        "def flaky(**_):\n    raise ConnectionError('reset')\n",
    )
    add = PythonBackend(load_function("mytools:add", suite))
    assert add.is_async and await add.call("add", {"a": 2, "b": 3}) == 5
    assert await PythonBackend(load_function("mytools:neg", suite)).call("neg", {"x": 4}) == -4
    with pytest.raises(ToolFailure, match="ValueError: bad city"):
        await PythonBackend(load_function("mytools:boom", suite)).call("boom", {})
    with pytest.raises(TransientToolError, match="ConnectionError: reset"):
        await PythonBackend(load_function("mytools:flaky", suite)).call("flaky", {})


async def test_runledger_tools_get_the_args_dict_or_have_a_call_method() -> None:
    class Search:
        def call(self, args: dict[str, Any]) -> list[str]:
            return [args["q"]]

    assert await PythonBackend(Search(), style="args").call("s", {"q": "x"}) == ["x"]
    assert await PythonBackend(lambda args: args, style="args").call("s", {"q": 1}) == {"q": 1}


def test_a_module_beside_each_suite_wins_over_one_loaded_earlier(tmp_path: Path) -> None:
    first = _tools_module(tmp_path / "one", "NAME = 'one'\n")
    second = _tools_module(tmp_path / "two", "NAME = 'two'\n")
    assert import_suite_module("mytools", first).NAME == "one"
    assert import_suite_module("mytools", second).NAME == "two"
    assert import_suite_module("mytools", second).NAME == "two"
    sys.modules.pop("mytools", None)


def test_a_bad_function_reference_says_what_is_wrong(tmp_path: Path) -> None:
    suite = _tools_module(tmp_path, "X = 1\n")
    with pytest.raises(ValueError, match="not `module:function`"):
        load_function("mytools", suite)
    with pytest.raises(ValueError, match="has no 'nope'"):
        load_function("mytools:nope", suite)
    with pytest.raises(ValueError, match="is a int, not a function"):
        load_function("mytools:X", suite)
    sys.modules.pop("mytools", None)


# Command --------------------------------------------------------------------------------------

COMMAND_TOOL = """
import json, sys
call = json.load(sys.stdin)
args = call["args"]
if args.get("status"):
    print("it went wrong", file=sys.stderr)
    sys.exit(args["status"])
if args.get("garbage"):
    print("not json")
    sys.exit(0)
print(json.dumps({"tool": call["tool"], "echo": args}))
"""


async def test_command_tool_json_in_json_out(tmp_path: Path) -> None:
    script = tmp_path / "tool.py"
    script.write_text(COMMAND_TOOL, encoding="utf-8")
    backend = CommandBackend([sys.executable, str(script)], cwd=tmp_path)
    assert await backend.call("echo", {"x": "é"}) == {"tool": "echo", "echo": {"x": "é"}}
    with pytest.raises(ToolFailure, match="exited with status 3: it went wrong"):
        await backend.call("echo", {"status": 3})
    with pytest.raises(TransientToolError, match="status 75"):
        await backend.call("echo", {"status": 75})
    with pytest.raises(ToolFailure, match="not JSON on stdout"):
        await backend.call("echo", {"garbage": True})


async def test_command_tool_that_cannot_start_is_unreachable(tmp_path: Path) -> None:
    answer = await LiveTool("x", CommandBackend([str(tmp_path / "missing")])).call({})
    assert answer.unavailable and answer.tries == 1


async def test_command_tool_killed_at_its_timeout(tmp_path: Path) -> None:
    backend = CommandBackend([sys.executable, "-c", "import time; time.sleep(30)"])
    tool = LiveTool("slow", backend, timeout_ms=300, retry=ToolRetry(attempts=1))
    answer = await tool.call({})
    assert answer.unavailable and "no answer within 0.3 s" in (answer.error or "")


# HTTP -----------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    statuses: ClassVar[list[int]] = []
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append({"body": body, "auth": self.headers.get("Authorization")})
        status = self.statuses.pop(0) if self.statuses else 200
        payload = b"plain text" if body["args"].get("text") else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_url() -> Iterator[str]:
    _Handler.statuses, _Handler.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tool"
    server.shutdown()
    server.server_close()


async def test_http_tool_posts_the_call_with_headers_from_the_environment(http_url: str) -> None:
    import httpx

    from harness.tools.http import HttpBackend, expand_headers

    headers = expand_headers({"Authorization": "Bearer ${TOK}"}, {"TOK": "s3cret"})
    async with httpx.AsyncClient() as client:
        backend = HttpBackend(client, http_url, headers)
        tool = LiveTool("search", backend, retry=FAST_RETRY)
        _Handler.statuses = [503, 200]
        answer = await tool.call({"q": "x"})
        assert answer.ok and answer.tries == 2
        assert answer.result == {"tool": "search", "args": {"q": "x"}}
        assert _Handler.seen[-1]["auth"] == "Bearer s3cret"
        _Handler.statuses = [404]
        missing = await tool.call({"q": "y"})
        assert not missing.ok and not missing.unavailable and "HTTP 404" in (missing.error or "")
        assert await backend.call("search", {"text": True}) == "plain text"


def test_a_header_variable_that_is_not_set_is_named() -> None:
    from harness.tools.http import expand_headers

    with pytest.raises(KeyError, match="API_TOKEN"):
        expand_headers({"Authorization": "Bearer ${API_TOKEN}"}, {})
