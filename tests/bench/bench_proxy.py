"""`make bench`: the model proxy's costs, measured side by side in one process and one run.

1. Added latency per non-streamed call: a client calling a minimal upstream (h11 on anyio)
   directly, against the same call through the proxy in live mode (route lookup,
   normalisation, redaction, forwarding with httpx and the key added, usage). Also a call
   answered from a cassette (replay), which needs no upstream at all.
2. A 200-event stream replayed at `fast`, request to last byte.
The client is a blocking keep-alive h11 connection in a process of its own (an agent is another
process too), as cheap as a client gets, so the figures are the server side's.
3. `harness run` start-up to the first agent for a suite with `model_proxy:` against the same
   suite without it (bench_startup's method: the agents stamp the clock).

Medians of BENCH_PROXY_CALLS calls (default 500) and BENCH_REPEATS runs (default 7).
Targets (issue 14): (1) < 1 ms, (2) < 5 ms, (3) < 30 ms.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import h11
from anyio.abc import SocketAttribute, SocketStream

from harness.cassette.format import encode_entry
from harness.cassette.gateway import ReplayGateway
from harness.cassette.model_entry import ModelEntry, SseEvent
from harness.cassette.redact import Redactor
from harness.config.model_proxy import ModelProxySpec
from harness.config.schema import Budgets, RecordMode
from harness.proxy.server import open_model_proxy
from harness.proxy.settings import proxy_settings
from tests.bench.bench_replay import AGENT, BIN, make_suite
from tests.bench.bench_startup import STAMPED, one_run

CALLS = int(os.environ.get("BENCH_PROXY_CALLS", "500"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
REQUEST = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Where is 1042?"}]}
ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "x" * 800}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 200},
}
ANSWER_BYTES = json.dumps(ANSWER).encode()
EVENTS = [
    SseEvent(t_ms=i, data=json.dumps({"choices": [{"delta": {"content": f"w{i} "}}]}))
    for i in range(199)
] + [SseEvent(t_ms=199, data="[DONE]")]


async def _upstream(stream: SocketStream) -> None:
    """The least an upstream can do: answer every request with ANSWER."""
    connection = h11.Connection(h11.SERVER)
    async with stream:
        try:
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    connection.receive_data(await stream.receive(65536))
                elif isinstance(event, h11.EndOfMessage):
                    headers = [(b"content-type", b"application/json")]
                    headers.append((b"content-length", str(len(ANSWER_BYTES)).encode()))
                    data = connection.send(h11.Response(status_code=200, headers=headers)) or b""
                    data += connection.send(h11.Data(data=ANSWER_BYTES)) or b""
                    data += connection.send(h11.EndOfMessage()) or b""
                    await stream.send(data)
                    connection.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed):
                    return
        except (anyio.EndOfStream, anyio.BrokenResourceError, h11.ProtocolError):
            return


class Client:
    """A blocking HTTP/1.1 keep-alive client on a plain socket that reads an answer by its
    framing only (content-length, or the chunked body's last chunk): as little client-side
    work as possible, so the time measured is the server's."""

    def __init__(self, port: int, prefix: str, key: str | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.head = f"POST {prefix}/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        self.head += "content-type: application/json\r\n"
        if key is not None:
            self.head += f"authorization: Bearer {key}\r\n"

    def post(self, body: bytes) -> int:
        """Send, read the whole answer; its size in bytes."""
        self.sock.sendall(f"{self.head}content-length: {len(body)}\r\n\r\n".encode() + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self.sock.recv(65536)
        head, _, rest = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        length = re.search(rb"(?i)content-length: (\d+)", head)
        if length is not None:
            while len(rest) < int(length[1]):
                rest += self.sock.recv(65536)
            return len(rest)
        while not rest.endswith(b"\r\n0\r\n\r\n"):
            rest += self.sock.recv(65536)
        return len(rest)


def _timed(call: Callable[[], Any], count: int) -> list[float]:
    for _ in range(20):
        call()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


async def _timed_in_process(port: int, prefix: str, key: str | None, body: Any) -> float:
    """The median seconds of CALLS posts of `body`, timed by a client process."""
    argv = [sys.executable, "-m", "tests.bench.bench_proxy", "client", str(port), prefix]
    argv += [key or "", json.dumps(body), str(CALLS)]
    done = await anyio.run_process(argv, check=True)
    return float(done.stdout)


def client_main(port: str, prefix: str, key: str, body: str, count: str) -> None:
    client = Client(int(port), prefix, key or None)
    data = body.encode()
    print(statistics.median(_timed(lambda: client.post(data), int(count))))


def _cassette(folder: Path) -> Path:
    path = folder / "c.jsonl"
    plain = ModelEntry("openai", "POST", "/v1/chat/completions", REQUEST, 200, body=ANSWER)
    streamed = ModelEntry(
        "openai",
        "POST",
        "/v1/chat/completions",
        {**REQUEST, "stream": True},
        200,
        headers={"content-type": "text/event-stream"},
        events=EVENTS,
    )
    path.write_bytes(encode_entry(plain) * (CALLS + 20) + encode_entry(streamed) * (CALLS + 20))
    return path


async def _proxy_calls(mode: RecordMode, upstream_url: str, cassette: Path) -> dict[str, float]:
    spec = ModelProxySpec(apis=["openai"], upstreams={"openai": upstream_url})
    settings = proxy_settings(spec, mode=mode, strict=False, redactor=Redactor(environ={}))
    figures: dict[str, float] = {}
    async with open_model_proxy(settings) as proxy:
        route = proxy.open_route()
        gateway = ReplayGateway(cassette, strict=False)
        route.bind(proxy.session(gateway, Budgets(), "bench"))
        key = route.env()["OPENAI_API_KEY"]
        figures["call"] = await _timed_in_process(proxy.port, "/openai/v1", key, REQUEST)
        if mode is RecordMode.replay:
            streamed = {**REQUEST, "stream": True}
            figures["stream"] = await _timed_in_process(proxy.port, "/openai/v1", key, streamed)
    return figures


def upstream_main() -> None:
    """The upstream as a process of its own (a provider is another machine): prints its port,
    serves until killed."""

    async def serve() -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        print(listener.extra(SocketAttribute.local_port), flush=True)
        await listener.serve(_upstream)

    anyio.run(serve)


async def measure_calls() -> dict[str, float]:
    argv = [sys.executable, "-m", "tests.bench.bench_proxy", "upstream"]
    async with await anyio.open_process(argv) as upstream:
        assert upstream.stdout is not None
        port = int((await upstream.stdout.receive()).decode())
        try:
            return await _measure_calls(port)
        finally:
            upstream.kill()


async def _measure_calls(port: int) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryDirectory() as tmp:
        cassette = _cassette(Path(tmp))
        figures = {"direct": await _timed_in_process(port, "/v1", None, REQUEST)}
        figures["httpx"] = await _httpx_call(url)
        figures["live"] = (await _proxy_calls(RecordMode.live, url, cassette))["call"]
        replay = await _proxy_calls(RecordMode.replay, url, cassette)
        figures["replay"], figures["stream"] = replay["call"], replay["stream"]
    return figures


async def _httpx_call(url: str) -> float:
    """httpx's own round trip to the upstream, in this process: the part of a forwarded call
    that is the client library's."""
    import httpx

    async with httpx.AsyncClient(base_url=url) as client:
        samples = []
        for n in range(CALLS + 20):
            start = time.perf_counter()
            await client.post("/chat/completions", json=REQUEST)
            if n >= 20:
                samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure_startup() -> tuple[float, float]:
    """(without, with) model_proxy: median ms from launch to the first agent's first line,
    the two suites run in turns so that the machine's drift hits both alike."""
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    with tempfile.TemporaryDirectory() as tmp:
        suites = []
        for proxy in (False, True):
            root = Path(tmp) / ("with" if proxy else "without")
            suite = make_suite(root, 20, STAMPED)
            if proxy:
                with (suite / "suite.yaml").open("a") as handle:
                    handle.write("model_proxy: {apis: [openai, anthropic]}\n")
            one_run(suite, root / "out")  # warm: bytecode, page cache
            suites.append((suite, root / "out"))
        starts: list[list[float]] = [[], []]
        for _ in range(REPEATS):
            for index, (suite, out) in enumerate(suites):
                starts[index].append(one_run(suite, out)[0])
    return statistics.median(starts[0]) * 1000, statistics.median(starts[1]) * 1000


# What a run with model_proxy does before its first agent that one without it does not: load
# the proxy and open its listener. In CPU time, which the machine's load barely moves.
STARTUP_WORK = """
import time
import anyio
import harness.api, harness.execute.engine, harness.attempt.run, harness.cassette.modes
from harness.cassette.redact import Redactor
from harness.config.model_proxy import ModelProxySpec
from harness.config.schema import RecordMode

async def main():  # in a running event loop, as the engine is
    start = time.process_time()
    from harness.proxy.server import open_model_proxy
    from harness.proxy.settings import proxy_settings

    settings = proxy_settings(
        ModelProxySpec(), mode=RecordMode.replay, strict=False, redactor=Redactor(environ={})
    )
    async with open_model_proxy(settings):
        print((time.process_time() - start) * 1000)

anyio.run(main)
"""


def measure_startup_work() -> float:
    """Median CPU ms of the start-up work the proxy adds, each in a fresh interpreter."""
    samples = []
    for _ in range(REPEATS):
        done = subprocess.run(
            [sys.executable, "-c", STARTUP_WORK], capture_output=True, text=True, check=True
        )
        samples.append(float(done.stdout))
    return statistics.median(samples)


def main() -> None:
    figures = anyio.run(measure_calls)
    added = (figures["live"] - figures["direct"]) * 1e3
    print(
        f"model proxy, non-streamed call: direct {figures['direct'] * 1e3:.3f} ms, through the "
        f"proxy (live) {figures['live'] * 1e3:.3f} ms: added {added:.3f} ms (target < 1 ms; "
        f"httpx's own round trip to that upstream is {figures['httpx'] * 1e3:.3f} ms); "
        f"replayed from the cassette {figures['replay'] * 1e3:.3f} ms: added "
        f"{(figures['replay'] - figures['direct']) * 1e3:.3f} ms (medians of {CALLS})"
    )
    print(
        f"model proxy, 200-event stream replayed at fast: {figures['stream'] * 1e3:.2f} ms "
        "(target < 5 ms)"
    )
    work = measure_startup_work()
    without, with_proxy = measure_startup()
    print(
        f"model proxy, run start-up: +{work:.1f} ms of CPU (loading the proxy, opening its "
        f"listener; target < 30 ms); launch to first agent {with_proxy:.0f} ms with "
        f"model_proxy vs {without:.0f} ms without (medians of {REPEATS}; wall time, noisy)"
    )
    assert AGENT  # the replay bench's agent is the one stamped


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        client_main(*sys.argv[2:])
    elif sys.argv[1:2] == ["upstream"]:
        upstream_main()
    else:
        main()
