"""Case ids that differ only in characters a file name cannot hold (`a/b`, `a_b`, `a b`) get
folders of their own: their stderr logs, transcripts and kept workspaces never mix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.storage.runs import safe_name
from tests.support.cli_runs import script_agent_command, started
from tests.support.files import read_jsonl, write_suite

IDS = ("a/b", "a_b", "a b", "a.b.")


def colliding_suite(root: Path, **settings: Any) -> Path:
    suite = write_suite(
        root, {"suite_name": "ids", "agent_command": script_agent_command(), **settings}, []
    )
    for number, case_id in enumerate(IDS):
        steps: list[dict[str, Any]] = [
            {"stderr": f"I am {case_id!r}"},
            {"sleep": 0.5},  # all at once: one's set-up used to delete another's workspace
            {"final": {"me": case_id}},
        ]
        case: dict[str, Any] = {"id": case_id, "input": {"steps": steps}}
        if "workspace" in settings:
            case["assertions"] = [{"type": "file-exists", "path": "seed.txt"}]
        text = yaml.safe_dump(case, sort_keys=False)
        (suite / "cases" / f"case{number}.yaml").write_text(text, encoding="utf-8")
    (suite / "seed.txt").write_text("seed", encoding="utf-8")
    return suite


def test_folder_names_are_distinct_for_distinct_ids() -> None:
    names = {safe_name(case_id) for case_id in IDS}
    assert len(names) == len(IDS), names
    assert safe_name("plain-id_1.x") == "plain-id_1.x"  # a safe id is its own name
    # A safe id that looks like a hashed name is hashed too, so it cannot take another's.
    hashed = safe_name("a/b")
    assert safe_name(hashed) != hashed


def test_each_attempt_keeps_its_own_stderr_transcript_and_workspace(tmp_path: Path) -> None:
    with started(tmp_path) as harness:
        suite = colliding_suite(tmp_path / "s", workspace={"files": ["seed.txt"]}, runs=2)
        run = harness.run(suite, "-j", "8", "--workspace", str(tmp_path / "kept"))
        assert run.exit_code == 0, run.describe()
        assert "Traceback" not in run.stderr and "internal error" not in run.stdout
        attempts = run.dir / "attempts"
        folders = sorted(path for path in attempts.iterdir() if path.is_dir())
        assert len(folders) == len(IDS), folders
        for case_id in IDS:
            for trial in (1, 2):
                folder = attempts / safe_name(case_id) / f"trial-{trial}"
                assert (folder / "stderr.log").read_text() == f"I am {case_id!r}\n"
                [final] = [e for e in read_jsonl(folder / "transcript.jsonl") if "output" in e]
                assert final["output"] == {"me": case_id}
        workspaces = {result["workspace"] for result in run.results()}
        assert len(workspaces) == 2 * len(IDS), workspaces
