"""Runs for the `harness serve` tests, made by real `harness run`s of a sweep suite whose agent
(tests/agents/dashboard_agent.py) plays an outcome per model and trial, and a server on a free
port in a thread of the test process (uvicorn, as `harness serve` runs it)."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from harness.serve.app import build_app
from harness.serve.server import bind
from tests.support.cli_runs import REPO, Harness
from tests.support.files import interaction, read_json, write_suite

AGENT = REPO / "tests" / "agents" / "dashboard_agent.py"
MODELS = ("model-a", "model-b")
# Markup planted where agents write: a case id, a tool argument, a final output and stderr.
XSS_CASE = "xss <img src=x onerror=\"document.body.dataset.pwned='case'\">"
XSS_ARG = "<script>document.body.dataset.pwned='arg'</script>"
XSS_OUTPUT = "<img src=x onerror=\"document.body.dataset.pwned='output'\"><b>bold?</b>"
XSS_STDERR = "<svg onload=\"document.body.dataset.pwned='stderr'\"></svg> stderr line"

FIRST = {
    "refund": {"model-a": "PPP", "model-b": "PPP"},
    "lookup": {"model-a": "PPP", "model-b": "PFP"},
    "escalate": {"model-a": "FFF", "model-b": "PPP"},
    XSS_CASE: {"model-a": "PPP", "model-b": "PPP"},
}
SECOND = {
    "refund": {"model-a": "PPP", "model-b": "FFF"},  # regressed on model-b
    "lookup": {"model-a": "PPP", "model-b": "PPP"},  # fixed on model-b
    "escalate": {"model-a": "FFF", "model-b": "PPP"},  # still failing on model-a
    XSS_CASE: {"model-a": "PPP", "model-b": "PPP"},
    "fresh": {"model-a": "PPP", "model-b": "PFF"},  # new
}
TAGS = {"refund": "billing", "lookup": "orders", "escalate": "support", XSS_CASE: "security"}


def dashboard_suite(root: Path, outcomes: dict[str, dict[str, str]]) -> Path:
    suite = {
        "suite_name": "shop",
        "agent_command": [sys.executable, str(AGENT)],
        "tool_registry": ["lookup"],
        "assertions": [
            {"type": "required_fields", "fields": ["answer"]},
            {"type": "must_call", "tools": ["lookup"]},
        ],
        "budgets": {"max_tool_calls": 5, "max_wall_ms": 20000},
        "models": list(MODELS),
        "runs": 3,
    }
    cases: list[dict[str, Any]] = []
    entries = []
    for case_id, letters in outcomes.items():
        query = XSS_ARG if case_id == XSS_CASE else f"order of {case_id}"
        spec: dict[str, Any] = {
            "outcomes": letters,
            "calls": [{"name": "lookup", "args": {"q": query}}],
            "answer": XSS_OUTPUT if case_id == XSS_CASE else f"{case_id} handled",
            "log": f"triaged {case_id}",
            "stderr": XSS_STDERR if case_id == XSS_CASE else f"working on {case_id}",
            "cost_usd": 0.004 if case_id == "escalate" else 0.002,
        }
        case: dict[str, Any] = {"id": case_id, "input": spec, "cassette": "cassettes/lookup.jsonl"}
        if case_id in TAGS:
            case["tags"] = {"area": TAGS[case_id]}
        cases.append(case)
        entries.append(interaction("lookup", {"q": query}, {"found": query, "note": XSS_ARG}))
    return write_suite(root, suite, cases, {"cassettes/lookup.jsonl": entries})


@dataclass
class ServedRuns:
    out: Path
    db: Path
    first: str
    second: str
    suite: Path


def make_runs(harness: Harness, root: Path) -> ServedRuns:
    """Two runs of the shop suite (the second changes outcomes), recorded in the history db."""
    suite = dashboard_suite(root / "suite", FIRST)
    first = harness.run(suite)
    assert first.exit_code == 1, first.describe()  # escalate fails on model-a
    time.sleep(1.1)  # run ids and started_at have one-second resolution
    dashboard_suite(root / "suite", SECOND)
    second = harness.run(suite)
    assert second.exit_code == 1, second.describe()
    ids = [read_json(run.dir / "run.json")["run_id"] for run in (first, second)]
    return ServedRuns(harness.out, harness.cwd / ".harness" / "history.db", ids[0], ids[1], suite)


class Served:
    """A server on 127.0.0.1 and a free port, with an httpx client that sends its Host."""

    def __init__(self, url: str, port: int) -> None:
        self.url = url
        self.port = port
        self.client = httpx.Client(base_url=url, timeout=30)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)


@contextlib.contextmanager
def serving(root: Path, db: Path | None = None, token: str | None = None) -> Iterator[Served]:
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = build_app(root, db_path=db, port=port, token=token)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    served = Served(f"http://127.0.0.1:{port}", port)
    try:
        yield served
    finally:
        served.client.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
