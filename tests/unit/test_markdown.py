"""The Markdown summary (harness.reports.markdown): agent text escaped, regressions first, and
the size limit kept."""

from __future__ import annotations

import re

from harness.reports.markdown import MAX_CHARS, code, code_block, escape, render_markdown
from tests.support.reports import failed_result, gate_unit, run_data


def test_markdown_escapes_agent_text() -> None:
    assert escape("a|b <img src=x> @team **x**") == (
        "a\\|b &lt;img src=x&gt; @\u200bteam \\*\\*x\\*\\*"
    )
    assert code("has ` tick") == "``has ` tick``"
    assert code("`edge") == "`` `edge ``"
    block = code_block("```\nfence")
    assert block.startswith("````text\n") and block.endswith("\n````")


def test_markdown_puts_regressions_first_and_stays_under_the_limit() -> None:
    results = [failed_result(f"case{i:04}", "x" * 5000) for i in range(500)]
    units = [gate_unit(f"case{i:04}", "still_failing") for i in range(500)]
    units[400] = gate_unit("case0400", "regressed")
    text = render_markdown(run_data(results, units))
    assert len(text) < MAX_CHARS
    assert text.index("#### Regressions") < text.index("case0400") < text.index("#### Other")
    assert re.search(r"_\d+ more failing attempt\(s\) not shown", text)
    assert text.count("<details>") == text.count("</details>")
