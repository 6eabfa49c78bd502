"""HTTP/1.1 on one connection of the model endpoint: read a request with h11, write an answer
(a JSON body in one write; a stream as one chunk, one write, per event, never compressed).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping

import anyio
import anyio.lowlevel
import h11
from anyio.abc import SocketAttribute, SocketStream

from harness.proxy.shapes import JSON

MAX_BODY_BYTES = 64 * 1024 * 1024
_RECEIVE_BYTES = 65536
# A stream written straight to the socket yields to the event loop every this many events, so
# one long replay never holds up the other attempts' calls for long.
_YIELD_EVERY = 32


class SocketWriter:
    """Writes a connection's bytes. While the kernel takes each write whole, it goes straight
    to the socket: one system call and no trip through the event loop, which halves the CPU a
    replayed stream costs per event (`make bench`). Once a write would block, everything
    after it goes through anyio, in order."""

    def __init__(self, stream: SocketStream) -> None:
        self.stream = stream
        self.fd: int | None = None
        with contextlib.suppress(OSError, anyio.TypedAttributeLookupError):
            raw: socket.socket = stream.extra(SocketAttribute.raw_socket)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delays
            self.fd = raw.fileno()
        self.writes = 0

    async def send(self, data: bytes) -> None:
        self.writes += 1
        if self.fd is not None:
            await anyio.lowlevel.checkpoint_if_cancelled()
            try:
                sent = os.write(self.fd, data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            if sent == len(data):
                if self.writes % _YIELD_EVERY == 0:
                    await anyio.lowlevel.checkpoint()
                return
            self.fd, data = None, data[sent:]
        await self.stream.send(data)


class H11Writer:
    """An answer on an h11 connection (harness.proxy.exchange.ResponseWriter)."""

    def __init__(self, connection: h11.Connection, socket_writer: SocketWriter) -> None:
        self.connection = connection
        self.socket = socket_writer
        self.started = False

    async def json(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        fields = _fields({"content-type": JSON, **headers, "content-length": str(len(body))})
        self.started = True
        data = self.connection.send(h11.Response(status_code=status, headers=fields)) or b""
        data += self.connection.send(h11.Data(data=body)) or b""
        data += self.connection.send(h11.EndOfMessage()) or b""
        await self.socket.send(data)

    async def start_stream(self, status: int, headers: Mapping[str, str]) -> None:
        fields = _fields({**headers, "cache-control": "no-cache"})
        self.started = True
        response = h11.Response(status_code=status, headers=fields)
        await self.socket.send(self.connection.send(response) or b"")

    async def chunk(self, data: bytes) -> None:
        # The chunk framed here rather than by h11: a chunked body's bytes are not counted by
        # h11, and this is the hot path of a replayed stream.
        if data:
            await self.socket.send(b"%x\r\n%s\r\n" % (len(data), data))

    async def end_stream(self) -> None:
        await self.socket.send(self.connection.send(h11.EndOfMessage()) or b"")


def _fields(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    dropped = ("content-length", "transfer-encoding", "content-encoding", "connection")
    return [
        (name.encode("latin-1"), value.encode("latin-1", "replace"))
        for name, value in headers.items()
        if name == "content-length" or name not in dropped
    ]


async def read_request(
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
