"""Every flag that harness's own commands share, defined once.

A command declares a parameter with one of these and gets the same spelling, short form and
help text as every other command taking it; `options_from_flags` (cli/run.py) reads them back
by parameter name. tests/unit/test_cli_flags.py fails when two commands spell or explain one
flag differently. (`harness assay` keeps Assay's own flags and words: it is Assay's CLI.)

Imported when the CLI starts: typer and pathlib only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_DB = ".harness/history.db"  # harness.storage.history.DEFAULT_DB, without the import

# What to run -----------------------------------------------------------------------------------
SuiteArg = Annotated[
    Path, typer.Argument(metavar="SUITE", help="Suite directory (or its suite.yaml).")
]
Mode = Annotated[
    str | None,
    typer.Option("--mode", help="replay | record | auto | live (overrides the suite's mode)."),
]
Case = Annotated[
    list[str] | None,
    typer.Option("--case", help="Only cases matching this id or shell glob (repeatable)."),
]
Tag = Annotated[
    list[str] | None,
    typer.Option(
        "--tag", help="key=v1,v2: cases whose tag is one of the values (repeatable: all hold)."
    ),
]
Model = Annotated[
    list[str] | None,
    typer.Option("--model", help="a,b: run every case on each model (overrides the suite)."),
]
Runs = Annotated[
    int | None,
    typer.Option("--runs", help="Trials per case and model (default 1); 0 only validates."),
]
ListPlan = Annotated[bool, typer.Option("--list", help="Print the planned attempt ids and exit.")]

# How to run ------------------------------------------------------------------------------------
Workers = Annotated[
    int | None, typer.Option("--workers", "-j", help="Attempts at once (default 2 x cores).")
]
OutputDir = Annotated[
    Path | None,
    typer.Option(
        "--output-dir", help="Where run directories go (default: the suite's, else harness_out)."
    ),
]
Strict = Annotated[
    bool | None,
    typer.Option(
        "--strict/--no-strict",
        help="Replay-strict: unused, out-of-order or extra cassette entries fail the case.",
    ),
]
MaxRetries = Annotated[
    int | None,
    typer.Option("--max-retries", help="Retries of infrastructure failures (default 2)."),
]
FailFast = Annotated[
    bool, typer.Option("--fail-fast", help="Stop at the first attempt that does not pass.")
]
ShutdownTimeout = Annotated[
    float,
    typer.Option(
        "--shutdown-timeout",
        help="Seconds running agents get to stop after Ctrl+C or --fail-fast (default 5).",
    ),
]
AgentReuse = Annotated[
    str | None,
    typer.Option(
        "--agent-reuse",
        help="never | per_worker: keep an agent that says multi_task for the next case | "
        "fork: fork each agent from a server that imported `preload` once "
        "(default: the suite's agent_reuse, else per_worker).",
    ),
]
Engine = Annotated[
    str,
    typer.Option(
        "--engine", help="local (default) | ray: shards of attempts as Ray tasks (harness[ray])."
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address", help="Ray cluster to join with --engine ray (default: start one)."
    ),
]
CleanEnv = Annotated[
    bool,
    typer.Option(
        "--clean-env",
        help="Agents get only PATH, HOME, locale, TMPDIR and TZ, not the whole environment "
        "(a suite's agent_env_allow list wins).",
    ),
]

# What the console shows -------------------------------------------------------------------------
OpenBrowser = Annotated[
    bool | None,
    typer.Option(
        "--open/--no-open",
        help="Open the page in a browser (report: only when asked; serve: by default on a "
        "terminal, outside CI).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of text.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]
Verbose = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Stream agents' stderr and logs, by attempt id."),
]

# The gate and the history ----------------------------------------------------------------------
Baseline = Annotated[
    Path | None,
    typer.Option("--baseline", help="Gate against this baseline (a promoted summary.json)."),
]
ExportBaseline = Annotated[
    Path | None,
    typer.Option("--export-baseline", help="Write this run's summary as a baseline file."),
]
Db = Annotated[
    str,
    typer.Option(
        "--db",
        help="History database (default .harness/history.db at the project root: the git"
        " repository, else the cwd; :memory: keeps none).",
    ),
]
Incremental = Annotated[
    bool,
    typer.Option("--incremental", help="Skip attempts unchanged since they passed (history)."),
]
NoCache = Annotated[
    bool,
    typer.Option("--refresh-cache", "--no-cache", help="Ignore the history for --incremental."),
]
RerunFailures = Annotated[
    int,
    typer.Option(
        "--rerun-failures",
        help="Re-run a failed attempt up to N times; one that then passes is flaky "
        "(default: run 0, ci 2 as Assay's ci).",
    ),
]
QuarantineFlaky = Annotated[
    bool,
    typer.Option(
        "--quarantine-flaky", help="Cases flaky in the history are reported but never gate."
    ),
]

# Grading ----------------------------------------------------------------------------------------
SkipGrade = Annotated[
    bool,
    typer.Option(
        "--skip-grade", help="Run and store attempts without grading; `harness grade` later."
    ),
]
Threshold = Annotated[
    float | None,
    typer.Option(
        "--threshold",
        help="Pass a case when its weighted grader score reaches this (0..1); wins over the "
        "suite's and cases' threshold.",
    ),
]
Workspace = Annotated[
    Path | None,
    typer.Option("--workspace", help="Keep each attempt's workspace under DIR/<run_id>/."),
]
JudgeModel = Annotated[
    str | None, typer.Option("--judge-model", help="Model passed to every judge grader.")
]
JudgeSamples = Annotated[
    int | None,
    typer.Option("--judge-samples", help="Judge samples per grader; the majority decides."),
]
GraderPlugin = Annotated[
    list[str] | None,
    typer.Option("--grader-plugin", help="Module registering grader types (repeatable)."),
]
AllowIneffective = Annotated[
    bool,
    typer.Option(
        "--allow-ineffective-assertions", help="Run assertions that can never fail (refused)."
    ),
]

# Reports ----------------------------------------------------------------------------------------
Junit = Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here.")]
Sarif = Annotated[Path | None, typer.Option("--sarif", help="Write SARIF 2.1.0 here.")]
Markdown = Annotated[
    Path | None,
    typer.Option(
        "--markdown", "--pr-comment", help="Write the PR-comment Markdown here (65,536 chars)."
    ),
]
Html = Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")]

# Stored runs -------------------------------------------------------------------------------------
RUN_DIR_HELP = (
    "A run directory (harness_out/<suite>/<run_id>) or its summary.json; `latest` is the newest "
    "run under harness_out, `DIR/latest` the newest under DIR."
)
RunDirArg = Annotated[Path, typer.Argument(metavar="RUN_DIR", help=RUN_DIR_HELP)]
