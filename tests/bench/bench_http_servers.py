"""`make bench`: why the model proxy serves HTTP with h11 on anyio listeners, not starlette on
uvicorn. The same two answers (bench_proxy's 800-character JSON body, its 200-event SSE stream
as one chunked write per event) from:

- a minimal h11 server on anyio listeners (the floor of the design harness chose);
- a minimal starlette app on uvicorn (`Response`, `StreamingResponse`), with uvicorn's h11
  protocol, and with httptools too when it is installed (`uvicorn[standard]`);
- harness's model proxy itself, replaying the same answers from a cassette (the real work:
  routing, normalisation, matching, usage).

Each server but harness's runs in a process of its own; the client is bench_proxy's (a process
of its own, reading by framing only). Per server: the median wall time of a call, and the
server's CPU per call (its process's CPU over the client's run, divided by the calls: the load
of a shared machine moves it far less than wall time). Then the start-up CPU each costs a run,
in a fresh interpreter: importing it and opening a listener.
"""

from __future__ import annotations

import importlib.util
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import h11
import psutil
from anyio.abc import SocketAttribute, SocketStream

from harness.cassette.gateway import ReplayGateway
from harness.cassette.redact import Redactor
from harness.config.model_proxy import ModelProxySpec
from harness.config.schema import Budgets, RecordMode
from harness.proxy.server import open_model_proxy
from harness.proxy.settings import proxy_settings
from tests.bench.bench_proxy import (
    ANSWER_BYTES,
    CALLS,
    EVENTS,
    REPEATS,
    REQUEST,
    _cassette,
    _timed_in_process,
    measure_startup_work,
)

SSE = [f"data: {event.data}\n\n".encode() for event in EVENTS]
STREAMED = {**REQUEST, "stream": True}


async def _h11_connection(stream: SocketStream) -> None:
    """/json...: the JSON answer in one write; /stream...: the events, one chunk each."""
    connection = h11.Connection(h11.SERVER)
    raw: socket.socket = stream.extra(SocketAttribute.raw_socket)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    async with stream:
        try:
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    connection.receive_data(await stream.receive(65536))
                elif isinstance(event, h11.Request):
                    target = event.target
                elif isinstance(event, h11.EndOfMessage):
                    await _h11_answer(connection, stream, target.startswith(b"/stream"))
                    connection.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed):
                    return
        except (anyio.EndOfStream, anyio.BrokenResourceError, h11.ProtocolError):
            return


async def _h11_answer(connection: h11.Connection, stream: SocketStream, streamed: bool) -> None:
    if not streamed:
        headers = [(b"content-type", b"application/json")]
        headers.append((b"content-length", str(len(ANSWER_BYTES)).encode()))
        data = connection.send(h11.Response(status_code=200, headers=headers)) or b""
        data += connection.send(h11.Data(data=ANSWER_BYTES)) or b""
        await stream.send(data + (connection.send(h11.EndOfMessage()) or b""))
        return
    headers = [(b"content-type", b"text/event-stream"), (b"transfer-encoding", b"chunked")]
    await stream.send(connection.send(h11.Response(status_code=200, headers=headers)) or b"")
    for chunk in SSE:
        await stream.send(connection.send(h11.Data(data=chunk)) or b"")
    await stream.send(connection.send(h11.EndOfMessage()) or b"")


def serve_h11() -> None:
    async def serve() -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        print(listener.extra(SocketAttribute.local_port), flush=True)
        await listener.serve(_h11_connection)

    anyio.run(serve)


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    async def events() -> Any:
        for chunk in SSE:
            yield chunk

    async def answer(request: Request) -> Response:
        await request.body()
        if request.url.path.startswith("/stream"):
            return StreamingResponse(events(), media_type="text/event-stream")
        return Response(ANSWER_BYTES, media_type="application/json")

    return Starlette(routes=[Route("/{rest:path}", answer, methods=["POST"])])


