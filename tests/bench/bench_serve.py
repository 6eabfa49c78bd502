"""`make bench` (serve): how soon a 10,000-attempt sweep's run page is usable, and whether the
server's memory grows with a run's size.

Two real sweeps of one suite (100 cases x 2 models; 5 and then 50 trials: 1,000 and 10,000
attempts; a POSIX sh agent that calls one replayed tool, logs, and fails one trial in seven) are
served by `harness serve`, each by a fresh server process. Headless Chromium (Debian's, through
Playwright) opens each run page with a cold browser cache:

- first paint: Chromium's first-contentful-paint;
- usable: the `harness:view-ready` mark the page sets once the matrix is on screen (target:
  < 1 s for 10,000 attempts), the first load (cold server) and the median of the reloads;
- the floor: the same page of a run of 10 attempts, measured side by side, so the figures read
  as a share of what this machine takes to paint any run page at all;
- memory: the server's peak RSS (VmHWM) after the page, every page of the attempts list, the
  matrix sorted four ways and a full-text search; 1,000 vs 10,000 attempts (target: flat).

Env: BENCH_REPEATS (5), BENCH_SERVE_TRIALS (50: 10,000 attempts).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

PY = sys.executable
BIN = Path(PY).parent
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
BIG_TRIALS = int(os.environ.get("BENCH_SERVE_TRIALS", "50"))
CASES, MODELS = 100, ("model-a", "model-b")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
AGENT = """\
IFS= read -r task
printf '{"type":"tool_call","name":"lookup","call_id":"c1","args":{"q":"order"}}\\n'
IFS= read -r result
printf '{"type":"log","message":"looked it up"}\\n'
case "$HARNESS_TRIAL" in
  7|14|21|28|35|42|49) printf '{"type":"final_output","output":{"reply":"no"}}\\n' ;;
  *) printf '{"type":"final_output","output":{"answer":"yes"}}\\n' ;;
