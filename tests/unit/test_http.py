"""HTTP tools (harness.tools.http): the call posted with headers from the environment, and a
header variable that is not set named."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from harness.tools.backend import LiveTool
from tests.support.tools import FAST_RETRY


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
