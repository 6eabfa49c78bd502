"""The run's model endpoint: HTTP/1.1 with h11 on an anyio listener, 127.0.0.1 and port 0.

Each agent process gets the run's base URLs (`http://127.0.0.1:PORT/openai/v1`,
`.../anthropic`) and API keys of its own, `harness-placeholder-<unguessable token>`, which the
SDKs send with every request (`Authorization: Bearer ...`, `x-api-key`). The token routes a
request to the session of the attempt that process is running now, so a kept (protocol 2)
process is routed by its current task. The token rides in the key rather than in the URL
because SDKs quote the request path in their error messages (Anthropic's do): a path that
changed every attempt would make two replays of one agent print different transcripts.
A request with no known key, or for an API or route not served, gets an error in the
provider's shape (logged on the attempt when there is one).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import h11
from anyio.abc import SocketAttribute, SocketStream

from harness.cassette.gateway import ToolGateway
from harness.config.model_proxy import BASE_URL_ENV, KEY_ENV
from harness.config.schema import Budgets
from harness.proxy.exchange import ModelCall
from harness.proxy.session import ModelSession
from harness.proxy.settings import PLACEHOLDER_KEY, ProxySettings
from harness.proxy.shapes import JSON, ROUTES, error_body
from harness.proxy.upstream import UpstreamClient

MAX_BODY_BYTES = 64 * 1024 * 1024
_RECEIVE_BYTES = 65536
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


class Route:
    """One agent process's base URLs; bound to the session of the attempt it runs."""

    def __init__(self, proxy: ModelProxy) -> None:
        self.proxy = proxy
        self.token = f"{PLACEHOLDER_KEY}-{secrets.token_urlsafe(18)}"
        proxy.routes[self.token] = None

    def env(self) -> dict[str, str]:
        """What the agent's environment gets: base URLs and its placeholder keys."""
        base = f"http://127.0.0.1:{self.proxy.port}"
        env: dict[str, str] = {}
        for api in self.proxy.settings.apis:
            env[BASE_URL_ENV[api]] = f"{base}/{api}/v1" if api == "openai" else f"{base}/{api}"
            env[KEY_ENV[api]] = self.token
        if any(os.environ.get(name) for name in _PROXY_VARIABLES):
            # An HTTP proxy of the invoker's must not carry the agent's calls to harness.
            kept = os.environ.get("NO_PROXY") or os.environ.get("no_proxy")
            env["NO_PROXY"] = env["no_proxy"] = ",".join(filter(None, (kept, "127.0.0.1")))
        return env

    def bind(self, session: ModelSession | None) -> None:
        if self.token in self.proxy.routes:
            self.proxy.routes[self.token] = session

    def close(self) -> None:
        self.proxy.routes.pop(self.token, None)


class ModelProxy:
    """The endpoint of one run: routes by token, sessions per attempt."""

    def __init__(self, settings: ProxySettings, upstream: UpstreamClient | None) -> None:
        self.settings = settings
        self.upstream = upstream
        self.routes: dict[str, ModelSession | None] = {}
        self.port = 0

    def open_route(self) -> Route:
        return Route(self)

    def session(self, gateway: ToolGateway, budgets: Budgets, attempt_id: str) -> ModelSession:
        return ModelSession(
            self.settings,
            gateway=gateway,
            budgets=budgets,
            attempt_id=attempt_id,
            upstream=self.upstream,
            routes=self,
        )

    @property
    def _served(self) -> frozenset[tuple[str, str, str]]:
        return frozenset(route for route in ROUTES if route[0] in self.settings.apis)

    async def _not_served(
        self,
        session: ModelSession | None,
        api: str,
        method: str,
        path: str,
        writer: H11Writer,
    ) -> None:
        """401 for a key harness did not give a running agent, else a 404 logged on the
        attempt."""
        shape = api if api in ("openai", "anthropic") else "openai"
        if session is None:
            status = 401
            what = "the API key is not one harness gave an agent that is running a task"
        else:
            status, what = 404, "no such route (or its API is not in model_proxy.apis)"
        message = f"harness model proxy: {what}: {method} /{api}{path}"
        if session is not None:
            session.log(message)
        await writer.json(status, {"x-should-retry": "false"}, error_body(shape, status, message))

    async def serve(self, stream: SocketStream) -> None:
        """One connection: requests in turn (keep-alive) until the client closes it."""
        with contextlib.suppress(OSError):
            raw: socket.socket = stream.extra(SocketAttribute.raw_socket)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = h11.Connection(h11.SERVER)
        async with stream:
            with contextlib.suppress(
                anyio.BrokenResourceError,
                anyio.ClosedResourceError,
                anyio.EndOfStream,
                ConnectionError,
                h11.ProtocolError,
            ):
                while await self._one_request(connection, stream):
                    connection.start_next_cycle()

    async def _one_request(self, connection: h11.Connection, stream: SocketStream) -> bool:
        """Read a request, answer it; False when the connection should close."""
        read = await _read_request(connection, stream)
        if read is None:
            return False
        request, body = read
        writer = H11Writer(connection, stream)
        if body is None:
            message = f"the request body is larger than {MAX_BODY_BYTES} bytes"
            await writer.json(413, {}, error_body("openai", 413, message))
            return False
        await self._dispatch(request, body, writer)
        return connection.our_state is h11.DONE and connection.their_state is h11.DONE

    async def _dispatch(self, request: h11.Request, body: bytes, writer: H11Writer) -> None:
        target = request.target.decode("latin-1")
        path, _, query = target.partition("?")
        _, api, rest = [*path.split("/", 2), "", ""][:3]
        method = request.method.decode("latin-1").upper()
        headers = {
            name.decode("latin-1").lower(): v.decode("latin-1") for name, v in request.headers
        }
        session = self.routes.get(_token(headers))
        provider_path = "/" + rest
        if session is None or (api, method, provider_path) not in self._served:
            await self._not_served(session, api, method, provider_path, writer)
            return
        call = ModelCall(api, method, provider_path, query, headers, body)
        try:
            await session.handle(call, writer)
        except Exception as exc:  # a bug of harness: the agent gets a 500, the run goes on
            if writer.started:
                raise
            message = f"harness model proxy: internal error: {type(exc).__name__}: {exc}"
            session.log(message)
            await writer.json(500, {"x-should-retry": "false"}, error_body(api, 500, message))


