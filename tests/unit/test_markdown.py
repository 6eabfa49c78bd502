"""The Markdown summary (harness.reports.markdown): agent text escaped, regressions first, and
the size limit kept."""

from __future__ import annotations

import re

from harness.reports.markdown import MAX_CHARS, code, code_block, escape, render_markdown
from harness.results import AttemptResult, Failure
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


def observed_failure(case_id: str, observed: str) -> AttemptResult:
    failure = Failure(
        type="assertion_failed",
        message="output does not match /Friday/",
        expected="/Friday/",
        observed=observed,
    )
    return AttemptResult(case_id, "fail", 10, attempt_id=case_id, failures=[failure])


def test_the_budget_goes_to_every_failing_case_before_any_long_text() -> None:
    # 40 failures of 3,000 characters do not all fit whole: each still gets its short block,
    # gating ones first, and the room left shows whole texts, gating ones first too.
    results = [observed_failure(f"c{i:02}", f"{i:02} " + "word " * 600) for i in range(40)]
    units = [gate_unit(f"c{i:02}", "still_failing", gating=i >= 30) for i in range(40)]
    text = render_markdown(run_data(results, units))
    assert len(text) < MAX_CHARS
    assert text.count("<details>") == 40 and "not shown" not in text
    whole = [i for i in range(40) if f"observed: {i:02} {'word ' * 599}word" in text]
    assert set(range(30, 40)) <= set(whole) < set(range(40))  # gating ones grow first
    assert "more characters]" in text  # the others are cut, and say so


def test_a_short_observed_text_is_shown_whole() -> None:
    ending = "moved to Friday at 5pm, in room B."
    results = [observed_failure("only", "Your meeting " * 20 + ending)]
    text = render_markdown(run_data(results, [gate_unit("only", "regressed")]))
    assert ending in text
