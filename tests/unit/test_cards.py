"""summary.json's gate read from the end of the file: the top-level `regression` whatever
nested `regression` keys the rows before and the keys after it hold, compact or indented, from
a tail that starts small and grows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.serve.cards import read_gate

# JSON values whose dicts may use the key "regression" anywhere, and strings that mimic it.
keys = st.sampled_from(["regression", "passed", "checks", "a", '"regression":{', "x]"])
leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | keys
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)
gates = st.fixed_dictionaries(
    {
        "passed": st.booleans(),
        "baseline": st.none() | st.text(max_size=20),
        "checks": st.lists(st.dictionaries(keys, leaves, max_size=3), max_size=3),
        "cases": st.lists(st.dictionaries(keys, values, max_size=3), max_size=3),
    }
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.dictionaries(keys, values, max_size=4), max_size=8),
    gate=gates,
    after=st.dictionaries(keys.filter(lambda k: k != "regression"), values, max_size=3),
    indent=st.sampled_from([None, 2]),
    first=st.sampled_from([8, 64, 1 << 18]),
)
def test_the_top_level_gate_is_found(
    tmp_path_factory: Any, rows: list[Any], gate: dict[str, Any], after: dict[str, Any],
    indent: int | None, first: int,
) -> None:  # fmt: skip
    summary = {"schema_version": 1, "cases": rows, "regression": gate,
               "policy_snapshot": {"regression": {"min": 1}}, **after}  # fmt: skip
    data = msgspec.json.encode(summary)
    if indent is not None:
        data = msgspec.json.format(data, indent=indent)
    path = Path(tmp_path_factory.mktemp("gate")) / "summary.json"
    path.write_bytes(data + b"\n")
    found = read_gate(path, first_bytes=first)
    assert found is not None
    assert found.passed == gate["passed"] and found.baseline == gate["baseline"]
    assert found.checks == gate["checks"]


def test_no_gate_or_no_file(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_bytes(b'{"cases": [{"regression": {"passed": true}}]}')
    assert read_gate(path) is None
    assert read_gate(tmp_path / "absent.json") is None