def serve_uvicorn(http: str) -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(
        starlette_app(), http=http, loop="asyncio", lifespan="off", access_log=False
    )
    config.log_level = "warning"
    uvicorn.Server(config).run(sockets=[sock])


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def _server_figures(server: list[str]) -> dict[str, float]:
    """Median wall seconds and server CPU seconds per call, plain and streamed."""
    argv = [sys.executable, "-m", "tests.bench.bench_http_servers", "serve", *server]
    async with await anyio.open_process(argv) as process:
        assert process.stdout is not None
        port = int((await process.stdout.receive()).decode())
        watched = psutil.Process(process.pid)
        figures = {}
        try:
            for name, prefix, body in (("call", "/json", REQUEST), ("stream", "/stream", STREAMED)):
                before = _cpu(watched)
                figures[name] = await _timed_in_process(port, prefix, None, body)
                figures[f"{name}_cpu"] = (_cpu(watched) - before) / (CALLS + 20)
        finally:
            process.kill()
    return figures


async def _proxy_figures() -> dict[str, float]:
    """The same for harness's model proxy replaying from a cassette, in this process."""
    spec = ModelProxySpec(apis=["openai"])
    settings = proxy_settings(
        spec, mode=RecordMode.replay, strict=False, redactor=Redactor(environ={})
    )
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        cassette = _cassette(Path(tmp))
        async with open_model_proxy(settings) as proxy:
            route = proxy.open_route()
            route.bind(proxy.session(ReplayGateway(cassette, strict=False), Budgets(), "bench"))
            key = route.env()["OPENAI_API_KEY"]
            for name, body in (("call", REQUEST), ("stream", STREAMED)):
                before = time.process_time()
                figures[name] = await _timed_in_process(proxy.port, "/openai/v1", key, body)
                figures[f"{name}_cpu"] = (time.process_time() - before) / (CALLS + 20)
    return figures


UVICORN_STARTUP = """
import socket, time
import anyio

async def main():  # in a running event loop, as harness's engine is
    start = time.process_time()
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def answer(request):
        return Response(b"{}", media_type="application/json")

    app = Starlette(routes=[Route("/{rest:path}", answer, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=HTTP, lifespan="off", access_log=False)
    config.log_level = "warning"
    config.load()  # what uvicorn.Server.serve does before it starts
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    print((time.process_time() - start) * 1000)
    await server.shutdown()

anyio.run(main)
"""


def uvicorn_startup_work(http: str) -> float:
    """Median CPU ms of importing starlette and uvicorn and starting a server, each in a fresh
    interpreter (bench_proxy's measure_startup_work for harness's proxy)."""
    code = UVICORN_STARTUP.replace("HTTP", repr(http))
    samples = []
    for _ in range(REPEATS):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        samples.append(float(done.stdout.split()[-1]))
    return statistics.median(samples)


def _line(name: str, figures: dict[str, float]) -> str:
    return (
        f"  {name:<34} call {figures['call'] * 1e3:6.3f} ms wall, {figures['call_cpu'] * 1e3:6.3f}"
        f" ms server CPU; 200-event stream {figures['stream'] * 1e3:6.2f} ms wall,"
        f" {figures['stream_cpu'] * 1e3:6.2f} ms server CPU"
    )


async def measure() -> list[tuple[str, dict[str, float]]]:
    rows = [("h11 on anyio (minimal)", await _server_figures(["h11"]))]
    for http in _uvicorn_protocols():
        figures = await _server_figures(["uvicorn", http])
        rows.append((f"starlette on uvicorn ({http})", figures))
    rows.append(("harness model proxy, replaying", await _proxy_figures()))
    return rows


def _uvicorn_protocols() -> list[str]:
    return ["h11"] + (["httptools"] if importlib.util.find_spec("httptools") else [])


def main() -> None:
    print(f"HTTP server for the model proxy (medians of {CALLS} calls; same answers, same client):")
    for name, figures in anyio.run(measure):
        print(_line(name, figures))
    starts = ", ".join(
        f"starlette on uvicorn ({http}) {uvicorn_startup_work(http):.1f} ms"
        for http in _uvicorn_protocols()
    )
    print(
        f"  start-up CPU (import, listen; medians of {REPEATS}): harness model proxy "
        f"{measure_startup_work():.1f} ms; {starts}"
    )


if __name__ == "__main__":
    if sys.argv[1:3] == ["serve", "h11"]:
        serve_h11()
    elif sys.argv[1:3] == ["serve", "uvicorn"]:
        serve_uvicorn(sys.argv[3])
    else:
        main()