def _token(headers: Mapping[str, str]) -> str:
    """The placeholder key a request carries (OpenAI's bearer, Anthropic's x-api-key)."""
    bearer = headers.get("authorization", "")
    if bearer[:7].lower() == "bearer ":
        return bearer[7:].strip()
    return headers.get("x-api-key", "").strip()


async def _read_request(
    connection: h11.Connection, stream: SocketStream
) -> tuple[h11.Request, bytes | None] | None:
    """The next request and its body (None when too large); None when the client is gone."""
    request: h11.Request | None = None
    parts: list[bytes] = []
    size = 0
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await stream.receive(_RECEIVE_BYTES)
            except anyio.EndOfStream:
                data = b""
            connection.receive_data(data)
            continue
        if isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            size += len(event.data)
            if size > MAX_BODY_BYTES:
                assert request is not None
                return request, None
            parts.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            return request, b"".join(parts)
        elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None


class H11Writer:
    """An answer on an h11 connection: a JSON body in one write, a stream one write a piece
    (chunked transfer encoding, never compressed)."""

    def __init__(self, connection: h11.Connection, stream: SocketStream) -> None:
        self.connection = connection
        self.stream = stream
        self.started = False

    async def json(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        fields = _fields({"content-type": JSON, **headers, "content-length": str(len(body))})
        self.started = True
        data = self.connection.send(h11.Response(status_code=status, headers=fields))
        data = (data or b"") + (self.connection.send(h11.Data(data=body)) or b"")
        data += self.connection.send(h11.EndOfMessage()) or b""
        await self.stream.send(data)

    async def start_stream(self, status: int, headers: Mapping[str, str]) -> None:
        fields = _fields({**headers, "cache-control": "no-cache"})
        self.started = True
        await self.stream.send(
            self.connection.send(h11.Response(status_code=status, headers=fields)) or b""
        )

    async def chunk(self, data: bytes) -> None:
        if data:
            await self.stream.send(self.connection.send(h11.Data(data=data)) or b"")

    async def end_stream(self) -> None:
        await self.stream.send(self.connection.send(h11.EndOfMessage()) or b"")


def _fields(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    dropped = ("content-length", "transfer-encoding", "content-encoding", "connection")
    return [
        (name.encode("latin-1"), value.encode("latin-1", "replace"))
        for name, value in headers.items()
        if name == "content-length" or name not in dropped
    ]


@contextlib.asynccontextmanager
async def open_model_proxy(settings: ProxySettings) -> AsyncIterator[ModelProxy]:
    """Listen on 127.0.0.1 (a free port) for the run; closed, with the upstream client, when
    the run ends."""
    upstream = None
    if settings.calls_upstream:
        upstream = UpstreamClient(
            settings.upstreams, timeout_seconds=settings.timeout_seconds, retry=settings.retry
        )
    proxy = ModelProxy(settings, upstream)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    proxy.port = listener.extra(SocketAttribute.local_port)
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_serve, listener, proxy)
            try:
                yield proxy
            finally:
                tasks.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await listener.aclose()
            if upstream is not None:
                await upstream.aclose()


async def _serve(listener: Any, proxy: ModelProxy) -> None:
    await listener.serve(proxy.serve)
