"""An MCP server that dies mid-run is started again, and the attempt it broke is retried as
infrastructure (never recorded as the agent's failure)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.cli_runs import REPO, Harness
from tests.support.record_suites import call, case, entries, live_suite

DYING_SERVER = REPO / "tests" / "agents" / "dying_mcp_server.py"


def test_a_dead_mcp_server_is_restarted_and_the_attempt_retried(
    harness: Harness, tmp_path: Path
) -> None:
    pytest.importorskip(
        "mcp.server.mcpserver", reason="needs the mcp SDK (pip install -e '.[dev]')"
    )
    marker = tmp_path / "died-once"
    suite = live_suite(
        tmp_path / "restart",
        ["lookup"],
        {"lookup": {"backend": "mcp", "server": "dying"}},
        [case("first", [call("lookup", key="a")]), case("second", [call("lookup", key="b")])],
        mcp_servers={"dying": {"command": [sys.executable, str(DYING_SERVER), str(marker)]}},
    )

    run = harness.run(suite, "--mode", "record", "--workers", "1")

    assert run.exit_code == 0, run.describe()
    assert marker.exists()  # the server really died once
    results = run.results_by_case()
    assert {r["status"] for r in results.values()} == {"pass"}
    retried = [r for r in results.values() if r.get("retries")]
    assert len(retried) == 1, results
    assert entries(suite / "cassettes" / "first.jsonl")[0]["result"] == {"result": "value-a"}
    assert entries(suite / "cassettes" / "second.jsonl")[0]["result"] == {"result": "value-b"}
    assert "dying on purpose" in (run.dir / "tools" / "mcp-dying.stderr.log").read_text()
