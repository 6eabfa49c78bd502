"""A self-contained HTML report: overview, gate, case x model matrix, pass-rate chart over past
runs, and a transcript viewer per attempt with its diff against the baseline.

Safety: the run's data is embedded once, as JSON in a `<script type="application/json">` with
`<`, `>` and `&` escaped (so `</script>` in a tool result cannot end it), and the page's one
script places every string with textContent. A Content-Security-Policy allows that script alone
(by its hash), so even markup that slipped in could not run code.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from harness.reports.run_data import RunData

# Strings longer than this are cut in the page (the run directory keeps them whole).
MAX_STRING_CHARS = 20_000


def _asset(name: str) -> str:
    return resources.files("harness.reports").joinpath(name).read_text(encoding="utf-8")


def embed_json(value: Any) -> str:
    """JSON that is inert inside a <script> element: no `<`, `>` or `&` left to parse."""
    text = msgspec.json.encode(value).decode("utf-8")
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _clip(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING_CHARS else value[:MAX_STRING_CHARS] + "…[cut]"
    if isinstance(value, list):
        return [_clip(item) for item in value]
    if isinstance(value, dict):
        return {key: _clip(item) for key, item in value.items()}
    return value


def page_data(data: RunData) -> dict[str, Any]:
    return {
        "suite": data.suite,
        "run_id": data.run_id,
        "started_at": data.timestamp,
        "exit_code": data.exit_code,
        "gate": data.gate,
        "results": msgspec.to_builtins(data.results),
        "traces": _clip(data.traces()),
        "history": data.history,
        "sweep": data.summary.get("sweep"),
    }


def render_html(data: RunData) -> bytes:
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    page = _asset("report.html")
    # Placeholders replaced in an order where none can appear inside an earlier replacement.
    page = page.replace("__SCRIPT_HASH__", f"sha256-{digest}")
    head, _, tail = page.partition("__DATA__")
    tail = tail.replace("__SCRIPT__", script)
    return (head + embed_json(_clip(page_data(data))) + tail).encode("utf-8")
