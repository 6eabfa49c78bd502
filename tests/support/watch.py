"""Watch a `harness run` from outside: its peak memory and open file descriptors."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass, field

import psutil


@dataclass
class Watched:
    exit_code: int
    stdout: str
    stderr: str
    peak_rss: int  # bytes, of the harness process alone (agents are measured apart)
    seconds: float
    # (seconds since start, rss bytes, open fds) every 20 ms: flat memory, no fd leak.
    samples: list[tuple[float, int, int]] = field(default_factory=list)


def run_watched(argv: list[str], *, cwd: str, env: dict[str, str], timeout: float = 120) -> Watched:
    """Run `argv`, sampling its resident set size every 20 ms until it exits."""
    started = time.monotonic()
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    samples: list[tuple[float, int, int]] = []
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        watched = psutil.Process(process.pid)
        while not stop.is_set():
            try:
                rss = watched.memory_info().rss
                samples.append((time.monotonic() - started, rss, watched.num_fds()))
            except psutil.Error:
                return
            peak = max(peak, rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        stop.set()
        sampler.join()
        if process.poll() is None:
            process.kill()
            process.wait()
    seconds = time.monotonic() - started
    return Watched(process.returncode, stdout, stderr, peak, seconds, samples)
