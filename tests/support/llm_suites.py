"""Suites of real LLM agents (tests/agents/llm) for the model-cassette tests: one suite per agent,
one case per way of calling its SDK (sync or async, streamed or not, ...), the two tools they
use, and the stand-in script that makes every agent call both tools before it answers
(tests/e2e/test_model_cassettes*.py run them).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.cli_runs import REPO
from tests.support.files import write_suite
from tests.support.providers import Script, load_script

LLM_AGENTS = REPO / "tests" / "agents" / "llm"
NODE_AGENT_DIR = LLM_AGENTS / "node"

TOOLS_PY = """\
def get_weather(city):
    return {"city": city, "sky": "overcast", "temp_c": 12}


def local_time(city):
    return {"city": city, "time": "09:30"}
"""
TOOL_SPECS = [
    {
        "name": name,
        "description": description,
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
    for name, description in [
        ("get_weather", "The weather in a city now"),
        ("local_time", "The local time in a city"),
    ]
]
PROMPT = "What is the weather in Oslo, and what time is it there?"
# Model, tool, model, tool, model: the agent's calls interleave, and the answer carries the last
# tool's result (and characters that UTF-8 encodes in 2, 3 and 4 bytes).
STANDIN_SCRIPT: dict[str, Any] = {
    "rules": [
        {
            "match": "Oslo",
            "turns": [
                {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
                {
                    "text": "Været er grått; now the time.",
                    "tool_calls": [{"name": "local_time", "arguments": {"city": "Oslo"}}],
                },
                {"text": "Oslo → {tool_results} ☂️ Ha det bra!"},
            ],
        }
    ]
}
ANSWER = 'Oslo → {"city": "Oslo", "time": "09:30"} ☂️ Ha det bra!'


def standin_script(**options: Any) -> Script:
    return load_script({**STANDIN_SCRIPT, **options})


@dataclass(frozen=True)
class Client:
    """One agent and the variants of its SDK calls, each a case."""

    command: list[str]
    variants: dict[str, dict[str, Any]]
    reuse: bool = True  # protocol 2: one process serves every case of a worker


CLIENTS: dict[str, Client] = {
    "openai-chat": Client(
        [sys.executable, str(LLM_AGENTS / "openai_chat_agent.py")],
        {
            "sync": {},
            "stream": {"stream": True},
            "async": {"async": True},
            "async-stream": {"async": True, "stream": True},
        },
    ),
    "openai-responses": Client(
        [sys.executable, str(LLM_AGENTS / "openai_responses_agent.py")],
        {
            "sync": {},
            "stream": {"stream": True},
            "async": {"async": True},
            "async-stream": {"async": True, "stream": True},
            "chain": {"chain": True},
        },
    ),
    "anthropic": Client(
        [sys.executable, str(LLM_AGENTS / "anthropic_agent.py")],
        {
            "sync": {},
            "stream": {"stream": True},
            "async": {"async": True},
            "async-stream": {"async": True, "stream": True},
            "count-tokens": {"count_tokens": True},
        },
    ),
    "pydantic-ai": Client(
        [sys.executable, str(LLM_AGENTS / "pydantic_ai_agent.py")],
        {"sync": {}, "stream": {"stream": True}},
    ),
    "node-openai": Client(
        ["node", str(NODE_AGENT_DIR / "agent.mjs")],
        {"sync": {}, "stream": {"stream": True}},
        reuse=False,
    ),
}


def llm_suite(root: Path, client: str, **suite: Any) -> Path:
    """A suite running `client`'s agent on every variant, with both tools live in record mode
    (python backend) and every cassette under cassettes/<case>.jsonl."""
    agent = CLIENTS[client]
    settings: dict[str, Any] = {
        "suite_name": client,
        "agent_command": agent.command,
        "tool_registry": ["get_weather", "local_time"],
        "tools": {
            name: {"backend": "python", "function": f"tools:{name}"}
            for name in ("get_weather", "local_time")
        },
        "assertions": [{"type": "required_fields", "fields": ["answer", "tools_used"]}],
        **({"agent_reuse": "per_worker"} if agent.reuse else {}),
        **suite,
    }
    cases = [
        {
            "id": variant,
            "input": {"prompt": PROMPT, "tools": TOOL_SPECS, **options},
            "cassette": f"cassettes/{variant}.jsonl",
        }
        for variant, options in agent.variants.items()
    ]
    written = write_suite(root, settings, cases)
    (written / "tools.py").write_text(TOOLS_PY, encoding="utf-8")
    return written


def install_node_agent() -> str | None:
    """`npm ci` for the Node agent when its node_modules is missing; None when it is ready,
    else why it cannot be (no node or npm on this machine)."""
    if (NODE_AGENT_DIR / "node_modules" / "openai").is_dir():
        return None
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return "node and npm are needed for the Node agent (.ci/run installs them)"
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_AGENT_DIR,
        check=True,
        timeout=600,
    )
    return None
