"""The HTML report opened in headless Chromium (Debian's `chromium`, installed by .ci/run):
case ids, a failure message and a transcript are on the page, and markup planted in a tool
result stays text. A screenshot is saved under the test's tmp dir."""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

from tests.support.browser import chromium_path
from tests.support.cli_runs import Harness, command
from tests.support.gate_suites import make_suite

PLANTED = (
    "<script>document.body.setAttribute('data-pwned', 'script')</script>"
    "<img src=x onerror=\"document.body.setAttribute('data-pwned', 'img')\">"
    "</script><script>document.title = 'PWNED'</script>"
)


def browse(page: Path, profile: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium_path(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--no-first-run", f"--user-data-dir={profile}",
            "--window-size=1400,1000", *flags, page.as_uri(),
        ],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip


def test_html_report_in_headless_chromium(harness: Harness, tmp_path: Path) -> None:
    suite = make_suite(
        tmp_path / "suite", failing=("bravo",), tool_results={"bravo": {"note": PLANTED}}
    )
    run = harness.run(suite)
    assert run.exit_code == 1, run.describe()
    page = tmp_path / "report.html"
    built = command(harness, "report", str(run.dir), "--html", str(page))
    assert built.exit_code == 0, built.describe()
    source = page.read_text(encoding="utf-8")
    assert "<script>document" not in source  # the planted markup is escaped JSON in the file

    dumped = browse(page, tmp_path / "profile", "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout

    # Our script ran (the page is rendered), and nothing planted did.
    for case_id in ("alpha", "bravo", "charlie"):
        assert f">{case_id}<" in dom, case_id
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None and "data-pwned" not in body.group(0)
    assert "<img" not in dom
    assert "<title>harness report</title>" in dom
    assert "PWNED" in html.unescape(dom)  # present, but as text of the transcript
    assert html.escape("<script>document.body.setAttribute(", quote=False) in dom

    (bravo,) = [result for result in run.results() if result["case_id"] == "bravo"]
    message = bravo["failures"][0]["message"]
    assert html.escape(message, quote=False) in dom  # the failure message
    assert "Transcript (" in dom  # the transcript of the failing attempt, opened first
    assert ">tool_call<" in dom and ">tool_result<" in dom and ">final_output<" in dom

    shot = tmp_path / "report.png"
    taken = browse(page, tmp_path / "profile", f"--screenshot={shot}")
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.stat().st_size > 10_000


def test_a_sweeps_report_has_its_statistics_rounded(harness: Harness, tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "suite", failing=("charlie",))
    run = harness.run(suite, "--model", "small,large", "--runs", "3", "-q")
    assert run.exit_code == 1, run.describe()
    page = tmp_path / "sweep.html"
    assert command(harness, "report", str(run.dir), "--html", str(page)).exit_code == 0
    dumped = browse(page, tmp_path / "profile", "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = html.unescape(dumped.stdout)
    # Per model: 6 of 9 trials passed (charlie never), a Wilson interval, pass@3 and pass^3.
    assert "95% Wilson (pooled)" in dom and "pass@3" in dom and "pass^3" in dom
    assert re.search(r"<td>small</td><td>3</td><td>9</td><td>6</td><td>66\.67%</td>", dom), dom[
        -3000:
    ]
    assert "Flaky cases (0)" in dom
    # No float noise anywhere on the page: at most four significant digits are shown.
    assert not re.search(r">\d+\.\d{5,}%?<", dom)
