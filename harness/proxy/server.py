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

import base64
import contextlib
import errno
import os
import socket
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import h11
from anyio.abc import SocketAttribute, SocketStream

from harness.cassette.gateway import ToolGateway
from harness.config.model_proxy import BASE_URL_ENV, KEY_ENV
from harness.config.schema import Budgets
from harness.errors import InfrastructureError
from harness.proxy.exchange import ModelCall
from harness.proxy.session import ModelSession
from harness.proxy.settings import PLACEHOLDER_KEY, ProxySettings
from harness.proxy.shapes import ROUTES, error_body
from harness.proxy.upstream import UpstreamClient
from harness.proxy.wire import MAX_BODY_BYTES, H11Writer, SocketWriter, read_request

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


class Route:
    """One agent process's base URLs; bound to the session of the attempt it runs."""

    def __init__(self, proxy: ModelProxy) -> None:
        self.proxy = proxy
        token = base64.urlsafe_b64encode(os.urandom(18)).decode()  # what secrets.token_urlsafe does
        self.token = f"{PLACEHOLDER_KEY}-{token}"
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
        connection = h11.Connection(h11.SERVER)
        socket_writer = SocketWriter(stream)
        async with stream:
            with contextlib.suppress(
                anyio.BrokenResourceError,
                anyio.ClosedResourceError,
                anyio.EndOfStream,
                ConnectionError,
                h11.ProtocolError,
            ):
                while await self._one_request(connection, stream, socket_writer):
                    connection.start_next_cycle()

    async def _one_request(
        self, connection: h11.Connection, stream: SocketStream, socket_writer: SocketWriter
    ) -> bool:
        """Read a request, answer it; False when the connection should close."""
        read = await read_request(connection, stream)
        if read is None:
            return False
        request, body = read
        writer = H11Writer(connection, socket_writer)
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
        _check_reachable(proxy.port)
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


def _check_reachable(port: int) -> None:
    """Connect to the listener once, before any agent starts: in a fresh network namespace
    (`unshare -rn`) binding 127.0.0.1 works but connecting does not, and every model call
    would fail as the agent's connection error. A non-blocking connect, closed at once (the
    listener accepts it later and sees it closed): the kernel answers a route that is down
    right away, and anyio's connect_tcp would start a thread to resolve the address.

    Raises:
        InfrastructureError: nothing can connect to 127.0.0.1.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setblocking(False)
        code = probe.connect_ex(("127.0.0.1", port))
    if code not in (0, errno.EINPROGRESS):
        raise InfrastructureError(
            f"the model proxy cannot be reached on 127.0.0.1:{port} ({os.strerror(code)}): "
            "the loopback interface is down, as in a new network namespace; bring it up first "
            "(`ip link set lo up`, e.g. unshare -rn sh -c 'ip link set lo up && harness run ...')"
        )


async def _serve(listener: Any, proxy: ModelProxy) -> None:
    await listener.serve(proxy.serve)