esac
"""


def make_suite(root: Path, cases: int) -> Path:
    suite = root / "suite"
    (suite / "cases").mkdir(parents=True)
    (suite / "cassettes").mkdir()
    (suite / "agent.sh").write_text(AGENT)
    entry = {"tool": "lookup", "args": {"q": "order"}, "ok": True, "result": {"n": 1}}
    (suite / "cassettes" / "lookup.jsonl").write_text(json.dumps(entry) + "\n")
    (suite / "suite.yaml").write_text(
        "suite_name: serve_bench\n"
        f'agent_command: ["sh", "{suite / "agent.sh"}"]\n'
        "mode: replay\ncases_path: cases\ntool_registry: [lookup]\n"
        "assertions:\n  - type: required_fields\n    fields: [answer]\n"
    )
    for c in range(cases):
        (suite / "cases" / f"c{c:04d}.yaml").write_text(
            f"id: c{c:04d}\ninput: {{n: {c}}}\ncassette: cassettes/lookup.jsonl\n"
            f"tags: {{area: a{c % 4}}}\n"
        )
    return suite


def sweep(suite: Path, out: Path, trials: int, models: tuple[str, ...] = MODELS) -> str:
    argv = [str(BIN / "harness"), "run", str(suite), "--output-dir", str(out), "--quiet",
            "--model", ",".join(models), "--runs", str(trials), "--db", ":memory:"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        sys.exit(f"harness run failed ({done.returncode}): {done.stderr[-2000:]}")
    (run,) = (out / "serve_bench").iterdir()
    attempts = sum(1 for _ in (run / "results.jsonl").open("rb"))
    print(f"made a run of {attempts:>6} attempts in {time.perf_counter() - started:.1f} s")
    return run.name


class Server:
    """`harness serve OUT --port 0`, a process of its own."""

    def __init__(self, out: Path) -> None:
        argv = [str(BIN / "harness"), "serve", str(out), "--port", "0", "--no-open"]
        self.process = subprocess.Popen(
            [*argv, "--db", ":memory:"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        found = re.search(r"http://\S+/", line)
        if found is None:
            error = self.process.stderr.read() if self.process.stderr else ""
            sys.exit(f"harness serve did not start: {line}{error}")
        self.url = found.group(0).rstrip("/")

    def peak_rss_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        assert match is not None
        return int(match.group(1)) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def timings(page: Page) -> tuple[float, float]:
    """(first contentful paint, view ready) in ms since navigation started."""
    # Polled from here: wait_for_function evaluates a string in the page, which the CSP forbids.
    deadline = time.monotonic() + 60
    ready = "performance.getEntriesByName('harness:view-ready').length > 0"
    while not page.evaluate(ready):
        if time.monotonic() > deadline:
            sys.exit(f"the run page never became usable: {page.url}")
        time.sleep(0.02)
    found: dict[str, float] = page.evaluate(
        """() => ({
            paint: (performance.getEntriesByName('first-contentful-paint')[0]
                    || {startTime: -1}).startTime,
            ready: performance.getEntriesByName('harness:view-ready')[0].startTime,
        })"""
    )
    return found["paint"], found["ready"]


def measure_page(browser: Any, url: str, repeats: int = REPEATS) -> dict[str, Any]:
    first: tuple[float, float] | None = None
    warm: list[tuple[float, float]] = []
    for repeat in range(repeats + 1):
        context = browser.new_context(viewport={"width": 1400, "height": 900})  # cold cache
        page = context.new_page()
        page.goto(url)
        found = timings(page)
        context.close()
        if repeat == 0:
            first = found
        else:
            warm.append(found)
    assert first is not None
    if not warm:
        return {}
    return {
        "first_paint": first[0], "first_ready": first[1],
        "paint": statistics.median(w[0] for w in warm),
        "ready": statistics.median(w[1] for w in warm),
    }  # fmt: skip


def exercise(server: Server, run_id: str) -> None:
    """What people do on a big run: page through every attempt, sort, filter, search."""
    client = httpx.Client(base_url=server.url, timeout=120)
    pages = client.get(f"/api/runs/{run_id}/outcomes", params={"per_page": 500}).json()["pages"]
    for number in range(1, pages + 1):
        client.get(f"/api/runs/{run_id}/outcomes", params={"per_page": 500, "page": number})
    for sort in ("worst", "flaky", "slowest", "case"):
        client.get(f"/api/runs/{run_id}/matrix", params={"sort": sort, "per_page": 500})
    client.get(f"/api/runs/{run_id}/matrix", params={"q": "looked it up", "status": "fail"})
    client.get(f"/api/runs/{run_id}/attempts/c0042/model-b/7")
    client.close()


def main() -> None:
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        suite = make_suite(root, CASES)
        small_suite = make_suite(root / "small", 5)
        runs = {
            "floor": (root / "out-floor", sweep(small_suite, root / "out-floor", 1)),
            "1k": (root / "out-1k", sweep(suite, root / "out-1k", 5)),
            "10k": (root / "out-10k", sweep(suite, root / "out-10k", BIG_TRIALS)),
        }
        results: dict[str, dict[str, Any]] = {}
        with sync_playwright() as playwright:
            chromium = shutil.which("chromium") or "/usr/bin/chromium"
            browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
            for name, (out, run_id) in runs.items():
                server = Server(out)
                try:
                    if name == "floor":  # Chromium's own first start is nobody's page load
                        measure_page(browser, f"{server.url}/runs/{run_id}", repeats=0)
                    found = measure_page(browser, f"{server.url}/runs/{run_id}")
                    exercise(server, run_id)
                    found["rss"] = server.peak_rss_mib()
                finally:
                    server.stop()
                results[name] = found
            browser.close()
        report(results)


def report(results: dict[str, dict[str, Any]]) -> None:
    floor = results["floor"]
    for name, label in (
        ("floor", "10-attempt run"),
        ("1k", "1,000 attempts"),
        ("10k", f"{BIG_TRIALS * 200:,} attempts"),
    ):
        r = results[name]
        print(f"run page, {label:<15}: first paint {r['paint']:.0f} ms, usable {r['ready']:.0f} ms "
              f"(median of {REPEATS}); cold server: paint {r['first_paint']:.0f} ms, usable "
              f"{r['first_ready']:.0f} ms; server peak RSS {r['rss']:.1f} MiB")  # fmt: skip
    big = results["10k"]
    print(f"10k run page usable        : {big['ready']:.0f} ms = "
          f"{big['ready'] / floor['ready']:.2f}x "
          f"the floor (a 10-attempt run's page, {floor['ready']:.0f} ms); cold server "
          f"{big['first_ready']:.0f} ms (target < 1000 ms)")  # fmt: skip
    growth = big["rss"] - results["1k"]["rss"]
    print(f"server peak RSS growth     : {growth:+.1f} MiB from 1,000 to "
          f"{BIG_TRIALS * 200:,} attempts "
          f"({big['rss'] / results['1k']['rss']:.2f}x; target: flat)")  # fmt: skip
    print(f"load average during bench  : {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
