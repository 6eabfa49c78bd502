"""`make bench`: a real framework's agent, replayed four ways side by side in one run.

A generated suite of BENCH_FRAMEWORK_CASES (200) cases whose agent is a pydantic-ai `Agent` on a
scripted `FunctionModel` that makes 3 tool calls per case, spoken over the protocol. It runs:
- `harness run --agent-reuse fork` (preload: what the agent imports in a case): a fresh child
  per case;
- `harness run --agent-reuse per_worker`: the same agent through the SDK's `serve`;
- `harness run --agent-reuse never`: a fresh interpreter per case, paying the import each time;
- RunLedger 0.2.3's `runledger run`, on the same suite files.
pydantic-ai and RunLedger live in the bench's own venv (.bench/framework-venv, made on first
use: pinned, never project dependencies). The agent runs on that venv's interpreter.

`never` and RunLedger pay about a second per case, so they run the first BENCH_SLOW_CASES (30)
cases of the same suite (all of them with BENCH_FULL=1); every figure is cases per second. Each
repetition runs all four, in rotating order; ratios are medians of the per-repetition ratios.
Memory is the peak, over the run, of the summed PSS of the runner and every process under it
(shared pages counted once), sampled every 50 ms, and the largest single process's peak RSS.
Targets (2 cores): fork >= 10x never, >= 20x RunLedger, within 2x of per_worker.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VENV = Path(os.environ.get("BENCH_FRAMEWORK_VENV", REPO / ".bench" / "framework-venv"))
PINS = ["pydantic-ai-slim==2.68.0", "runledger==0.2.3"]
CASES = int(os.environ.get("BENCH_FRAMEWORK_CASES", "200"))
SLOW_CASES = (
    CASES if os.environ.get("BENCH_FULL") else int(os.environ.get("BENCH_SLOW_CASES", "30"))
)
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
CALLS = 3

AGENT = '''\
"""A pydantic-ai agent whose model is scripted: three lookups, then the answer."""
import json
import os
import sys

from pydantic_ai import Agent
from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

CALLS = 3


def script(messages, info: AgentInfo) -> ModelResponse:
    returns = [p for m in messages for p in m.parts if isinstance(p, ToolReturnPart)]
    if len(returns) < CALLS:
        return ModelResponse(parts=[ToolCallPart("lookup", {"n": len(returns)})])
    return ModelResponse(parts=[TextPart(json.dumps([r.content for r in returns]))])


agent = Agent(FunctionModel(script))
current = {}


@agent.tool_plain
def lookup(n: int) -> dict:
    """Look a number up (answered by the runner from the case's cassette)."""
    return current["call"]("lookup", {"n": n, "case": current["case"]})


def answer(case_id, call):
    current.update(case=case_id, call=call)
    return {"results": json.loads(agent.run_sync(f"look up case {case_id}").output)}


def protocol_1():
    def call(name, args):
        message = {"type": "tool_call", "name": name, "call_id": str(args["n"]), "args": args}
        sys.stdout.write(json.dumps(message) + "\\n")
        sys.stdout.flush()
        return json.loads(sys.stdin.readline())["result"]

    task = json.loads(sys.stdin.readline())
    output = answer(task["task_id"], call)
    sys.stdout.write(json.dumps({"type": "final_output", "output": output}) + "\\n")
    sys.stdout.flush()


if __name__ == "__main__":
    if os.environ.get("BENCH_SERVE"):  # per_worker: the SDK keeps the process
        from harness.sdk.serve import serve

        serve(lambda task: answer(task.task_id, lambda n, a: task.call(n, a).result))
    else:
        protocol_1()
'''


def ensure_venv() -> Path:
    """The bench's own venv with the pinned framework and RunLedger; harness's SDK (stdlib
    only) is put on its path with a .pth file for `serve`."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".pins"
    if stamp.exists() and stamp.read_text() == "\n".join(PINS):
        return python
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PINS],
        check=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "harness_sdk_for_bench.pth").write_text(str(REPO) + "\n")
    stamp.write_text("\n".join(PINS))
    return python


def make_suite(root: Path, cases: int, python: Path) -> Path:
    suite = root / f"framework-{cases}"
    (suite / "cases").mkdir(parents=True)
    (suite / "cassettes").mkdir()
    (suite / "agent.py").write_text(AGENT)
    (suite / "suite.yaml").write_text(
        "suite_name: framework\n"
        f"agent_command: [{python}, agent.py]\n"
        "mode: replay\ncases_path: cases\ntool_registry: [lookup]\n"
        "assertions:\n  - type: required_fields\n    fields: [results]\n"
    )
    for c in range(cases):
        case_id = f"c{c:04d}"
        (suite / "cases" / f"{case_id}.yaml").write_text(
            f"id: {case_id}\ninput: {{question: 'case {c}'}}\ncassette: cassettes/{case_id}.jsonl\n"
        )
        entries = [
            {"tool": "lookup", "args": {"n": i, "case": case_id}, "ok": True,
             "result": {"value": i * 7}, "error": None}
            for i in range(CALLS)
        ]  # fmt: skip
        (suite / "cassettes" / f"{case_id}.jsonl").write_text(
            "".join(json.dumps(entry, sort_keys=True) + "\n" for entry in entries)
        )
    return suite


def _tree(root: int) -> list[int]:
    pids, pending = [], [root]
    while pending:
        pid = pending.pop()
        pids.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    pending.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return pids


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class Measured(NamedTuple):
    seconds: float  # wall
    cpu: float  # CPU seconds of the runner and every process it reaped (agents, servers)
    pss: int  # peak of the summed PSS of the process tree, KiB
    rss: int  # peak RSS of the largest single process, KiB


def measured(argv: list[str], cwd: Path, env: dict[str, str]) -> Measured:
    """One run, timed, its CPU counted and its memory sampled."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], sum(_pss_kib(pid) for pid in _tree(proc.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    assert proc.stderr is not None
    errors = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"bench run failed (exit {code}): {' '.join(argv)}\n{errors[-2000:]}")
    return Measured(seconds, usage.ru_utime + usage.ru_stime, peak[0], usage.ru_maxrss)


def main() -> None:
    python = ensure_venv()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        full, slow = make_suite(root, CASES, python), make_suite(root, SLOW_CASES, python)
        # fork preloads the framework; the slow suite stays as RunLedger reads it (it refuses
        # keys it does not know), and `never` has no use for preload.
        text = (full / "suite.yaml").read_text()
        # What `python -X importtime agent.py` shows the agent importing in a case (docs/fork.md):
        # the framework, the submodules it names, and what pydantic-ai imports lazily in a run.
        preload = (
            "[pydantic_ai, pydantic_ai.messages, pydantic_ai.models.function, genai_prices.data, "
            "anyio._backends._asyncio]"
        )
        (full / "suite.yaml").write_text(text + f"preload: {preload}\n")
        harness = [str(BIN / "harness"), "run"]
        out = ["--output-dir", str(root / "out"), "-q", "--db", ""]

        def reuse(suite: Path, mode: str) -> list[str]:
            return [*harness, str(suite), "--agent-reuse", mode, *out]

        serve = {**env, "BENCH_SERVE": "1"}
        runs: dict[str, Callable[[], Measured]] = {
            "fork": lambda: measured(reuse(full, "fork"), root, env),
            "per_worker": lambda: measured(reuse(full, "per_worker"), root, serve),
            "never": lambda: measured(reuse(slow, "never"), root, env),
            "runledger": lambda: measured(
                [str(python.parent / "runledger"), "run", str(slow), "--mode", "replay",
                 "--output-dir", str(root / "rl")],
                root,
                env,
            ),
        }  # fmt: skip
        cases = {"fork": CASES, "per_worker": CASES, "never": SLOW_CASES, "runledger": SLOW_CASES}
        results: dict[str, list[Measured]] = {name: [] for name in runs}
        runs["fork"]()  # warm: bytecode of the framework, the page cache
        order = list(runs)
        for repeat in range(REPEATS):
            for name in order[repeat % 4 :] + order[: repeat % 4]:
                results[name].append(runs[name]())
    report(results, cases, cores)


def report(results: dict[str, list[Measured]], cases: dict[str, int], cores: int) -> None:
    """Cases/s as measured, and as the CPU each case took (every process of the run) would
    allow on `cores` idle cores: the second is what a loaded, shared machine cannot show."""
    # RunLedger runs one case after another: one core at most, however many are idle.
    usable = {name: 1 if name == "runledger" else cores for name in results}
    rates = {name: [cases[name] / run.seconds for run in runs] for name, runs in results.items()}
    by_cpu = {
        name: [cases[name] * usable[name] / run.cpu for run in runs]
        for name, runs in results.items()
    }

    def ratio(a: str, b: str) -> str:
        measured_ratio = statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))
        cpu_ratio = statistics.median(x / y for x, y in zip(by_cpu[a], by_cpu[b], strict=True))
        return f"{measured_ratio:.1f}x measured, {cpu_ratio:.1f}x on idle cores (by CPU a case)"

    print(
        f"framework bench              : pydantic-ai agent, {CALLS} tool calls per case, "
        f"repeats {REPEATS}, cores {cores}, load average {os.getloadavg()[0]:.1f}"
    )
    for name, runs in results.items():
        cpu_ms = statistics.median(run.cpu / cases[name] for run in runs) * 1000
        pss = statistics.median(run.pss for run in runs) / 1024
        rss = statistics.median(run.rss for run in runs) / 1024
        print(
            f"  {name:<27}: {statistics.median(rates[name]):6.1f} cases/s ({cases[name]} cases); "
            f"{cpu_ms:.0f} ms CPU a case, all processes ({usable[name] / cpu_ms * 1000:.0f} "
            f"cases/s on idle cores); peak {pss:.0f} MiB PSS, largest process {rss:.0f} MiB RSS"
        )
    print(f"fork vs never                : {ratio('fork', 'never')} (target >= 10x)")
    print(f"fork vs RunLedger            : {ratio('fork', 'runledger')} (target >= 20x)")
    print(
        f"per_worker vs fork           : {ratio('per_worker', 'fork')} "
        "(target: fork within 2x of per_worker)"
    )


if __name__ == "__main__":
    main()
