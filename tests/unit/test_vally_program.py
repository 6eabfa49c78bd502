"""Vally's code graders against real programs: `program` with its two environment variables, a
GraderResult on stdout or the exit status, sub_path, a timeout; Vally's run-command default."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.grading.vally.program import Program, VallyRunCommand
from tests.support.vally_trajectories import grade, trajectory

CHECK = """
import json, os, pathlib, sys
data = json.loads(pathlib.Path(os.environ["EVALUATE_GRADER_INPUT"]).read_text())
root = pathlib.Path(os.environ["EVALUATE_WORKSPACE"])
found = (root / "out.txt").exists()
print(json.dumps({"score": 0.75 if found else 0.0, "passed": found,
                  "evidence": f"cwd={pathlib.Path.cwd().name} out={found} "
                              f"stimulus={data['stimulus']['name']} "
                              f"output={data['trajectory']['output']}",
                  "metadata": {"config_timeout": data["config"]["timeout"]}}))
"""


async def test_program_reads_its_input_and_answers_a_grader_result(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "out.txt").write_text("x")
    script = tmp_path / "check.py"
    script.write_text(CHECK)
    spec = Program(program=sys.executable, args=[str(script)], sub_path="sub")
    result = await grade(spec, trajectory("answer"), tmp_path)
    assert result.passed
    assert result.score == 0.75
    assert result.evidence == "cwd=sub out=True stimulus=s output=answer"
    assert result.details is not None
    assert result.details["metadata"] == {"config_timeout": "60s"}


async def test_program_without_stdout_is_judged_by_exit_status(tmp_path: Path) -> None:
    failing = Program(program="sh", args=["-c", "echo nope >&2; exit 3"])
    result = await grade(failing, trajectory(), tmp_path)
    assert (result.passed, result.score) == (False, 0.0)
    assert result.evidence.startswith("Program 'sh -c 'echo nope >&2; exit 3'' exited with code 3")
    shell = Program(program="test -d .", shell=True)
    assert (await grade(shell, trajectory(), tmp_path)).passed


async def test_program_that_prints_garbage_or_hangs(tmp_path: Path) -> None:
    garbage = await grade(Program(program="echo", args=["hello"]), trajectory(), tmp_path)
    assert garbage.status == "error"
    assert "not a GraderResult JSON object" in garbage.evidence
    bad_score = Program(program="echo", args=[json.dumps({"score": 7})])
    assert (await grade(bad_score, trajectory(), tmp_path)).status == "error"
    slow = await grade(
        Program(program="sleep", args=["5"], timeout="300ms"), trajectory(), tmp_path
    )
    assert (slow.passed, slow.evidence) == (False, "Program 'sleep 5' timed out after 300ms")


async def test_vally_run_command_defaults_to_30s(tmp_path: Path) -> None:
    spec = VallyRunCommand(command="test -f out.txt")
    assert spec.timeout == "30s"
    (tmp_path / "out.txt").write_text("")
    result = await grade(spec, trajectory(), tmp_path)
    assert (result.passed, result.grader) == (True, "run-command")
    assert result.evidence.startswith("Command 'test -f out.txt' exited with code 0 (expected 0)")
