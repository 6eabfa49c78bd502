"""The stand-in on real sockets: one h11 HTTP/1.1 listener per provider on 127.0.0.1 (port 0),
keep-alive, gzip when the client accepts it, and bodies and streams written in the pieces the
script's `chunking` asks for (cut inside events and inside UTF-8 characters by default).
"""

from __future__ import annotations

import itertools
import sys
import traceback
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass

import anyio
import anyio.abc
import anyio.from_thread
import h11

from tests.support.providers.script import Script
from tests.support.providers.standin import Api, Received, StandIn
from tests.support.providers.wire import Reply

_MAX_BODY_BYTES = 32 * 1024 * 1024
_ConnectionHandler = Callable[[anyio.abc.SocketStream], Awaitable[None]]


@dataclass
class Providers:
    """A running stand-in: each provider's base URL in its SDK's own convention."""

    openai_base_url: str
    anthropic_base_url: str
    standin: StandIn

    @property
    def received(self) -> list[Received]:
        return self.standin.received

    def client_env(self) -> dict[str, str]:
        """The environment an SDK reads to talk to the stand-in directly."""
        return {
            "OPENAI_BASE_URL": self.openai_base_url,
            "ANTHROPIC_BASE_URL": self.anthropic_base_url,
        }

    def upstream_env(self) -> dict[str, str]:
        """The environment that points harness's model proxy at the stand-in."""
        return {
            "HARNESS_UPSTREAM_OPENAI_BASE_URL": self.openai_base_url,
            "HARNESS_UPSTREAM_ANTHROPIC_BASE_URL": self.anthropic_base_url,
        }


@asynccontextmanager
async def serve_providers(script: Script | None = None) -> AsyncIterator[Providers]:
    """Serve both providers until the block ends (in the current event loop)."""
    standin = StandIn(script or Script())
    async with AsyncExitStack() as listeners, anyio.create_task_group() as group:
        ports = []
        for api in ("openai", "anthropic"):
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
            await listeners.enter_async_context(listener)  # serve() does not close it
            ports.append(listener.extra(anyio.abc.SocketAttribute.local_port))
            group.start_soon(listener.serve, _handler(standin, api))
        try:
            yield Providers(
                f"http://127.0.0.1:{ports[0]}/v1", f"http://127.0.0.1:{ports[1]}", standin
            )
        finally:
            group.cancel_scope.cancel()


@contextmanager
def running_providers(script: Script | None = None) -> Iterator[Providers]:
    """Serve both providers from a background thread, for synchronous tests."""
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve_providers(script)) as providers,
    ):
        yield providers


def _handler(standin: StandIn, api: Api) -> _ConnectionHandler:
    async def handle(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            try:
                await _serve_connection(stream, standin, api)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream):
                pass  # the client went away; so does this connection
            except h11.ProtocolError:
                pass  # not HTTP/1.1 we can answer; drop the connection as servers do
            except Exception:
                # A bug in the stand-in: say so loudly, but keep serving other connections.
                traceback.print_exc(file=sys.stderr)

    return handle


async def _serve_connection(stream: anyio.abc.SocketStream, standin: StandIn, api: Api) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_BODY_BYTES)
    while True:
        request = await _read_request(conn, stream)
        if request is None:
            return
        head, body = request
        headers = _headers(head)
        reply = standin.handle(api, head.method.decode(), head.target.decode(), headers, body)
        await _write_reply(conn, stream, reply, _accepts_gzip(headers), standin.script)
        if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            return
        conn.start_next_cycle()


async def _read_request(
    conn: h11.Connection, stream: anyio.abc.SocketStream
) -> tuple[h11.Request, bytes] | None:
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                data = b""
            conn.receive_data(data)
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None
            return head, bytes(body)
        else:  # ConnectionClosed, or PAUSED after a MUST_CLOSE reply
            return None


def _headers(head: h11.Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in head.headers:
        key = name.decode("latin-1")
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _accepts_gzip(headers: dict[str, str]) -> bool:
    for coding in headers.get("accept-encoding", "").split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() in ("gzip", "*") and params.replace(" ", "") != "q=0":
            return True
    return False


async def _write_reply(
    conn: h11.Connection,
    stream: anyio.abc.SocketStream,
    reply: Reply,
    accepts_gzip: bool,
    script: Script,
) -> None:
    frames = reply.events if reply.events is not None else [reply.body or b""]
    writes = split_writes(frames) if script.chunking == "split" else list(frames)
    headers = list(reply.headers)
    gzip = accepts_gzip and (not reply.streamed or script.gzip_streams)
    if gzip:
        writes = _gzip(writes)
        headers.append(("content-encoding", "gzip"))
    if not reply.streamed:
        headers.append(("content-length", str(sum(map(len, writes)))))
    else:
        headers.append(("cache-control", "no-cache"))
    encoded = [(name.encode(), value.encode()) for name, value in headers]
    await stream.send(conn.send(h11.Response(status_code=reply.status, headers=encoded)))
    for index, piece in enumerate(writes):
        if index and reply.streamed and script.event_delay_ms:
            await anyio.sleep(script.event_delay_ms / 1000)
        if piece:
            await stream.send(conn.send(h11.Data(data=piece)))
    await stream.send(conn.send(h11.EndOfMessage()))


def split_writes(frames: list[bytes]) -> list[bytes]:
    """The writes for these frames: each frame is cut inside its first multi-byte UTF-8
    character (else in its middle), and every other frame boundary is skipped, so some writes
    end one event and begin the next. Joined, the writes are exactly the frames."""
    stream = b"".join(frames)
    cuts = {0, len(stream)}
    start = 0
    for index, frame in enumerate(frames):
        lead = next((i for i, byte in enumerate(frame) if byte >= 0xC0), None)
        cuts.add(start + (lead + 1 if lead is not None else len(frame) // 2))
        start += len(frame)
        if index % 2:
            cuts.add(start)
    ordered = sorted(cuts)
    return [stream[a:b] for a, b in itertools.pairwise(ordered) if b > a]


def _gzip(writes: list[bytes]) -> list[bytes]:
    """One gzip stream, flushed after each write so a reader can decode it as it arrives."""
    compressor = zlib.compressobj(wbits=31)
    out = [compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH) for piece in writes]
    out[-1] += compressor.flush(zlib.Z_FINISH)
    return out
