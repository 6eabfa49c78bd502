"""Re-record the cassettes `harness init --template openai` ships (model and tool calls),
against the rule-based tool-calling model of tests.support.model_upstream:

    .venv/bin/python -m tests.support.record_init_cassettes

Run it after changing harness/templates/init/openai/agent.py.tmpl (or the support template's
cases or tools): the shipped cassettes must match the agent's requests exactly, which
tests/e2e/test_init.py checks by replaying them offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.cli_runs import REPO
from tests.support.model_upstream import model_upstream

TEMPLATES = REPO / "harness" / "templates" / "init" / "openai" / "cassettes"
CASES = ("shipped_order", "unknown_order", "general_question")


def main() -> None:
    for name in CASES:  # empty: the init run records every call (auto mode)
        (TEMPLATES / f"{name}.jsonl.tmpl").write_text("")
    with model_upstream() as upstream, tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "HARNESS_UPSTREAM_OPENAI_BASE_URL": upstream.openai_url,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        done = subprocess.run(
            [sys.executable, "-m", "harness", "init", "--template", "openai"],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            sys.exit(f"init failed:\n{done.stdout}\n{done.stderr}")
        for name in CASES:
            recorded = Path(tmp) / "evals" / "demo" / "cassettes" / f"{name}.jsonl"
            shutil.copyfile(recorded, TEMPLATES / f"{name}.jsonl.tmpl")
    print(f"recorded {len(CASES)} cassettes into {TEMPLATES}")


if __name__ == "__main__":
    main()
