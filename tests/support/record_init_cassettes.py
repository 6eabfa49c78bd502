"""Re-record the cassettes `harness init --template openai` ships (model and tool calls),
against tests/support/providers scripted as a tool-calling model (SCRIPT below):

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
from tests.support.providers import load_script, running_providers

TEMPLATES = REPO / "harness" / "templates" / "init" / "openai" / "cassettes"
CASES = ("shipped_order", "unknown_order", "general_question")


def _calls(*calls: tuple[str, dict[str, object]]) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": args} for name, args in calls]}


# What the model does in each case: look the order up, find an article, answer.
SCRIPT = load_script(
    {
        "rules": [
            {
                "match": "ORD-1001",
                "turns": [
                    _calls(("get_order", {"order_id": "ORD-1001"})),
                    _calls(("search_kb", {"query": "track shipped order", "limit": 1})),
                    {"text": "Your order ORD-1001 has shipped with DHL."},
                ],
            },
            {
                "match": "ORD-9999",
                "turns": [
                    _calls(("get_order", {"order_id": "ORD-9999"})),
                    _calls(("search_kb", {"query": "refund", "limit": 1})),
                    {"text": "I could not find order ORD-9999; please check the number."},
                ],
            },
            {
                "match": "delivery address",
                "turns": [
                    _calls(("search_kb", {"query": "change delivery address", "limit": 1})),
                    {"text": "See: Changing your delivery address."},
                ],
            },
        ]
    }
)


def main() -> None:
    for name in CASES:  # empty: the init run records every call (auto mode)
        (TEMPLATES / f"{name}.jsonl.tmpl").write_text("")
    with running_providers(SCRIPT) as providers, tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            **providers.upstream_env(),
            "OPENAI_API_KEY": "sk-stand-in",
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
