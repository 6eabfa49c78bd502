"""`make bench`: persistent agents and the Ray engine, measured in one run on this machine.

1. 200-case replay with a process per case (`--agent-reuse never`) against persistent agents
   (protocol 2, `multi_task`, `per_worker`): target persistent >= 5x faster on 2 cores.
2. The same run on the local pool against `--engine ray` on a local Ray cluster of this machine's
   cores, both with persistent agents, after a warm-up run: Ray's overhead per attempt, target
   < 2 ms. Skipped when Ray is not installed.

Runs go through the Python API (`harness.run_sync`), so the figures leave out the CLI's start-up
(about 0.2 s, measured by bench_replay.py). Medians of BENCH_REPEATS runs.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CASES = int(os.environ.get("BENCH_CASES", "200"))
CALLS = 3
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
PY = sys.executable

# A protocol-2 agent: says hello, then answers task after task until stdin closes.
AGENT = """\
import json, sys
sys.stdout.write(json.dumps({"type": "hello", "protocol": 2, "capabilities": ["multi_task"]}))
sys.stdout.write("\\n")
sys.stdout.flush()
for line in sys.stdin:
    task = json.loads(line)
    results = []
    for i in range(int(task["input"]["calls"])):
        call = {"type": "tool_call", "name": "lookup", "call_id": str(i),
                "args": {"n": i, "case": task["task_id"]}}
        sys.stdout.write(json.dumps(call) + "\\n")
        sys.stdout.flush()
        results.append(json.loads(sys.stdin.readline())["result"])
    sys.stdout.write(json.dumps({"type": "final_output", "output": {"results": results}}) + "\\n")
    sys.stdout.flush()
"""


def make_suite(root: Path, cases: int) -> Path:
    # The same suite as bench_replay.py, answered by the protocol-2 agent.
    from tests.bench.bench_replay import make_suite as make_replay_suite

    return make_replay_suite(root, cases, AGENT)


def timed_run(suite: Path, out: Path, **options: object) -> float:
    import harness

    started = time.perf_counter()
    report = harness.run_sync(harness.RunOptions(suite=suite, output_dir=out, **options))  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    if report.exit_code != 0 or len(report.results) != CASES:
        sys.exit(f"bench run failed: exit {report.exit_code}, {len(report.results)} results")
    return seconds


def median_of(run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(REPEATS))


def main() -> None:
    os.environ["PATH"] = f"{Path(PY).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        suite = make_suite(root, CASES)
        out = root / "out"
        spawn = median_of(lambda: timed_run(suite, out, agent_reuse="never"))
        kept = median_of(lambda: timed_run(suite, out, agent_reuse="per_worker"))
        print(f"cases x tool calls         : {CASES} x {CALLS}, repeats {REPEATS}, cores {cores}")
        print(f"process per case           : {spawn:.2f} s, {CASES / spawn:.0f} cases/s")
        print(f"persistent agents          : {kept:.2f} s, {CASES / kept:.0f} cases/s")
        print(f"persistent speed-up        : {spawn / kept:.1f}x (target >= 5x)")
        try:
            import ray
        except ImportError:
            print("local pool vs Ray          : skipped (Ray not installed: pip install '.[ray]')")
            return
        ray.init(
            num_cpus=cores,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
        )
        try:
            timed_run(suite, out, engine="ray")  # warm-up: Ray starts its worker processes
            local = median_of(lambda: timed_run(suite, out))
            remote = median_of(lambda: timed_run(suite, out, engine="ray"))
        finally:
            ray.shutdown()
        overhead_ms = (remote - local) / CASES * 1000
        print(f"local pool (persistent)    : {local:.2f} s, {CASES / local:.0f} cases/s")
        print(f"ray engine (persistent)    : {remote:.2f} s, {CASES / remote:.0f} cases/s")
        print(f"ray overhead per attempt   : {overhead_ms:.2f} ms (target < 2 ms)")


if __name__ == "__main__":
    main()
