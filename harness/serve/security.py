"""Security by default, as one ASGI middleware every request passes before any route.

- Only GET and HEAD (405 otherwise, `Allow: GET, HEAD`): the server changes nothing.
- A Host allowlist (421 otherwise): a DNS-rebinding page on evil.example that resolves to
  127.0.0.1 still sends `Host: evil.example`.
- Sec-Fetch-Site (403 otherwise): another site's script cannot read the API; another site may
  only link to a page (a top-level navigation), which it cannot read either.
- A token, when one is set (401 otherwise): `Authorization: Bearer T`, or `?token=T` once in a
  browser, which sets an HttpOnly SameSite=Strict cookie and redirects to the URL without it.
- `..`, `.` and encoded separators or dots in the path give 404 before routing.
- Every answer carries a Content-Security-Policy (`default-src 'self'; frame-ancestors 'none'`),
  `nosniff`, no referrer, and same-origin opener and resource policies.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

ALLOWED_METHODS = ("GET", "HEAD")
COOKIE = "harness_serve_token"
CSP = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
# Encoded forms a path has no business holding: dot, slash, backslash, NUL (any case).
_ENCODED = ("%2e", "%2f", "%5c", "%00")
_PAGE_PREFIXES = ("/runs", "/compare", "/cases")


def error_body(status: int, code: str, message: str) -> bytes:
    return msgspec.json.encode({"error": {"status": status, "code": code, "message": message}})


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """Host header values accepted: the loopback names, the bound host and `extra`, each with
    the port (and without it only on port 80, as browsers send it)."""
    names = {"127.0.0.1", "localhost", "[::1]", *extra}
    if host not in ("0.0.0.0", "::"):
        names.add(f"[{host}]" if ":" in host else host)
    values = {f"{name}:{port}" for name in names}
    if port == 80:
        values |= names
    return frozenset(value.lower() for value in values)


def _is_page(path: str) -> bool:
    return path == "/" or any(path == p or path.startswith(p + "/") for p in _PAGE_PREFIXES)


def traversal(scope: Scope) -> bool:
    """Whether the path tries to climb or hides separators: `..` or `.` segments (decoded),
    encoded dots, slashes, backslashes or NULs (raw, or left after one decoding)."""
    path: str = scope.get("path", "")
    raw = bytes(scope.get("raw_path") or path.encode()).decode("latin-1").lower()
    if any(marker in raw or marker in path.lower() for marker in _ENCODED):
        return True
    return "\\" in path or "\x00" in path or any(part in ("..", ".") for part in path.split("/"))


class Guard:
    """The middleware. `token` None: no token asked (loopback only; the CLI enforces that)."""

    def __init__(self, app: App, *, hosts: frozenset[str], token: str | None) -> None:
        self.app = app
        self.hosts = hosts
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # websockets: not served
            await send({"type": "websocket.close", "code": 1008})
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        await self.app(scope, receive, _with_headers(send))

    def refusal(self, scope: Scope) -> tuple[int, str, str, list[tuple[bytes, bytes]]] | None:
        """(status, code, message, extra headers) when the request is refused."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] not in ALLOWED_METHODS:
            allow = [(b"allow", b"GET, HEAD")]
            return 405, "method_not_allowed", "only GET and HEAD are served", allow
        if headers.get("host", "").lower() not in self.hosts:
            return 421, "host_not_allowed", "this Host header is not served here", []
        if traversal(scope):
            return 404, "not_found", "no such page", []
        if not self._same_origin(scope["path"], headers):
            return 403, "cross_site_request", "cross-site requests are refused", []
        if self.token is not None:
            return self._token_refusal(scope, headers)
        return None

    def _same_origin(self, path: str, headers: dict[str, str]) -> bool:
        site = headers.get("sec-fetch-site")
        if site is None or site in ("same-origin", "none"):
            return True
        # Another site may link to a page (a deep link in a PR comment), never read the API.
        navigation = headers.get("sec-fetch-mode") == "navigate"
        return navigation and headers.get("sec-fetch-dest") == "document" and _is_page(path)

    def _token_refusal(
        self, scope: Scope, headers: dict[str, str]
    ) -> tuple[int, str, str, list[tuple[bytes, bytes]]] | None:
        assert self.token is not None
        bearer = headers.get("authorization", "")
        if bearer.startswith("Bearer ") and _same(bearer[7:], self.token):
            return None
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and _same(value, self.token):
                return None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = [value for name, value in query if name == "token"]
        if given and _same(given[-1], self.token):
            rest = urlencode([(name, value) for name, value in query if name != "token"])
            location = scope["path"] + ("?" + rest if rest else "")
            cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
            headers_out = [(b"location", location.encode()), (b"set-cookie", cookie.encode())]
            return 303, "token_accepted", "token accepted", headers_out
        message = "a token is required: open the URL harness serve printed (it has ?token=)"
        return 401, "unauthorized", message, []


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode(), token.encode())


def _with_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
        await send(message)

    return sending


async def _answer(
    send: Send, status: int, code: str, message: str, extra: list[tuple[bytes, bytes]]
) -> None:
    body = error_body(status, code, message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *extra,
        *SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
