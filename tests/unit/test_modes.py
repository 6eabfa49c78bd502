"""The tooling of a run (harness.cassette.modes): results redacted before they are written."""

from __future__ import annotations

from pathlib import Path

from harness.cassette.modes import Gateways, prepare_tooling
from harness.plan.load import load_suite
from harness.results import AttemptResult, Failure


def test_results_are_redacted_without_breaking_their_types(tmp_path: Path) -> None:
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "c.yaml").write_text("id: c\ninput: {}\n", encoding="utf-8")
    (tmp_path / "suite.yaml").write_text(
        "suite_name: s\nagent_command: [x]\nmode: replay\ncases_path: cases\n"
        "tool_registry: [token]\n",
        encoding="utf-8",
    )
    suite = load_suite(tmp_path)
    gateways = Gateways(prepare_tooling(suite, all_cases=suite.cases, strict=False))
    result = AttemptResult(
        case_id="c",
        status="fail",
        wall_ms=1,
        tool_calls_by_name={"token": 3},  # a tool named like a secret key stays a count
        failures=[Failure("cassette_mismatch", "m", details={"args": {"password": "hunter2"}})],
        stderr_tail="Authorization: Bearer abcdefghijklmnop",
    )
    redacted = gateways.redact_result(result)
    assert redacted.tool_calls_by_name == {"token": 3}
    assert redacted.failures[0].details == {
        "args": {"password": gateways.redactor.marker("hunter2")}
    }
    assert redacted.stderr_tail is not None and "abcdefghijklmnop" not in redacted.stderr_tail
