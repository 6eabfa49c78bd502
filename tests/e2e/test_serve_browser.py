"""The dashboard in headless Chromium (Debian's, driven by Playwright): a click through runs ->
run -> attempt -> compare -> case history, a deep link that restores filters, an attempt that
appears live when a line is appended to results.jsonl, and markup planted in a case id, a tool
argument, a final output and stderr shown as text that never runs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.support.browser import Console, browser
from tests.support.serve_runs import (
    XSS_ARG,
    XSS_CASE,
    XSS_OUTPUT,
    XSS_STDERR,
    Served,
    ServedRuns,
    serving,
)

TIMEOUT_MS = 15_000  # generous: two cores shared with the rest of the suite


@pytest.fixture(scope="module")
def served(dashboard_runs: ServedRuns) -> Iterator[Served]:
    with serving(dashboard_runs.out, dashboard_runs.db) as server:
        yield server


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with browser(tmp_path_factory.mktemp("profile")) as opened:
        opened.set_default_timeout(TIMEOUT_MS)
        yield opened


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    opened = context.new_page()
    yield opened
    opened.close()


def test_click_through_every_page(page: Page, served: Served, dashboard_runs: ServedRuns) -> None:
    console = Console(page)
    page.goto(served.url + "/")
    expect(page.locator("h1")).to_have_text("Runs")
    page.locator(
        f'tr[data-run="{dashboard_runs.second}"] a', has_text=dashboard_runs.second
    ).click()
    expect(page).to_have_url(f"{served.url}/runs/{dashboard_runs.second}")
    refund = page.locator('tr[data-case="refund"]')
    expect(refund).to_contain_text("area=billing")
    expect(refund.locator(".cellbox").nth(1)).to_contain_text("0/3")

    refund.locator(".cellbox").nth(1).click()  # the failing cell opens its first failing trial
    expect(page).to_have_url(f"{served.url}/runs/{dashboard_runs.second}/attempts/refund/model-b/1")
    expect(page.locator(".failure .type")).to_have_text("assertion_failed")
    expect(page.locator(".event.tool .name")).to_have_text("lookup")
    expect(page.locator(".event.tool .badge").first).to_have_text("replayed")
    expect(page.locator("pre.stderr")).to_have_text("working on refund\n")
    expect(page.locator(".budget").first).to_contain_text("of 20.0 s")

    page.get_by_role("link", name="Back to run").click()
    page.get_by_role("link", name="Compare with previous").click()
    expect(page).to_have_url(
        f"{served.url}/compare?base={dashboard_runs.first}&head={dashboard_runs.second}"
    )
    regressed = page.locator('tr[data-case="refund"]', has_text="Regressed")
    expect(regressed).to_contain_text("100% → 0%")
    regressed.get_by_role("button", name="diff").click()
    expect(page.locator("tr.detail:visible .diff").first).to_contain_text("lookup(")
    expect(page.locator("tr.detail:visible")).to_contain_text('"reply": "refund handled"')

    regressed.get_by_role("link", name="refund").click()
    expect(page).to_have_url(f"{served.url}/cases/refund?suite=shop&model=model-b")
    expect(page.locator("h1")).to_have_text("refund")
    expect(page.locator(".strip .sq")).to_have_count(6)  # two runs, three trials on model-b
    expect(page.locator(".strip .sq.F")).to_have_count(3)

    page.goto(f"{served.url}/cases/refund?suite=shop")  # both models: one column per run
    expect(page.get_by_role("heading", name="Pass / fail over the last 2 runs")).to_be_visible()
    expect(page.locator(".strip-row")).to_have_count(2)
    expect(page.locator(".strip-row").first.locator(".run")).to_have_count(2)
    calm = page.locator("table", has_text="Not flaky on").locator("tbody tr")
    expect(calm).to_have_count(2)  # too few runs to tell on either model: one table, two rows
    assert console.errors == []


def test_a_deep_link_restores_the_view(
    page: Page, served: Served, dashboard_runs: ServedRuns
) -> None:
    console = Console(page)
    page.goto(f"{served.url}/runs/{dashboard_runs.second}?view=attempts&status=fail&model=model-b")
    expect(page.locator("tr[data-attempt]")).to_have_count(5)
    expect(page.locator('select[name="status"]')).to_have_value("fail")
    expect(page.locator('select[name="model"]')).to_have_value("model-b")
    expect(page.locator(".tabs a.current")).to_have_text("Attempts")

    page.locator('input[name="q"]').fill("order of refund")
    expect(page).to_have_url(
        f"{served.url}/runs/{dashboard_runs.second}?view=attempts&status=fail&model=model-b&q=order+of+refund"
    )
    expect(page.locator("tr[data-attempt]")).to_have_count(3)
    page.reload()
    expect(page.locator('input[name="q"]')).to_have_value("order of refund")
    expect(page.locator("tr[data-attempt]")).to_have_count(3)

    clear = page.get_by_role("button", name="Clear filters")
    clear.click()
    expect(page).to_have_url(f"{served.url}/runs/{dashboard_runs.second}?view=attempts")
    expect(clear).to_be_hidden()
    page.locator('select[name="status"]').select_option("fail")
    expect(clear).to_be_visible()  # as a reload of this URL draws the bar

    compare = f"/compare?base={dashboard_runs.first}&head={dashboard_runs.second}"
    page.goto(f"{served.url}{compare}&category=regressed&open=refund&open_model=model-b")
    expect(page.locator("tbody tr[data-case]")).to_have_count(1)  # refund on model-b alone
    expect(page.locator("tr.detail:visible")).to_contain_text('"reply": "refund handled"')
    assert console.errors == []


def test_a_page_that_cannot_load_says_why_and_leads_back(
    page: Page, served: Served, dashboard_runs: ServedRuns
) -> None:
    page.goto(served.url + "/")
    first = page.locator(f'tr[data-run="{dashboard_runs.first}"]')
    expect(first).to_be_visible()
    expect(first.get_by_role("link", name="compare")).to_have_count(0)  # nothing ran before it
    page.goto(f"{served.url}/compare?head={dashboard_runs.first}")
    expect(page.locator(".callout.bad")).to_contain_text("has no earlier run to compare with")
    page.get_by_role("link", name="Back to the run").click()
    expect(page).to_have_url(f"{served.url}/runs/{dashboard_runs.first}")
    page.goto(f"{served.url}/runs/no-such-run")
    page.get_by_role("link", name="All runs").click()
    expect(page.locator("h1")).to_have_text("Runs")


def test_an_appended_result_appears_live(
    page: Page, dashboard_runs: ServedRuns, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = out / "shop" / dashboard_runs.first
    shutil.copytree(dashboard_runs.out / "shop" / dashboard_runs.first, run)
    (run / "summary.json").unlink()
    results = run / "results.jsonl"
    lines = results.read_bytes().splitlines(keepends=True)
    results.write_bytes(b"".join(lines[:10]))
    newcomer = json.loads(lines[10])
    key = newcomer.get("attempt_id") or newcomer["case_id"]
    with serving(out) as served:
        page.goto(f"{served.url}/runs/{dashboard_runs.first}")
        expect(page.locator("#live .pill")).to_have_text("following")
        expect(page.locator(".tile").nth(1)).to_contain_text("10")
        with results.open("ab") as handle:
            handle.write(lines[10])
        expect(page.locator(f'#live [data-attempt="{key}"]')).to_be_visible()
        expect(page.locator(".tile").nth(1)).to_contain_text("11")


def test_planted_markup_is_text_and_never_runs(
    page: Page, served: Served, dashboard_runs: ServedRuns
) -> None:
    console = Console(page)
    case = quote(XSS_CASE, safe="")
    for path, planted in (
        (f"/runs/{dashboard_runs.second}", [XSS_CASE]),
        (
            f"/runs/{dashboard_runs.second}/attempts/{case}/model-a/1",
            [XSS_CASE, XSS_ARG, XSS_OUTPUT, XSS_STDERR],
        ),
        (f"/runs/{dashboard_runs.second}?view=attempts&q={quote(XSS_ARG)}", [XSS_CASE]),
        (f"/compare?head={dashboard_runs.second}", [XSS_CASE]),
        (f"/cases/{case}?suite=shop", [XSS_CASE]),
    ):
        page.goto(served.url + path)
        page.wait_for_selector("h1")
        page.wait_for_load_state("networkidle")
        text = page.locator("#app").inner_text()
        for markup in planted:
            assert markup in text.replace("\\", ""), (path, markup)
        found = page.evaluate(
            """() => ({
                pwned: document.body.dataset.pwned || null,
                images: document.querySelectorAll("#app img").length,
                scripts: [...document.scripts].map((s) => s.src),
                handlers: document.querySelectorAll("[onerror], [onload]").length,
            })"""
        )
        assert found["pwned"] is None, path
        assert found["images"] == 0 and found["handlers"] == 0, (path, found)
        assert all(src.startswith(served.url + "/static/") for src in found["scripts"]), found
    assert console.errors == []


MODEL_CALL = {
    "type": "model_call", "case_id": "refund", "attempt_id": "refund/model-a/1", "timestamp": 0,
    "api": "openai", "method": "POST", "path": "/v1/chat/completions", "source": "record",
    "status": 200, "streamed": True, "model": "gpt-test", "tokens_in": 31, "tokens_out": 12,
    "cost_usd": 0.0004, "recorded_at": "cassettes/lookup.jsonl:3",
}  # fmt: skip


def test_model_calls_show_in_the_transcript(
    page: Page, dashboard_runs: ServedRuns, tmp_path: Path
) -> None:
    """A transcript with the model proxy's `model_call` event (as harness.attempt.trace writes
    it) shows the call, where its answer came from, and its usage."""
    out = tmp_path / "out"
    run = out / "shop" / dashboard_runs.first
    shutil.copytree(dashboard_runs.out / "shop" / dashboard_runs.first, run)
    transcript = run / "attempts" / "refund" / "model-a" / "trial-1" / "transcript.jsonl"
    lines = transcript.read_bytes().splitlines(keepends=True)
    event = {**MODEL_CALL, "timestamp": json.loads(lines[0])["timestamp"] + 0.05}
    transcript.write_bytes(lines[0] + json.dumps(event).encode() + b"\n" + b"".join(lines[1:]))
    with serving(out) as served:
        page.goto(f"{served.url}/runs/{dashboard_runs.first}/attempts/refund/model-a/1")
        call = page.locator(".event.model")
        expect(call.locator(".name")).to_have_text("POST /v1/chat/completions")
        expect(call.locator(".badge")).to_have_text("recorded")
        expect(call).to_contain_text("gpt-test")
        expect(call).to_contain_text("12")
        kinds = page.locator(".event-head .kind").all_inner_texts()
        assert [k.lower() for k in kinds[:3]] == ["input", "model call", "tool call"]
