"""JSONL read while it is written: complete lines only, offsets that resume exactly where the
last read stopped, whatever the writer had flushed."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.serve.lines import complete_lines, end_of_complete_lines

chunks = st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=12)


@settings(max_examples=80, deadline=None)
@given(lines=chunks, torn=st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")),
       cut=st.integers(min_value=0, max_value=400))  # fmt: skip
def test_complete_lines_and_resumable_offsets(
    tmp_path_factory: object, lines: list[bytes], torn: bytes, cut: int
) -> None:
    path = Path(tmp_path_factory.mktemp("jsonl")) / "results.jsonl"  # type: ignore[attr-defined]
    data = b"".join(line + b"\n" for line in lines) + torn
    path.write_bytes(data)
    assert [line for _, line in complete_lines(path)] == lines  # the torn tail is left
    for offset, line in complete_lines(path):
        assert data[offset : offset + len(line) + 1] == line + b"\n"
    # Resuming from any line boundary at or before `cut` reads the rest, and no more.
    boundaries = [0]
    for line in lines:
        boundaries.append(boundaries[-1] + len(line) + 1)
    start = max(b for b in boundaries if b <= cut) if cut else 0
    rest = [line for _, line in complete_lines(path, start)]
    assert rest == lines[boundaries.index(start) :]
    assert end_of_complete_lines(path, start) == boundaries[-1]


def test_a_missing_file_has_no_lines(tmp_path: Path) -> None:
    assert list(complete_lines(tmp_path / "absent.jsonl")) == []
