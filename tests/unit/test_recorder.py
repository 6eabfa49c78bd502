"""The cassette recorder (harness.cassette.recorder): which entries of a shared cassette serve
which case."""

from __future__ import annotations

from harness.cassette.format import Interaction
from harness.cassette.recorder import entries_for_case


def test_untagged_entries_serve_cases_without_tagged_ones() -> None:
    entries = [
        Interaction("t", {"n": 1}, True),
        Interaction("t", {"n": 2}, True, case="a"),
    ]
    assert entries_for_case(entries, "a") == [1]
    assert entries_for_case(entries, "b") == [0]
    assert entries_for_case(entries[:1], "a") == [0]
