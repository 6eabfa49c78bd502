"""The Results API of `harness serve` over real runs, through a real server (uvicorn on a free
port) and a real client (httpx): every route, its errors, pages of results, the live tail with
ETags, and the history database opened read-only."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from harness.serve.app import _api
from harness.serve.history import open_read_only
from tests.support.serve_runs import XSS_CASE, XSS_STDERR, Served, ServedRuns, serving


@pytest.fixture(scope="module")
def api(dashboard_runs: ServedRuns) -> Iterator[Served]:
    with serving(dashboard_runs.out, dashboard_runs.db) as served:
        yield served


def ok(served: Served, path: str, **params: Any) -> Any:
    response = served.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def error(served: Served, path: str, expected: int, **params: Any) -> dict[str, Any]:
    response = served.get(path, params=params)
    assert response.status_code == expected, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["status"] == expected
    return body


def test_runs_newest_first_with_counts_trend_and_pages(
    api: Served, dashboard_runs: ServedRuns
) -> None:
    runs = ok(api, "/api/runs")
    assert [r["run_id"] for r in runs["items"]] == [dashboard_runs.second, dashboard_runs.first]
    assert runs["total"] == 2 and runs["suites"] == ["shop"]
    second, first = runs["items"]
    assert (first["attempts"], first["passed"], second["attempts"], second["passed"]) == (
        24,
        20,
        30,
        22,
    )
    assert second["status"] == "failed" and not second["live"] and second["exit_code"] == 1
    assert second["idle_seconds"] is None
    assert second["models"] == ["model-a", "model-b"] and second["trials"] == 3
    assert second["trend"] == [pytest.approx(20 / 24), pytest.approx(22 / 30)]
    assert second["cost_usd"] == pytest.approx(0.002 * 24 + 0.004 * 6)
    assert first["flaky_cells"] == 1  # lookup on model-b: P F P

    page = ok(api, "/api/runs", per_page=1, page=2)
    assert [r["run_id"] for r in page["items"]] == [dashboard_runs.first]
    assert (page["page"], page["pages"], page["total"]) == (2, 2, 2)
    assert ok(api, "/api/runs", status="passed")["total"] == 0
    assert ok(api, "/api/runs", suite="other")["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [({"page": "0"}, "page"), ({"per_page": "501"}, "per_page"), ({"page": "x"}, "page"),
     ({"status": "green"}, "status")],
)  # fmt: skip
def test_bad_parameters_are_400_naming_the_field(
    api: Served, params: dict[str, str], field: str
) -> None:
    found = error(api, "/api/runs", 400, **params)
    assert found["code"] == "invalid_parameter" and found["field"] == field


def test_one_run_with_its_facets(api: Served, dashboard_runs: ServedRuns) -> None:
    run = ok(api, f"/api/runs/{dashboard_runs.second}")
    assert run["previous_run"] == dashboard_runs.first
    assert run["facets"]["models"] == ["model-a", "model-b"]
    assert run["facets"]["tags"] == {"area": ["billing", "orders", "security", "support"]}
    assert run["facets"]["graders"] == ["must_call", "required_fields"]
    assert run["facets"]["failing_graders"] == {"required_fields": 8}
    assert run["facets"]["reasons"] == {"assertion_failed": 8}
    assert {m["name"] for m in run["metrics"]} >= {"pass_rate", "pass_at_k", "mean_wall_ms"}
    assert error(api, "/api/runs/20990101-000000-abcdef", 404)["code"] == "run_not_found"


@pytest.mark.parametrize(
    ("params", "total"),
    [({}, 30), ({"status": "fail"}, 8), ({"status": "passed"}, 22), ({"model": "model-b"}, 15),
     ({"tag": "area=billing"}, 6), ({"grader": "required_fields"}, 8), ({"grader": "must_call"}, 0),
     ({"reason": "assertion_failed"}, 8), ({"case": "LOOK"}, 6), ({"q": "triaged lookup"}, 6),
     ({"q": "order of refund"}, 6), ({"q": "no such text anywhere"}, 0),
     ({"status": "fail", "model": "model-b"}, 5)],
)  # fmt: skip
def test_outcomes_filtered(
    api: Served, dashboard_runs: ServedRuns, params: dict[str, str], total: int
) -> None:
    found = ok(api, f"/api/runs/{dashboard_runs.second}/outcomes", **params)
    assert found["total"] == total
    assert len(found["items"]) == total  # one page holds them all


def test_outcomes_in_pages(api: Served, dashboard_runs: ServedRuns) -> None:
    pages = [
        ok(api, f"/api/runs/{dashboard_runs.second}/outcomes", per_page=7, page=n) for n in (1, 5)
    ]
    assert [len(p["items"]) for p in pages] == [7, 2] and pages[0]["pages"] == 5
    everything = ok(api, f"/api/runs/{dashboard_runs.second}/outcomes")["items"]
    assert pages[1]["items"] == everything[28:]
    assert error(api, f"/api/runs/{dashboard_runs.second}/outcomes", 400, tag="x")["field"] == "tag"


def test_matrix_statistics_per_cell(api: Served, dashboard_runs: ServedRuns) -> None:
    matrix = ok(api, f"/api/runs/{dashboard_runs.first}/matrix", metric="pass_rate", sort="case")
    assert matrix["metric"]["unit"] == "ratio"
    assert matrix["metric"]["direction"] == "higher_is_better"
    assert matrix["models"] == ["model-a", "model-b"] and matrix["k"] == 3
    rows = {row["case_id"]: row for row in matrix["items"]}
    assert list(rows) == sorted(rows)
    lookup_b = rows["lookup"]["cells"][1]
    assert (lookup_b["c"], lookup_b["n"], lookup_b["flaky"]) == (2, 3, True)
    assert lookup_b["stability"] == "unstable"  # passed first: not a warm-up
    assert lookup_b["value"] == pytest.approx(2 / 3)
    assert lookup_b["pass_at_k"] == 1.0 and lookup_b["pass_hat_k"] == 0.0
    low, high = lookup_b["wilson_95"]
    assert low == pytest.approx(0.2077, abs=1e-3) and high == pytest.approx(0.9385, abs=1e-3)
    assert rows["escalate"]["cells"][0]["value"] == 0.0
    assert rows["refund"]["tags"] == {"area": "billing"}

    worst = ok(api, f"/api/runs/{dashboard_runs.first}/matrix")["items"]
    assert worst[0]["case_id"] == "escalate"  # 0 % on model-a sorts first
    cost = ok(api, f"/api/runs/{dashboard_runs.first}/matrix", metric="cost_usd")
    assert cost["metric"]["direction"] == "lower_is_better"
    only = ok(api, f"/api/runs/{dashboard_runs.first}/matrix", status="fail", model="model-b")
    assert [row["case_id"] for row in only["items"]] == ["lookup"] and only["models"] == ["model-b"]
    assert (
        error(api, f"/api/runs/{dashboard_runs.first}/matrix", 400, metric="x")["field"] == "metric"
    )


def test_one_attempt_whole(api: Served, dashboard_runs: ServedRuns) -> None:
    attempt = ok(api, f"/api/runs/{dashboard_runs.second}/attempts/refund/model-b/1")
    assert attempt["result"]["status"] == "fail" and attempt["mode"] == "replay"
    kinds = [event["type"] for event in attempt["transcript"]]
    assert kinds == [
        "task_start", "tool_call", "tool_result", "log", "final_output", "assertion_failure",
        "case_end",
    ]  # fmt: skip
    assert attempt["stderr"]["text"] == "working on refund\n"
    assert attempt["budgets"] == {"max_tool_calls": 5, "max_wall_ms": 20000}
    assert attempt["tags"] == {"area": "billing"}

    planted = ok(api, f"/api/runs/{dashboard_runs.second}/attempts/{quote(XSS_CASE)}/model-a/2")
    assert planted["result"]["case_id"] == XSS_CASE
    assert planted["stderr"]["text"] == XSS_STDERR + "\n"
    missing = error(api, f"/api/runs/{dashboard_runs.second}/attempts/refund/model-z/1", 404)
    assert missing["code"] == "attempt_not_found"


def test_compare_two_runs(api: Served, dashboard_runs: ServedRuns) -> None:
    found = ok(api, "/api/compare", head=dashboard_runs.second)  # base: the previous run
    assert found["base"]["run_id"] == dashboard_runs.first
    assert found["base_chosen_by"] == "previous_run"
    assert found["counts"] == {
        "regressed": 1, "fixed": 1, "still_failing": 1, "new": 2, "removed": 0, "still_passing": 5,
    }  # fmt: skip
    units = {(u["case_id"], u["model"]): u for u in found["items"]}
    assert units[("refund", "model-b")]["category"] == "regressed"
    assert units[("refund", "model-b")]["delta"]["pass_rate"] == -1.0
    assert units[("lookup", "model-b")]["category"] == "fixed"
    test = found["paired_test"]
    assert (test["pairs"], test["worse"], test["better"]) == (24, 3, 1)
    assert test["p_value"] == pytest.approx(5 / 16) and test["verdict"] == "no_significant_drop"
    regressed = ok(api, "/api/compare", base=dashboard_runs.first, head=dashboard_runs.second,
                   category="regressed")  # fmt: skip
    assert [(u["case_id"], u["model"]) for u in regressed["items"]] == [("refund", "model-b")]
    assert error(api, "/api/compare", 404, head=dashboard_runs.first)["code"] == "no_base_run"
    assert error(api, "/api/compare", 404, base="nope", head=dashboard_runs.second)["code"] == (
        "run_not_found"
    )


def test_case_history_from_the_database(api: Served, dashboard_runs: ServedRuns) -> None:
    history = ok(api, "/api/cases/lookup/history", suite="shop")
    assert history["database"] is True
    entries = history["items"]
    assert len(entries) == 4 and entries[0]["run_id"] == dashboard_runs.first  # oldest first
    assert {e["run_id"] for e in entries} == {dashboard_runs.first, dashboard_runs.second}
    first_b = next(
        e for e in entries if e["run_id"] == dashboard_runs.first and e["model"] == "model-b"
    )
    assert first_b["trials"] == ["P", "F", "P"] and first_b["pass_rate"] == pytest.approx(2 / 3)
    verdict = history["flakiness"]["model-b"]
    assert (verdict["runs"], verdict["trials"], verdict["passed"], verdict["flaky"]) == (
        2,
        6,
        5,
        False,
    )
    assert "at least 5 runs" in verdict["rule"]
    assert error(api, "/api/cases/nothing-like-it/history", 404)["code"] == "case_not_found"


def test_case_history_without_a_database(dashboard_runs: ServedRuns) -> None:
    with serving(dashboard_runs.out, None) as served:
        history = ok(served, f"/api/cases/{quote(XSS_CASE)}/history")
    assert history["database"] is False
    assert len(history["items"]) == 4 and all(e["in_index"] for e in history["items"])
    assert all(e["mean_score"] == 1.0 for e in history["items"])  # scores come from the run dirs


def test_the_database_is_opened_read_only(dashboard_runs: ServedRuns, tmp_path: Path) -> None:
    copy = tmp_path / "history.db"
    shutil.copy(dashboard_runs.db, copy)
    before = copy.read_bytes()
    db = open_read_only(copy)
    assert db is not None
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("DELETE FROM runs")
    db.close()
    assert copy.read_bytes() == before
    assert open_read_only(tmp_path / "absent.db") is None
    assert not (tmp_path / "absent.db").exists()  # never created


def test_tail_reads_complete_lines_past_the_offset(
    dashboard_runs: ServedRuns, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = out / "shop" / dashboard_runs.first
    shutil.copytree(dashboard_runs.out / "shop" / dashboard_runs.first, run)
    (run / "summary.json").unlink()  # running again, as far as anyone can tell
    results = run / "results.jsonl"
    lines = results.read_bytes().splitlines(keepends=True)
    results.write_bytes(b"".join(lines[:20]))
    with serving(out) as served:
        url = f"/api/runs/{dashboard_runs.first}/tail"
        first = ok(served, url, offset=0)
        assert (
            len(first["items"]) == 20
            and first["card"]["live"]
            and first["card"]["status"] == "running"
        )
        assert first["offset"] == results.stat().st_size
        again = served.get(url, params={"offset": first["offset"]})
        etag = again.headers["etag"]
        quiet = served.get(url, params={"offset": first["offset"]}, headers={"if-none-match": etag})
        assert quiet.status_code == 304 and quiet.content == b""

        with results.open("ab") as handle:  # one whole line and half of the next
            handle.write(lines[20] + lines[21][:30])
        grown = ok(served, url, offset=first["offset"])
        assert [item["attempt_id"] for item in grown["items"]] == [_key(lines[20])]
        assert grown["offset"] == first["offset"] + len(lines[20])  # the half line waits

        with results.open("ab") as handle:  # the rest of it, one more, a line that is no result
            handle.write(lines[21][30:] + lines[22] + b'{"case_id": 5}\n')
        rest = ok(served, url, offset=grown["offset"])
        assert [item["attempt_id"] for item in rest["items"]] == [_key(lines[21]), _key(lines[22])]
        assert rest["offset"] == results.stat().st_size
        assert ok(served, url, offset=rest["offset"])["items"] == []
        assert error(served, url, 400, offset=str(10**9))["field"] == "offset"


def test_a_killed_run_is_running_but_idle(dashboard_runs: ServedRuns, tmp_path: Path) -> None:
    """A run killed outright never writes its summary: it counts as running (the rule), and its
    card says how long it has written nothing."""
    out = tmp_path / "out"
    run = out / "shop" / dashboard_runs.first
    shutil.copytree(dashboard_runs.out / "shop" / dashboard_runs.first, run)
    (run / "summary.json").unlink()
    hours_ago = time.time() - 2 * 3600
    for name in ("results.jsonl", "run.json"):
        os.utime(run / name, (hours_ago, hours_ago))
    with serving(out) as served:
        (card,) = ok(served, "/api/runs")["items"]
    assert card["status"] == "running" and card["live"]
    assert 2 * 3600 - 60 < card["idle_seconds"] < 2 * 3600 + 600


def _key(line: bytes) -> str:
    import json

    value = json.loads(line)
    return str(value.get("attempt_id") or value["case_id"])


def test_a_bug_is_a_500_that_keeps_its_traceback_on_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No run folder makes the readers raise (broken, hostile and half-written files are skipped),
    so the boundary every API route goes through is given a handler that raises."""

    def broken(request: Request) -> Any:
        raise RuntimeError("a detail only the server's stderr may show")

    app = Starlette(routes=[Route("/api/broken", _api(broken))])
    with caplog.at_level(logging.ERROR, "harness.serve"), TestClient(app) as client:
        response = client.get("/api/broken")
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "status": 500,
            "code": "internal_error",
            "message": "the server failed; see its stderr",
        }
    }
    assert "detail" not in response.text and "Traceback" not in response.text
    assert "a detail only the server's stderr may show" in caplog.text
    assert "/api/broken" in caplog.text
