"""HTTP tools: each call is a JSON POST of `{"tool": name, "args": {...}}` to the tool's URL.

A 2xx answer's JSON body is the result (a body that is not JSON is kept as text). 408, 429,
500, 502, 503 and 504 and transport errors (refused, reset, DNS) are transient and retried; any
other status is a tool error with the start of the body. Header values come from environment
variables only (`headers_env: {Authorization: "Bearer ${API_TOKEN}"}`), never from the suite
file, and those variables' values are redacted like any secret. Needs httpx (`harness[http]`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.excerpts import cut
from harness.tools.backend import ToolFailure, TransientToolError, describe_exception

if TYPE_CHECKING:
    import httpx

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BODY_CHARS = 500
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def env_references(template: str) -> list[str]:
    """The variable names a header template reads: `Bearer ${TOKEN}` -> ["TOKEN"]."""
    return ENV_REFERENCE.findall(template)


def expand_headers(headers_env: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """Header values with each `${NAME}` replaced from the environment.

    Raises:
        KeyError: a variable is not set; its name is the message.
    """

    def value(found: re.Match[str]) -> str:
        name = found[1]
        if name not in environ:
            raise KeyError(name)
        return environ[name]

    return {name: ENV_REFERENCE.sub(value, template) for name, template in headers_env.items()}


class HttpBackend:
    kind = "http"

    def __init__(self, client: httpx.AsyncClient, url: str, headers: Mapping[str, str]) -> None:
        self.client = client
        self.url = url
        self.headers = dict(headers)

    async def call(self, tool: str, args: dict[str, Any]) -> Any:
        # lazy: httpx is the optional `http` extra
        import httpx

        try:
            response = await self.client.post(
                self.url, json={"tool": tool, "args": args}, headers=self.headers
            )
        except httpx.TransportError as exc:
            raise TransientToolError(describe_exception(exc)) from exc
        body = response.text
        if response.status_code in TRANSIENT_STATUSES:
            raise TransientToolError(f"HTTP {response.status_code}: {cut(body, BODY_CHARS)}")
        if not response.is_success:
            raise ToolFailure(f"HTTP {response.status_code}: {cut(body, BODY_CHARS)}")
        if not body.strip():
            return None
        try:
            return response.json()
        except ValueError:
            return body


def open_client() -> httpx.AsyncClient:
    """One client per run, shared by every HTTP tool (connections are reused).

    Raises:
        ImportError: httpx is not installed.
    """
    # lazy: httpx is the optional `http` extra
    import httpx

    # Timeouts are the policy's (fail_after per try); proxies from the environment still apply.
    return httpx.AsyncClient(timeout=None, trust_env=True, follow_redirects=False)
