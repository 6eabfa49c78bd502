"""Reports rebuilt from a run directory alone (`harness report RUN_DIR`), and the one place
that renders and writes each kind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.errors import UsageError
from harness.gate.stored import StoredSummary
from harness.reports.run_data import HISTORY_FILE, RunData
from harness.reports.stored import StoredHistory, StoredRun, read_document
from harness.reports.summary import case_row
from harness.storage.atomic import atomic_write
from harness.storage.runs import read_results

REPORT_FILES = {
    "junit": "junit.xml",
    "sarif": "sarif.json",
    "markdown": "report.md",
    "html": "report.html",
}


def load_run(run_dir: Path) -> RunData:
    """Read a run directory; a missing summary.json (a killed run) is rebuilt from results.
    Each stored file is checked as it is read: a damaged one is one error naming it (exit 2).
    """
    if not (run_dir / "results.jsonl").is_file() and not (run_dir / "run.json").is_file():
        raise UsageError(f"{run_dir}: not a run directory (no run.json or results.jsonl)")
    run = read_document(run_dir / "run.json", StoredRun) or {}
    results = read_results(run_dir) if (run_dir / "results.jsonl").is_file() else []
    summary = read_document(run_dir / "summary.json", StoredSummary)
    if summary is None:
        summary = {"suite": {"name": run.get("suite")}, "cases": [case_row(r) for r in results]}
    history = read_document(run_dir / HISTORY_FILE, StoredHistory) or {}
    return RunData(run_dir, run, summary, results, list(history.get("runs", [])))


def renderers() -> dict[str, Callable[[RunData], bytes]]:
    # lazy: html, markdown and sarif load only when asked for
    from harness.reports.html import render_html
    from harness.reports.junit import render_junit
    from harness.reports.markdown import render_markdown
    from harness.reports.sarif import render_sarif

    return {
        "junit": render_junit,
        "sarif": render_sarif,
        "markdown": lambda data: render_markdown(data).encode("utf-8"),
        "html": render_html,
    }


def write_reports(data: RunData, targets: dict[str, Path]) -> dict[str, Path]:
    """Render each report named in `targets` (kind -> path) and write it atomically."""
    # lazy: xml.etree loads at a run's end, not before its first agent starts
    from harness.reports.junit import write_junit

    unknown = targets.keys() - REPORT_FILES.keys()
    if unknown:
        raise UsageError(f"unknown report kind(s) {sorted(unknown)}; known: {list(REPORT_FILES)}")

    # Every run writes junit.xml; the other renderers load only when asked for.
    render = renderers() if targets.keys() - {"junit"} else {}
    for kind, path in targets.items():
        if kind == "junit":  # streamed: a sweep's junit.xml is the largest report
            write_junit(data, path)
        else:
            atomic_write(path, render[kind](data))
    return targets
