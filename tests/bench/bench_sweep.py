"""`make bench` (sweeps): throughput of a 2-model x 5-trial x 40-case sweep against the ideal,
and peak RSS of sweeps of 1,000 and 10,000 attempts.

The ideal is what the machine could do if harness cost nothing: cores / the CPU seconds one
case costs in a bare sequential loop (spawn the agent, send task_start, read final_output,
reap). The ratio is harness's attempts/s over that; target >= 0.85.

Memory uses a POSIX sh agent (the cheapest to start), one suite of 100 cases x 2 models, with 5
and then 50 trials: only the number of attempts changes. A run keeps counts, not results (issue
4), so the peak should grow by well under 5 MiB from 1,000 to 10,000 attempts; most of what
still grows is the plan itself (~210 bytes an attempt). Each run gets a fresh history database.
Env: BENCH_REPEATS (3), BENCH_BIG_ATTEMPTS (10000; 0 skips the big run; 100000 for the soak).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
BIN = Path(PY).parent
CORES = os.cpu_count() or 1
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
BIG = int(os.environ.get("BENCH_BIG_ATTEMPTS", "10000"))
CASES, MODELS, TRIALS = 40, ("model-a", "model-b"), 5

PY_AGENT = """\
import json, sys
task = json.loads(sys.stdin.readline())
out = {"type": "final_output", "output": {"answer": task["task_id"]}}
sys.stdout.write(json.dumps(out) + "\\n")
sys.stdout.flush()
"""
SH_AGENT = """\
IFS= read -r task
printf '{"type":"final_output","output":{"answer":1}}\\n'
"""


def make_suite(root: Path, cases: int, agent: list[str]) -> Path:
    suite = root / "suite"
    (suite / "cases").mkdir(parents=True)
    (suite / "agent.py").write_text(PY_AGENT)
    (suite / "agent.sh").write_text(SH_AGENT)
    command = json.dumps(
        [str(suite / part) if part.startswith("agent.") else part for part in agent]
    )
    (suite / "suite.yaml").write_text(
        "suite_name: sweep_bench\n"
        f"agent_command: {command}\n"
        "mode: replay\ncases_path: cases\ntool_registry: []\n"
        "assertions:\n  - type: required_fields\n    fields: [answer]\n"
    )
    for c in range(cases):
        (suite / "cases" / f"c{c:04d}.yaml").write_text(f"id: c{c:04d}\ninput: {{n: {c}}}\n")
    return suite


def bare_cpu_per_case(argv: list[str], cases: int) -> tuple[float, float]:
    """(CPU seconds per case, wall seconds per case) of a sequential spawn-talk-reap loop,
    counting the loop's own CPU and the agents'."""
    before, started = os.times(), time.perf_counter()
    for c in range(cases):
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"type": "task_start", "task_id": f"c{c}", "input": {}}) + "\n")
        proc.stdin.flush()
        json.loads(proc.stdout.readline())
        proc.stdin.close()
        proc.wait()
    after, wall = os.times(), time.perf_counter() - started
    cpu = sum(after[i] - before[i] for i in range(4))  # user, system, children user/system
    return cpu / cases, wall / cases


def side_by_side_rate(argv: list[str], cases: int) -> tuple[float, float]:
    """(attempts/s, CPU seconds per case) of one bare loop per core running at once, with no
    harness: what this machine's cores really give together (2 vCPUs sharing a core's caches
    make each process slower than alone, so this is below `CORES / CPU per case`)."""
    before, started = os.times(), time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(CORES) as pool:
        list(pool.map(bare_cpu_per_case, [argv] * CORES, [cases] * CORES))
    after, wall = os.times(), time.perf_counter() - started
    cpu = sum(after[i] - before[i] for i in (2, 3))  # the loops' and their agents' CPU
    return CORES * cases / wall, cpu / (CORES * cases)


def run_harness(suite: Path, out: Path, *args: str) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of harness and its agents, peak RSS KiB of harness)."""
    argv = [str(BIN / "harness"), "run", str(suite), "--output-dir", str(out), "--quiet", *args]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        error = proc.stderr.read().decode() if proc.stderr else ""
        sys.exit(f"harness run failed with exit {code}: {error}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def throughput(root: Path) -> None:
    suite = make_suite(root / "tp", CASES, [PY, "agent.py"])
    attempts = CASES * len(MODELS) * TRIALS
    models = ",".join(MODELS)
    bares, walls, cpus, ceilings = [], [], [], []
    for repeat in range(REPEATS):
        bares.append(bare_cpu_per_case([PY, str(suite / "agent.py")], CASES))
        ceilings.append(side_by_side_rate([PY, str(suite / "agent.py")], CASES))
        wall, cpu, _ = run_harness(
            suite, root / f"out-tp-{repeat}", "--model", models, "--runs", str(TRIALS)
        )
        walls.append(wall)
        cpus.append(cpu)
    cpu_per_case = statistics.median(b[0] for b in bares)
    ideal = CORES / cpu_per_case
    wall = statistics.median(walls)
    rate = attempts / wall
    cpu_per_attempt = statistics.median(cpus) / attempts  # harness and its agents
    overhead_ms = (cpu_per_attempt - cpu_per_case) * 1000
    print(f"sweep                      : {CASES} cases x {len(MODELS)} models x {TRIALS} trials "
          f"= {attempts} attempts, {CORES} cores, repeats {REPEATS}")  # fmt: skip
    print(f"bare loop, CPU per case    : {cpu_per_case * 1000:.1f} ms "
          f"(wall {statistics.median(b[1] for b in bares) * 1000:.1f} ms)")  # fmt: skip
    print(f"ideal ({CORES} cores / CPU)     : {ideal:.1f} attempts/s")
    print(f"harness sweep              : {wall:.2f} s (median), {rate:.1f} attempts/s")
    print(f"ratio to ideal             : {rate / ideal:.2f} (target >= 0.85)")
    ceiling = statistics.median(c[0] for c in ceilings)
    print(f"machine ceiling            : {ceiling:.1f} attempts/s = {ceiling / ideal:.2f} of ideal "
          f"({CORES} bare loops side by side, no harness, CPU per case "
          f"{statistics.median(c[1] for c in ceilings) * 1000:.1f} ms); harness reaches "
          f"{rate / ceiling:.0%} of it")  # fmt: skip
    # What the ratio would be with every core busy on this run alone: CPU spent per attempt
    # (harness + agent) against the bare loop's. Unlike the wall ratio, other load on the
    # machine barely moves it.
    print(f"CPU per attempt            : {cpu_per_attempt * 1000:.1f} ms (harness + agent), "
          f"{overhead_ms:+.1f} ms vs the bare loop; CPU-bound ratio "
          f"{cpu_per_case / cpu_per_attempt:.2f}")  # fmt: skip
    print(
        f"load average during bench  : {os.getloadavg()[0]:.2f} (other work skews the wall ratio)"
    )


def memory(root: Path) -> None:
    cases = 100
    suite = make_suite(root / "mem", cases, ["sh", "agent.sh"])
    models = ",".join(MODELS)
    sizes = [1000] + ([BIG] if BIG else [])
    peaks = []
    for attempts in sizes:
        trials = max(attempts // (cases * len(MODELS)), 1)
        out = root / f"out-mem-{attempts}"
        db = str(out / "history.db")
        wall, _, peak = run_harness(
            suite, out, "--model", models, "--runs", str(trials), "--db", db
        )
        total = cases * len(MODELS) * trials
        peaks.append((total, peak))
        print(f"peak RSS, {total:>6} attempts : {peak / 1024:.1f} MiB ({wall:.1f} s, "
              f"{total / wall:.0f} attempts/s, sh agent)")  # fmt: skip
    if len(peaks) == 2:
        (small, low), (large, high) = peaks
        print(f"peak RSS growth            : {(high - low) / 1024:+.1f} MiB from {small} to "
              f"{large} attempts, {(high - low) * 1024 / (large - small):.0f} bytes an attempt "
              "(target: flat; was +32 MiB, 3.6 KiB an attempt, for 10,000)")  # fmt: skip


def main() -> None:
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    with tempfile.TemporaryDirectory() as tmp:
        throughput(Path(tmp))
        memory(Path(tmp))


if __name__ == "__main__":
    main()
