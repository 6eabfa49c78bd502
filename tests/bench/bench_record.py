"""`make bench`: record-mode overhead per tool call against a Python tool, in microseconds.

Measured in process, so agent spawns do not drown the figure: a call through RecordGateway
(policy: timeout + retry wrapper, the backend, redaction of args and result, staging) against
the same function called directly. Sync tools also pay a worker-thread hop; async tools do not.
Also: a replayed call (ReplayGateway, redaction-aware matching) and the atomic cassette write
per attempt. Medians of BENCH_RECORD_CALLS calls (default 2000).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from harness.cassette.gateway import RecordGateway, ReplayGateway
from harness.cassette.keys import Matcher
from harness.cassette.recorder import CassetteRecorder
from harness.cassette.redact import Redactor
from harness.config.schema import RedactSpec
from harness.tools.backend import LiveTool
from harness.tools.python import PythonBackend
from harness.tools.registry import ToolSet

CALLS = int(os.environ.get("BENCH_RECORD_CALLS", "2000"))
ARGS: dict[str, Any] = {"city": "Paris", "units": "metric", "days": 3, "token_count": 5}


def weather(city: str, units: str, days: int, token_count: int) -> dict[str, Any]:
    return {
        "city": city,
        "units": units,
        "forecast": [{"day": d, "temp_c": 20 + d} for d in range(days)],
    }


async def weather_async(city: str, units: str, days: int, token_count: int) -> dict[str, Any]:
    return weather(city, units, days, token_count)


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


async def time_calls(call: Any, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


async def measure(folder: Path) -> dict[str, float]:
    redactor = Redactor(RedactSpec(env=["BENCH_SECRET"]), {"BENCH_SECRET": "s3cr3t-value-123"})
    tools = ToolSet(
        {
            "weather": LiveTool("weather", PythonBackend(weather)),
            "weather_async": LiveTool("weather_async", PythonBackend(weather_async)),
        }
    )
    recorder = CassetteRecorder([], redactor=redactor, kind_of=tools.kind)

    def gateway(path: Path) -> RecordGateway:
        return RecordGateway(
            tools, redactor, recorder=recorder, case_id="bench", cassette_path=path
        )

    async def direct() -> None:
        weather(**ARGS)

    async def direct_async() -> None:
        await weather_async(**ARGS)

    sync_gateway = gateway(folder / "sync.jsonl")
    async_gateway = gateway(folder / "async.jsonl")
    figures = {
        "direct_sync_us": median_us(await time_calls(direct, CALLS)),
        "direct_async_us": median_us(await time_calls(direct_async, CALLS)),
        "record_sync_us": median_us(
            await time_calls(lambda: sync_gateway.answer("weather", dict(ARGS)), CALLS)
        ),
        "record_async_us": median_us(
            await time_calls(lambda: async_gateway.answer("weather_async", dict(ARGS)), CALLS)
        ),
    }
    # The write when an attempt ends: 10 interactions, header first, temp file + fsync + rename.
    writes = []
    for i in range(50):
        attempt = gateway(folder / f"case{i}.jsonl")
        for _ in range(10):
            await attempt.answer("weather_async", dict(ARGS))
        start = time.perf_counter()
        attempt.finish(completed=True)
        writes.append(time.perf_counter() - start)
    figures["cassette_write_10_calls_us"] = median_us(writes)

    replay = folder / "case0.jsonl"

    def replaying() -> ReplayGateway:
        return ReplayGateway(replay, strict=False, matcher=Matcher(redactor, None))

    replayer = replaying()
    await replayer.answer("weather_async", dict(ARGS))  # load once
    figures["replay_call_us"] = median_us(
        await time_calls(lambda: replayer.answer("weather_async", dict(ARGS)), CALLS)
    )
    figures["record_overhead_sync_us"] = figures["record_sync_us"] - figures["direct_sync_us"]
    figures["record_overhead_async_us"] = figures["record_async_us"] - figures["direct_async_us"]
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        figures = anyio.run(measure, Path(folder))
    print(f"record mode, Python tool, median of {CALLS} calls (µs):")
    rows = [
        ("direct call, sync function", "direct_sync_us"),
        ("record call, sync function", "record_sync_us"),
        ("  overhead per call (sync)", "record_overhead_sync_us"),
        ("direct call, async function", "direct_async_us"),
        ("record call, async function", "record_async_us"),
        ("  overhead per call (async)", "record_overhead_async_us"),
        ("replayed call", "replay_call_us"),
        ("cassette write, 10 calls", "cassette_write_10_calls_us"),
    ]
    for label, key in rows:
        print(f"  {label:<30} {figures[key]:9.1f}")
    print(json.dumps({"bench": "record", **{k: round(v, 1) for k, v in figures.items()}}))


if __name__ == "__main__":
    main()
