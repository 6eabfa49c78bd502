"""`make bench`: the serial ends of a 200-case replay run, seen from outside harness.

Start-up is from launching `harness run` to the first agent's first line of Python; finish is
from the last agent's last line to harness's exit. One core idles through both, so each ms
there is a full ms of wall time. The agents stamp the clock (time.time(), shared by every
process) into two files; nothing inside harness is timed or patched. Prints medians.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.bench_replay import AGENT, BIN, CASES, make_suite

REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
# The replay bench's agent, stamping when it starts and when it is done.
STAMPED = (
    "import os, time\n"
    "def _stamp(name):\n"
    "    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), name), 'a') as f:\n"
    "        f.write(repr(time.time()) + '\\n')\n"
    "_stamp('starts.log')\n" + AGENT + "_stamp('ends.log')\n"
)


def _stamps(path: Path) -> list[float]:
    return [float(line) for line in path.read_text().split()]


def one_run(suite: Path, out: Path) -> tuple[float, float]:
    """(start-up, finish) seconds of one `harness run`."""
    for name in ("starts.log", "ends.log"):
        (suite / name).unlink(missing_ok=True)
    launched = time.time()
    done = subprocess.run(
        [str(BIN / "harness"), "run", str(suite), "--output-dir", str(out), "-q"],
        cwd=out.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    exited = time.time()
    if done.returncode != 0:
        sys.exit(f"harness run failed with exit {done.returncode}")
    return min(_stamps(suite / "starts.log")) - launched, exited - max(_stamps(suite / "ends.log"))


def main() -> None:
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # what a user gets: bytecode cached
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        suite = make_suite(root, CASES, STAMPED)
        one_run(suite, root / "out")  # warm: bytecode, page cache, the history database
        runs = [one_run(suite, root / "out") for _ in range(REPEATS)]
    starts = [start for start, _ in runs]
    finishes = [finish for _, finish in runs]
    start_ms, finish_ms = statistics.median(starts) * 1000, statistics.median(finishes) * 1000
    print(
        f"start-up to the first agent: {start_ms:.0f} ms (median of {REPEATS}; "
        f"{min(starts) * 1000:.0f}-{max(starts) * 1000:.0f}), {CASES} cases"
    )
    print(
        f"last agent to harness exit : {finish_ms:.0f} ms (median; "
        f"{min(finishes) * 1000:.0f}-{max(finishes) * 1000:.0f})"
    )


if __name__ == "__main__":
    main()
