"""The end-of-run console report: failures with expected/observed, totals, the run dir; and
`echo`/`plain`, the one way the CLI shows text that came from an agent or a stored file.

Live progress is harness/cli/progress.py."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from harness.aggregate.tally import FAILED_KEPT
from harness.excerpts import ELLIPSIS, cut, for_terminal, redact
from harness.results import ERROR, FAIL, PASS, UNGRADED, AttemptResult

if TYPE_CHECKING:
    from rich.text import Text

    from harness.api import RunReport

# A failure's detail: a cassette miss (the call, three nearest calls and their diffs) fits.
MAX_DETAIL_CHARS = 1200
# A sweep can fail hundreds of attempts; the rest are in the files (harness.tally keeps these).
MAX_FAILURES_SHOWN = FAILED_KEPT
CI_LOG_WIDTH = 160


def echo(text: str, *, err: bool = False) -> None:
    """Print a line that holds text from an agent, a tool or a stored file: its control
    characters replaced (an agent's escape sequences must not drive the user's terminal)."""
    print(for_terminal(text), file=sys.stderr if err else sys.stdout)


def plain(text: str) -> Text:
    """A rich cell of such text: never read as markup (`[/]` in an agent's message is text),
    its control characters replaced."""
    # lazy: only the failure table and the sweep tables pay for rich
    from rich.text import Text

    return Text(for_terminal(text))


def print_report(report: RunReport, *, tables: bool = True) -> None:
    """The end of a run on the console; `tables=False` (--quiet) leaves out the failures, the
    sweep and the GitHub annotations, and says only the counts and where the run is."""
    if report.run_dir is None:  # --runs 0: validated, nothing ran
        return
    shown, failed = report.first_failures() if tables else ([], 0)
    if failed:
        _print_failures(shown[:MAX_FAILURES_SHOWN])
        if failed > MAX_FAILURES_SHOWN:
            echo(f"... and {failed - MAX_FAILURES_SHOWN} more failed attempts: results.jsonl")
    if "sweep" in report.overview and tables:
        _print_sweep(report)
    if failed and os.environ.get("GITHUB_ACTIONS") == "true":
        for result in report.iter_results():  # read back one at a time: a sweep fails many
            if result.status not in (PASS, UNGRADED):
                echo(github_annotation(result))
    passed = report.passed
    ungraded = report.count(UNGRADED)
    total = report.finished - ungraded
    tail = f" ({ungraded} ungraded: --skip-grade, see `harness grade`)" if ungraded else ""
    if report.status == "interrupted":
        tail += f" (interrupted: {total + ungraded} of {report.planned} finished)"
    print(
        f"{passed} passed, {total - passed} failed{tail}"
        f"  [{report.count(FAIL)} fail, {report.count(ERROR)} error]"
    )
    if report.completeness is not None and (
        not report.completeness.complete or report.completeness.lost or "sweep" in report.overview
    ):
        print(f"Completeness: {report.completeness.sentence()}")
    print(f"Run directory: {report.run_dir}")


def _print_sweep(report: RunReport) -> None:
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from rich.console import Console

    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.reports.sweep import console_tables

    width = None if sys.stdout.isatty() else CI_LOG_WIDTH
    console = Console(soft_wrap=False, highlight=False, width=width)
    for table in console_tables(report.overview["sweep"]):
        console.print(table)


def _print_failures(failed: list[AttemptResult]) -> None:
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Failures ({_count(failed)})", show_lines=True, expand=False)
    table.add_column("Case", overflow="fold")
    table.add_column("Status")
    table.add_column("Reason")
    table.add_column("Detail", overflow="fold")
    for result in sorted(failed, key=lambda r: r.attempt_id or r.case_id):
        for index, failure in enumerate(result.failures or []):
            table.add_row(
                plain((result.attempt_id or result.case_id) if index == 0 else ""),
                plain(result.status if index == 0 else ""),
                plain(failure.type),
                plain(
                    _detail(failure.message, failure.expected, failure.observed)
                    if failure.type != "budget_exceeded"  # its message names limit and actual
                    else failure.message
                ),
            )
    # Off a terminal (CI logs) rich would assume 80 columns and fold every message.
    width = None if sys.stdout.isatty() else CI_LOG_WIDTH
    Console(soft_wrap=False, highlight=False, width=width).print(table)


def _count(failed: list[AttemptResult]) -> str:
    """`2 cases`, or `3 attempts of 2 cases` when trials or models repeat a case."""
    cases = len({result.case_id for result in failed})
    noun = "case" if cases == 1 else "cases"
    if len(failed) == cases:
        return f"{cases} {noun}"
    return f"{len(failed)} attempts of {cases} {noun}"


def _detail(message: str, expected: Any, observed: Any) -> str:
    text = message
    if expected is not None:
        text += f"\nexpected: {_short(expected)}"
    if observed is not None:
        text += f"\nobserved: {_short(observed)}"
    # Redacted whole before any line is cut (harness.excerpts).
    return clip_lines(redact(text), MAX_DETAIL_CHARS)


def _short(value: Any) -> str:
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    import msgspec

    text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    return cut(text, 200 + len(ELLIPSIS))


def github_annotation(result: AttemptResult) -> str:
    """A workflow command; %, CR and LF must be escaped or the annotation is cut."""
    failure = result.failures[0] if result.failures else None
    message = f"{failure.type}: {failure.message}" if failure else result.status
    name = result.attempt_id or result.case_id
    return f"::error title=harness: {_escape(name)}::{_escape(message)}"


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def clip_lines(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: whole lines while they fit (a cassette miss keeps
    whole candidates and diff lines), a first line longer than that cut between words (inside
    one only if a word is half the limit long), and how many lines were left out."""
    if len(text) <= limit:
        return text
    lines = text.split("\n")
    kept: list[str] = []
    room = limit
    for line in lines:
        if len(line) > room:
            if not kept:
                head = line[: room - 4]
                cut = head.rfind(" ")
                kept.append((head[:cut] if cut >= room // 2 else head) + " ...")
            break
        kept.append(line)
        room -= len(line) + 1
    left_out = len(lines) - len(kept)
    if left_out:
        kept.append(f"... {left_out} more line(s): the whole text is in results.jsonl")
    return "\n".join(kept)
