"""Damaged run directories never crash `harness report`, `harness diff` or `harness grade`:
each stored file (run.json, summary.json, results.jsonl, run.jsonl, history.json, transcripts,
the baseline) is read through typed decoding, so a wrong type, a cut file or random bytes is
one `error:` line naming the file and exit 2 (never a traceback, never diff's exit 1, which
reads as a regression). A real sweep's run directory is mutated the way test_load fuzzes
configs."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from harness.cli.app import app
from tests.support.cli_runs import command, started
from tests.support.gate_suites import make_suite
from tests.support.strategies import json_values

STORED = (
    "run.json",
    "summary.json",
    "history.json",
    "results.jsonl",
    "run.jsonl",
    "baseline.json",
    "attempts/alpha/m1/trial-1/transcript.jsonl",
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A finished, gated sweep (models, trials, history) and its baseline."""
    root = tmp_path_factory.mktemp("stored")
    with started(root) as harness:
        suite = make_suite(
            root / "s",
            failing=("bravo",),
            extra={"models": ["m1", "m2"], "runs": 2, "quarantine": ["charlie"]},
        )
        baseline = root / "baseline.json"
        exported = command(harness, "run", str(suite), "--export-baseline", str(baseline))
        assert exported.exit_code == 1, exported.describe()
        run = command(harness, "run", str(suite), "--baseline", str(baseline))
        assert run.exit_code == 1, run.describe()
        shutil.copy(baseline, run.dir / "baseline.json")
        yield run.dir


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a node of a JSON value, the root included."""
    yield prefix
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        yield from paths_in(child, (*prefix, key))


def retyped(document: Any, choice: int, new: Any) -> Any:
    """`document` with the node at one of its paths replaced by `new`."""
    paths = list(paths_in(document))
    path = paths[choice % len(paths)]
    if not path:
        return new
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return document


def mutate(name: str, data: bytes, kind: str, choice: int, new: Any, raw: bytes) -> bytes:
    if kind == "bytes":
        return raw
    if kind == "cut":
        return data[: choice % (len(data) + 1)]
    if name.endswith(".json"):  # one document, indented
        return json.dumps(retyped(json.loads(data), choice, new)).encode()
    documents = [json.loads(line) for line in data.split(b"\n") if line.strip()]
    index = choice % len(documents)
    documents[index] = retyped(documents[index], choice // len(documents), new)
    return b"\n".join(json.dumps(document).encode() for document in documents) + b"\n"


def check(runner: CliRunner, args: list[str], allowed: tuple[int, ...]) -> None:
    result = runner.invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args}: {result.exception!r}\n{result.output}") from result.exception
    assert result.exit_code in allowed, (args, result.exit_code, result.output)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    if result.exit_code == 2:
        assert len(errors) == 1 and errors[0].startswith("error: "), result.stderr


@pytest.mark.timeout(1800)  # FUZZ_EXAMPLES=2000 for a longer search than make test's
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 80)),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    target=st.sampled_from(STORED),
    kind=st.sampled_from(["retype", "retype", "retype", "cut", "bytes"]),
    choice=st.integers(0, 10_000),
    new=json_values,
    raw=st.binary(max_size=64),
)
def test_a_damaged_run_directory_is_read_or_one_line_and_exit_2(
    run_dir: Path, target: str, kind: str, choice: int, new: Any, raw: bytes
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "run"
        shutil.copytree(run_dir, copy)
        path = copy / target
        path.write_bytes(mutate(target, path.read_bytes(), kind, choice, new, raw))
        runner = CliRunner()
        check(runner, ["report", str(copy), "--html", str(Path(tmp) / "r.html")], (0, 2))
        check(runner, ["report", str(copy)], (0, 2))
        baseline = str(copy / "baseline.json")
        check(runner, ["diff", "--baseline", baseline, "--run", str(copy)], (0, 1, 2))
        check(runner, ["grade", str(copy)], (0, 1, 2, 3))
