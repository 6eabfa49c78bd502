"""Run directories (harness.storage.runs): a JSON file streamed one row at a time is
write_json's, byte for byte."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from harness.storage.runs import PRETTY_MAX_BYTES, RunDirectory


class _Squares(Mapping[str, int]):
    """A Mapping that is no dict (as aggregate.sweep.KCurve): written as its dict."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __getitem__(self, key: str) -> int:
        if key not in {str(k) for k in range(self.n)}:
            raise KeyError(key)
        return int(key) ** 2

    def __iter__(self) -> Iterator[str]:
        return (str(k) for k in range(self.n))

    def __len__(self) -> int:
        return self.n


def test_streamed_json_is_write_json_byte_for_byte(tmp_path: Path) -> None:
    folder = RunDirectory(tmp_path)
    for rows in (3, 20_000):  # pretty under PRETTY_MAX_BYTES, compact above
        sweep = {"k": _Squares(3), "rows": [{"r": [1, {}]}, []], "empty": {}}
        value = {"a": 1, "cases": [], "sweep": sweep, "z": [1.5, None], "e": [], "d": {}}
        items = [{"id": f"case-{n}", "x": n / 7, "ok": n % 2 == 0} for n in range(rows)]
        folder.write_json_streamed("streamed.json", value, "cases", iter(items))
        plain = json.loads(json.dumps({**value, "cases": items}, default=dict))
        folder.write_json("whole.json", plain)
        streamed = (tmp_path / "streamed.json").read_bytes()
        assert streamed == (tmp_path / "whole.json").read_bytes()
        assert (len(streamed) > PRETTY_MAX_BYTES) == (rows > 3)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
