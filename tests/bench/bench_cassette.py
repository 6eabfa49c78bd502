"""`make bench`: a 1,000,000-entry cassette (BENCH_CASSETTE_ENTRIES), replayed by an agent that
makes three calls, against the same suite with a 3-entry cassette, measured side by side.

Prints medians of BENCH_CASSETTE_REPEATS runs (default 3): wall seconds and peak RSS of
`harness run` with each cassette and with the large one under `--strict --quiet` (which must
stay bounded: console bytes, summary.json bytes); the extra time and memory per entry; and the
floor any loader that looks at every line pays on this machine: reading the file and decoding
each line with msgspec, in-process (the share of it is that floor / harness's extra time).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from tests.bench.bench_replay import PY, timed

ENTRIES = int(os.environ.get("BENCH_CASSETTE_ENTRIES", "1000000"))
REPEATS = int(os.environ.get("BENCH_CASSETTE_REPEATS", "3"))
CALLS = 3

AGENT = """\
import json, sys
task = json.loads(sys.stdin.readline())
out = []
for i in range(3):
    call = {"type": "tool_call", "name": "lookup", "call_id": str(i),
            "args": {"n": i, "q": "some query text here"}}
    sys.stdout.write(json.dumps(call) + "\\n")
    sys.stdout.flush()
    out.append(json.loads(sys.stdin.readline())["result"])
sys.stdout.write(json.dumps({"type": "final_output", "output": {"results": out}}) + "\\n")
sys.stdout.flush()
"""


def make_suite(root: Path, entries: int) -> Path:
    """One case whose cassette holds `entries` lookups; the agent calls the first three."""
    suite = root / f"suite-{entries}"
    (suite / "cases").mkdir(parents=True)
    (suite / "cassettes").mkdir()
    (suite / "agent.py").write_text(AGENT)
    (suite / "suite.yaml").write_text(
        f"suite_name: big\nagent_command: [{PY}, agent.py]\nmode: replay\n"
        "cases_path: cases\ntool_registry: [lookup]\n"
    )
    (suite / "cases" / "c.yaml").write_text("id: c\ninput: {}\ncassette: cassettes/c.jsonl\n")
    with open(suite / "cassettes" / "c.jsonl", "w", encoding="utf-8") as handle:
        for n in range(entries):
            entry = {
                "args": {"n": n, "q": "some query text here"},
                "ok": True,
                "result": {"value": n * 7, "text": "an answer of moderate size"},
                "tool": "lookup",
            }
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
    return suite


def run(suite: Path, root: Path, *args: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one `harness run`."""
    argv = [PY, "-m", "harness", "run", str(suite), "--output-dir", str(root / "out")]
    seconds, rss, code, _ = timed([*argv, "--db", ":memory:", *args], root)
    expected = 1 if "--strict" in args else 0
    if code != expected:
        sys.exit(f"harness run {' '.join(args)} exited {code}, expected {expected}")
    return seconds, rss


def floor_seconds(cassette: Path) -> float:
    """Read the file and decode every line: what any loader that looks at each line pays."""
    started = time.perf_counter()
    decoder = msgspec.json.Decoder()
    with open(cassette, "rb") as handle:
        for line in handle:
            decoder.decode(line)
    return time.perf_counter() - started


def strict_output(suite: Path, root: Path) -> tuple[int, int]:
    """Console bytes and summary.json bytes of a `--strict --quiet` run."""
    out = root / "strict"
    argv = [PY, "-m", "harness", "run", str(suite), "--output-dir", str(out), "--db", ":memory:"]
    done = subprocess.run([*argv, "--strict", "--quiet"], capture_output=True, check=False)
    summaries = sorted(out.glob("*/*/summary.json"))
    return len(done.stdout) + len(done.stderr), summaries[-1].stat().st_size


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="harness-bench-cassette-") as tmp:
        root = Path(tmp)
        small, large = make_suite(root, CALLS), make_suite(root, ENTRIES)
        cassette = large / "cassettes" / "c.jsonl"
        rows: dict[str, list[tuple[float, int]]] = {"small": [], "large": [], "strict": []}
        floors = []
        for _ in range(REPEATS):  # side by side: each repetition measures all four
            rows["small"].append(run(small, root))
            rows["large"].append(run(large, root))
            rows["strict"].append(run(large, root, "--strict", "--quiet"))
            floors.append(floor_seconds(cassette))
        console, summary = strict_output(large, root)
        size_mb = cassette.stat().st_size / 1e6
    med = {
        name: (statistics.median(s for s, _ in r), statistics.median(m for _, m in r))
        for name, r in rows.items()
    }
    extra_s = med["large"][0] - med["small"][0]
    extra_kib = med["large"][1] - med["small"][1]
    floor = statistics.median(floors)
    print(f"cassette: {ENTRIES:,} entries ({size_mb:.0f} MB), medians of {REPEATS}")
    for name, (seconds, rss) in med.items():
        print(f"  {name:6s} {seconds:7.2f} s  peak RSS {rss / 1024:7.0f} MiB")
    print(
        f"  extra for the large cassette: {extra_s:.2f} s ({extra_s / ENTRIES * 1e6:.2f} us "
        f"an entry), {extra_kib * 1024 / ENTRIES:.0f} bytes of RSS an entry"
    )
    print(
        f"  floor (read + decode every line in-process): {floor:.2f} s; harness's extra time "
        f"is {extra_s / floor:.1f}x it"
    )
    print(f"  --strict --quiet: {console:,} console bytes, summary.json {summary:,} bytes")


if __name__ == "__main__":
    main()
