"""`harness vally grade | lint | compare | experiment` and the eval flags around them, as a Vally
user runs them: skip grading then grade (stdin and --run), lint failures with codes and "did
you mean", compare with an exact sign test, experiments over one shared pool, a forbidden
difference refused at plan time, retries in multi-trial runs that never count as trials."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli_runs import Harness
from tests.support.files import read_jsonl
from tests.support.vally_runs import graders, latest, records, vally

ANSWER_GOOD = """#!/bin/sh
read -r line
echo '{"type":"final_output","output":"GOOD"}'
"""


def test_skip_grade_then_grade_from_stdin_and_from_the_run(
    harness: Harness, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    spec = "evals/static/eval.yaml"
    ran = vally(harness, "eval", "-e", spec, "--skip-grade", "--output", "jsonl",
                "--output-dir", str(out))  # fmt: skip
    assert ran.exit_code == 0, ran.describe()
    streamed = [json.loads(line) for line in ran.stdout.splitlines()]
    assert [r["gradeResult"] for r in streamed] == [None, None, None]
    assert all(r["harness"]["outcome"] == "ungraded" for r in streamed)
    assert "ungraded" in ran.stderr  # the console goes to stderr when records stream

    graded = vally(harness, "grade", "-e", spec, "--output", "jsonl", stdin=ran.stdout)
    assert graded.exit_code == 0, graded.describe()
    found = {r["stimulusName"]: r for r in map(json.loads, graded.stdout.splitlines())}
    assert all(r["gradeResult"]["passed"] for r in found.values())
    # file and diff graders read the workspace (and its setup snapshot) the run kept
    assert graders(found["files"])["diff-contains"][0] is True
    assert graders(found["files"])["file-exists"][0] is True

    again = vally(harness, "grade", "-e", spec, "--run", str(latest(out)), "--threshold", "0.9")
    assert again.exit_code == 1, again.describe()  # weighted scores 0.8 < 0.9
    assert "static/weighted" in again.stdout


def test_lint_reports_every_problem_with_codes(harness: Harness) -> None:
    run = vally(harness, "lint", "-e", "lint/broken.eval.yaml", "-e", "lint/weights.eval.yaml")
    assert run.exit_code == 1, run.describe()
    lines = run.stdout.splitlines()
    assert (
        "error[unknown-grader-type]: lint/broken.eval.yaml:8: stimuli[0].graders[0].type: "
        "unknown grader type 'file-exist'; did you mean 'file-exists'?"
    ) in lines
    assert any("config.substrng: unknown key; valid keys: substring, case_sensitive, negate; "
               "did you mean 'substring'?" in line for line in lines)  # fmt: skip
    codes = {line.split("]")[0] for line in lines if "[" in line}
    assert codes == {
        "error[unknown-grader-type", "error[invalid-grader-config",
        "error[environment-file-not-found", "error[invalid-constraint-value",
        "error[duplicate-stimulus-name", "warning[unknown-key",
        "warning[duplicate-grader-type-in-stimulus", "warning[rubric-without-llm-judge",
        "error[invalid-scoring-weight-key",
    }  # fmt: skip
    assert "scoring.weights.output-contain: names no grader used in any stimulus; did you mean " \
        "'output-contains'?" in run.stdout  # fmt: skip
    clean = vally(harness, "lint")
    assert clean.exit_code == 0, clean.describe()
    strict = vally(harness, "lint", "--strict")
    assert strict.exit_code == 1  # the corpus's duplicate-type warnings

    refused = vally(harness, "eval", "-e", "lint/broken.eval.yaml")
    assert refused.exit_code == 2
    assert "error: lint/broken.eval.yaml:8: stimuli[0].graders[0].type: unknown grader type" in (
        refused.stderr
    )
    no_unit = vally(harness, "eval", "-e", "evals/multi/eval.yaml", "--timeout", "120")
    assert no_unit.exit_code == 2
    assert "--timeout: expected a duration with a unit" in no_unit.stderr


def test_compare_two_runs_with_a_sign_test(harness: Harness, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert (
        vally(harness, "eval", "-e", "evals/multi/eval.yaml", "--output-dir", str(a)).exit_code == 0
    )
    agent = tmp_path / "good.sh"
    agent.write_text(ANSWER_GOOD)
    better = vally(harness, "eval", "-e", "evals/multi/eval.yaml", "--output-dir", str(b),
                   "--agent-command", f"sh {agent}")  # fmt: skip
    assert all(r["status"] == "success" for r in records(latest(b))), better.describe()
    assert better.exit_code == 0, better.describe()
    report_file = tmp_path / "compare.jsonl"
    run = vally(harness, "compare", "--run-a", str(latest(a)), "--run-b", str(latest(b)),
                "-e", "evals/multi/eval.yaml", "--output", str(report_file))  # fmt: skip
    assert run.exit_code == 0, run.describe()
    report = read_jsonl(report_file)[0]
    # flaky: trial 1 said BAD in run A and GOOD in B; everything else says GOOD on both sides
    assert {k: report["summary"][k] for k in ("wins", "losses", "ties", "erroredCount")} == {
        "wins": 1, "losses": 0, "ties": 5, "erroredCount": 0,
    }  # fmt: skip
    assert report["summary"]["signTest"]["pTreatmentBetter"] == 0.5
    flaky = next(s for s in report["stimuli"] if s["stimulusName"] == "flaky")
    assert [t["winner"] for t in flaky["trials"]] == ["tie", "treatment", "tie"]
    assert "B vs A: 1 wins, 0 losses, 5 ties, 0 errored; exact sign test" in run.stdout


def test_experiment_variants_share_a_pool_and_drift_is_refused(
    harness: Harness, tmp_path: Path
) -> None:
    out = tmp_path / "exp"
    run = vally(harness, "experiment", "run", "experiments/models.yaml", "--output-dir", str(out),
                "--compare")  # fmt: skip
    assert run.exit_code == 1, run.describe()  # the flaky stimulus fails a trial
    root = latest(out)
    assert (root / "report.md").is_file()
    for variant in ("m1", "m2"):
        found = records(root / variant)
        assert len(found) == 6
        assert {r["experiment"]["variant"] for r in found} == {variant}
        assert {r["model"] for r in found} == {variant}
        assert all(len(r["experiment"]["configHash"]) == 64 for r in found)
        assert (root / variant / "run-summary.jsonl").is_file()
    assert "m2 vs m1: 0 wins, 0 losses, 6 ties" in run.stdout

    drift = vally(harness, "experiment", "run", "experiments/drift.yaml", "--dry-run")
    assert drift.exit_code == 2
    assert (
        "variant 'm2' differs from baseline 'm1' at /defaults/timeout in "
        "evals/multi/eval.yaml, outside vary [/defaults/model]"
    ) in drift.stderr
    matrix = vally(harness, "experiment", "run", "experiments/matrix.yaml", "--dry-run")
    assert matrix.exit_code == 0, matrix.describe()
    assert "model=m1,runs=one (baseline)" in matrix.stdout
    unknown = vally(harness, "experiment", "run", "experiments/models.yaml", "--variant", "m3")
    assert unknown.exit_code == 2
    assert "--variant m3: unknown variant; known: m1, m2" in unknown.stderr


def test_retries_in_multi_trial_runs_never_count(harness: Harness, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    spec = tmp_path / "retry.eval.yaml"
    spec.write_text(
        f"name: retry\nconfig: {{runs: 2, executor: py}}\nstimuli:\n"
        f"  - name: rate-limited\n    prompt: |\n      TRANSIENT {state}\n      SAY GOOD\n"
        "    graders:\n      - type: output-contains\n        config: {substring: GOOD}\n"
    )
    out = tmp_path / "results"
    run = vally(harness, "eval", "-e", str(spec), "--output-dir", str(out))
    assert run.exit_code == 0, run.describe()
    found = records(latest(out))
    assert [len(r["harness"]["retries"]) for r in found] == [1, 1]
    assert all(r["gradeResult"]["passed"] and r["harness"]["counted"] for r in found)

    for marker in state.iterdir():
        marker.unlink()
    lost = vally(harness, "eval", "-e", str(spec), "--max-retries", "0", "--output-dir", str(out))
    assert lost.exit_code == 1, lost.describe()
    found = records(latest(out))
    assert {r["harness"]["outcome"] for r in found} == {"infra_error"}
    assert "lost (infrastructure, not counted)" in lost.stdout
    assert "2 trial(s) lost to infrastructure errors: exit 1" in lost.stdout
