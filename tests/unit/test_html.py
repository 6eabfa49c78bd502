"""The HTML report (harness.reports.html): its JSON embedded inert, and only its own script
allowed to run."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from harness.reports.html import embed_json, render_html
from tests.support.reports import failed_result, gate_unit, run_data


def test_html_embeds_inert_json_and_allows_only_its_script() -> None:
    planted = "</script><script>alert(1)</script>\u2028&"
    assert "<" not in embed_json({"x": planted}) and "\u2028" not in embed_json({"x": planted})
    assert json.loads(embed_json({"x": planted})) == {"x": planted}
    result = failed_result("c", planted)
    page = render_html(run_data([result], [gate_unit("c", "regressed")])).decode()
    assert planted not in page
    script = re.search(r"<script>(.*)</script>", page, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page
    assert "innerHTML" not in page
