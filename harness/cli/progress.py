"""Progress of a run on stderr: a live rich display on a terminal, plain periodic lines in a
log (no TTY, or CI=true), nothing with --quiet; --verbose also streams every agent's stderr and
log messages, each line prefixed by its attempt id.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from harness.api import RunEvents
from harness.attempt.spec import AttemptPlan
from harness.config.schema import Suite
from harness.excerpts import for_terminal
from harness.plan.build import Plan
from harness.results import BUDGET_EXCEEDED, FAILED, INFRA_ERROR, PASSED, AttemptResult

QUIET, NORMAL, VERBOSE = "quiet", "normal", "verbose"
# Seconds between two plain progress lines; HARNESS_PROGRESS_SECONDS overrides (tests, CI).
PLAIN_INTERVAL_SECONDS = 10.0
RUNNING_SHOWN = 6
PLAIN_MODELS_SHOWN = 6


class _Tally:
    """Counts of one row of the display: everything, or one model."""

    def __init__(self, planned: int = 0) -> None:
        self.planned = planned
        self.outcomes: Counter[str] = Counter()

    @property
    def done(self) -> int:
        return sum(self.outcomes.values())


class ProgressEvents(RunEvents):
    """The console's RunEvents. Call `close()` when the run returns (it stops the display)."""

    def __init__(self, verbosity: str = NORMAL, *, interactive: bool | None = None) -> None:
        self.verbosity = verbosity
        if interactive is None:
            interactive = sys.stderr.isatty() and os.environ.get("CI", "").lower() != "true"
        self.interactive = interactive
        self.wants_agent_output = verbosity == VERBOSE
        self.total = _Tally()
        self.models: dict[str | None, _Tally] = {}
        self.running: dict[str, float] = {}
        self.started_at = time.monotonic()
        self.interval = float(os.environ.get("HARNESS_PROGRESS_SECONDS", PLAIN_INTERVAL_SECONDS))
        self._partial: dict[str, str] = {}
        self._live: Any = None
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # RunEvents ------------------------------------------------------------------------------

    def warning(self, message: str) -> None:
        self._print(f"warning: {message}")

    def plan_ready(self, plan: Plan) -> None:
        counts = Counter(attempt.model for attempt in plan.attempts)
        self.models = {model: _Tally(counts[model]) for model in plan.models}
        self.total = _Tally(len(plan.attempts))

    def started(self, suite: Suite, run_dir: Path, planned: int) -> None:
        self.started_at = time.monotonic()
        if self.verbosity == QUIET:
            return
        models = [m for m in self.models if m is not None]
        what = f"{planned} attempt(s)" + (f" on {len(models)} model(s)" if models else "")
        self._print(f"harness: running {what} of suite {suite.name!r}")
        if self.interactive:
            self._start_live()
        elif planned:
            self._ticker = threading.Thread(target=self._tick, name="harness-progress", daemon=True)
            self._ticker.start()

    def attempt_started(self, attempt: AttemptPlan) -> None:
        with self._lock:
            self.running[attempt.attempt_id] = time.monotonic()

    def attempt_retrying(
        self, attempt: AttemptPlan, result: AttemptResult, try_number: int
    ) -> None:
        if self.verbosity != QUIET:
            reason = result.infra_reason or (result.failures[0].type if result.failures else "")
            self._print(f"retrying {attempt.attempt_id} after try {try_number}: {reason}")

    def attempt_rerunning(
        self, attempt: AttemptPlan, result: AttemptResult, rerun: int, reruns: int
    ) -> None:
        if self.verbosity != QUIET:
            reason = result.failures[0].type if result.failures else result.status
            self._print(
                f"re-running {attempt.attempt_id} ({rerun} of {reruns}, --rerun-failures "
                f"{reruns}): it failed with {reason}"
            )

    def attempt_finished(self, result: AttemptResult) -> None:
        outcome = result.outcome or (PASSED if result.passed else FAILED)
        with self._lock:
            self.running.pop(result.attempt_id, None)
            self.total.outcomes[outcome] += 1
            self.models.setdefault(result.model, _Tally()).outcomes[outcome] += 1
        rest = self._partial.pop(result.attempt_id, "")
        if rest:
            self._print(f"[{result.attempt_id}] {rest}")

    def agent_output(self, attempt: AttemptPlan, kind: str, text: str) -> None:
        key = attempt.attempt_id
        if kind == "log":
            self._print(f"[{key}] log: {text}")
            return
        # stderr arrives in chunks: print whole lines, keep the rest for the next chunk.
        lines = (self._partial.pop(key, "") + text).split("\n")
        if lines[-1]:
            self._partial[key] = lines[-1]
        for line in lines[:-1]:
            self._print(f"[{key}] {line.removesuffix(chr(13))}")

    # Display --------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the live display or the ticker; leaves the terminal clean for the report."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1)
            self._ticker = None
        if self._live is not None:
            self._live.stop()
            self._live = None

    # The CLI's name for it (the old console events had a progress line to clear).
    clear_line = close

    def status_line(self) -> str:
        """One plain progress line: `[12/60 20%] passed 10 failed 1 ... eta 20s`."""
        with self._lock:
            total, running = self.total, len(self.running)
            outcomes = dict(total.outcomes)
            models = [
                f"{model} {tally.outcomes[PASSED]}/{tally.done}/{tally.planned}"
                for model, tally in self.models.items()
                if model is not None
            ]
        done = sum(outcomes.values())
        percent = f" {done / total.planned:.0%}" if total.planned else ""
        counts = "  ".join(f"{name} {outcomes.get(key, 0)}" for name, key in _COLUMNS)
        # Per model: passed/done/planned, while they fit on one line.
        per_model = f"  | {', '.join(models)}" if 1 < len(models) <= PLAIN_MODELS_SHOWN else ""
        return (
            f"[{done}/{total.planned}{percent}] {counts}  running {running}"
            f"  {_duration(time.monotonic() - self.started_at)} elapsed{self._eta(done)}{per_model}"
        )

    def _eta(self, done: int) -> str:
        remaining = self.total.planned - done
        if done == 0 or remaining <= 0:
            return ""
        per_attempt = (time.monotonic() - self.started_at) / done
        return f", eta {_duration(per_attempt * remaining)}"

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self._print(self.status_line())

    @functools.cached_property
    def console(self) -> Any:
        """Only the live display needs rich (~40 ms to import): plain lines do without it."""
        # lazy: only this command pays for these (`harness --help` and other commands stay fast)
        from rich.console import Console

        return Console(stderr=True, highlight=False, soft_wrap=True)

    def _start_live(self) -> None:
        # lazy: only this command pays for these (`harness --help` and other commands stay fast)
        from rich.live import Live

        self._live = Live(
            console=self.console,
            get_renderable=self._render,
            refresh_per_second=4,
            transient=True,
        )
        self._live.start()

    def _render(self) -> Any:
        # lazy: only this command pays for these (`harness --help` and other commands stay fast)
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 2))
        with self._lock:
            rows = [("all", self.total)]
            if len(self.models) > 1 or None not in self.models:
                rows += [(str(model), tally) for model, tally in self.models.items()]
            snapshot = [(name, tally.planned, dict(tally.outcomes)) for name, tally in rows]
            running = sorted(self.running.items(), key=lambda item: item[1])
        now = time.monotonic()
        for name, planned, outcomes in snapshot:
            done = sum(outcomes.values())
            counts = "  ".join(
                f"[{style}]{label} {outcomes.get(key, 0)}[/]" for label, key, style in _STYLED
            )
            table.add_row(
                Text(for_terminal(name)),
                ProgressBar(total=max(planned, 1), completed=done, width=30),
                f"{done}/{planned}",
                counts,
            )
        done = self.total.done
        table.add_row("", "", "", f"{_duration(now - self.started_at)} elapsed{self._eta(done)}")
        if running:
            shown = ", ".join(f"{key} {now - since:.0f}s" for key, since in running[:RUNNING_SHOWN])
            more = f" (+{len(running) - RUNNING_SHOWN})" if len(running) > RUNNING_SHOWN else ""
            table.add_row("running", Text(for_terminal(f"{shown}{more}")), "", "")
        return table

    def _print(self, text: str) -> None:
        # markup=False and no control characters: attempt ids and agent output are data, and an
        # agent's escape sequences must not drive the user's terminal.
        text = for_terminal(text)
        if self._live is not None:
            self.console.print(text, markup=False, highlight=False, emoji=False)
            return
        with self._lock, contextlib.suppress(OSError, ValueError):  # a closed stderr
            sys.stderr.write(text + "\n")
            sys.stderr.flush()


_COLUMNS = (
    ("passed", PASSED),
    ("failed", FAILED),
    ("budget", BUDGET_EXCEEDED),
    ("infra", INFRA_ERROR),
)
_STYLED = tuple(
    (label, key, style)
    for (label, key), style in zip(_COLUMNS, ("green", "red", "yellow", "magenta"), strict=True)
)


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
