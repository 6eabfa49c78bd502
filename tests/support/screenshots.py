"""The screenshots in docs/serve.md: six real runs of the dashboard suite (outcomes that drift
from run to run, so trends, regressions and a flaky case show), served as `harness serve`
serves them, each page taken at 1400 px wide by Debian's chromium.

    python -m tests.support.screenshots docs/serve
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Page

from tests.support.browser import browser
from tests.support.cli_runs import Harness
from tests.support.files import read_json
from tests.support.serve_runs import XSS_CASE, dashboard_suite, serving

# Six nightly runs: `lookup` flips on model-b, `refund` regresses in the last run.
NIGHTS = [
    {"refund": "PPP", "lookup": "PFP", "escalate": "FFP", "fresh": "PPP"},
    {"refund": "PPP", "lookup": "FPP", "escalate": "FPP", "fresh": "PPP"},
    {"refund": "PPP", "lookup": "PPF", "escalate": "FFF", "fresh": "PPP"},
    {"refund": "PPP", "lookup": "FFP", "escalate": "FPF", "fresh": "PPF"},
    {"refund": "PPP", "lookup": "PFP", "escalate": "FFP", "fresh": "PPP"},
    {"refund": "FPF", "lookup": "PPF", "escalate": "FFF", "fresh": "PFP"},
]


def outcomes(night: dict[str, str]) -> dict[str, dict[str, str]]:
    table = {case: {"model-a": "PPP" if case != "escalate" else letters, "model-b": letters}
             for case, letters in night.items()}  # fmt: skip
    table[XSS_CASE] = {"model-a": "PPP", "model-b": "PPP"}
    return table


def make_nights(root: Path) -> tuple[Path, Path, list[str]]:
    harness = Harness(root)
    ids = []
    for night in NIGHTS:
        suite = dashboard_suite(root / "suite", outcomes(night))
        run = harness.run(suite)
        ids.append(read_json(run.dir / "run.json")["run_id"])
        time.sleep(1.1)  # run ids have one-second resolution
    return harness.out, root / ".harness" / "history.db", ids


def shoot(page: Page, url: str, target: Path, ready: str) -> None:
    page.goto(url)
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)  # charts settle their size
    page.screenshot(path=str(target), full_page=True)
    print(target)


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out, db, ids = make_nights(Path(tmp))
        last, before = ids[-1], ids[-2]
        with serving(out, db) as served, browser(Path(tmp) / "profile") as context:
            page = context.new_page()
            base = served.url
            shoot(page, base + "/", folder / "runs.png", "tr[data-run]")
            shoot(page, f"{base}/runs/{last}", folder / "run.png", "table.matrix")
            shoot(
                page,
                f"{base}/runs/{last}?view=attempts&status=fail",
                folder / "run-attempts.png",
                "tr[data-attempt]",
            )
            shoot(
                page,
                f"{base}/runs/{last}/attempts/refund/model-b/1",
                folder / "attempt.png",
                ".timeline",
            )
            compare = f"{base}/compare?base={before}&head={last}&open=refund&open_model=model-b"
            shoot(page, compare, folder / "compare.png", "tr.detail .diff")
            history = f"{base}/cases/lookup?suite=shop&model=model-b"
            shoot(page, history, folder / "case.png", ".strip")
            xss = f"{base}/runs/{last}/attempts/{quote(XSS_CASE, safe='')}/model-a/1"
            shoot(page, xss, folder / "attempt-planted-markup.png", ".timeline")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/serve"))
