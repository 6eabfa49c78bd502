"""Damaged cassettes and baselines never crash harness: loading returns, or raises one
HarnessError whose message is one line naming the file. Random mutations of valid files, wrong
types, wrong encodings, deep nesting, empty and binary files, directories and symlink loops.
(Suite and case files are fuzzed the same way in tests/unit/test_load.py.)"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cassette.format import read_cassette
from harness.errors import HarnessError
from harness.gate.baseline import load_baseline

REPO = Path(__file__).resolve().parents[2]
CASSETTE = (REPO / "cassettes" / "demo" / "double_charge.jsonl").read_bytes()
BASELINE = (Path(__file__).parent / "data" / "baseline.json").read_bytes()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


def flip(data: bytes, index: int, byte: int) -> bytes:
    if not data:
        return bytes([byte])
    index %= len(data)
    return data[:index] + bytes([byte]) + data[index + 1 :]


def retyped(data: bytes, line_index: int, key_index: int, value: Any) -> bytes:
    """One key of one JSON object line given a value of another type."""
    lines = data.split(b"\n")
    line_index %= len(lines)
    try:
        document = json.loads(lines[line_index])
    except ValueError:
        return data
    if not isinstance(document, dict) or not document:
        return data
    key = sorted(document)[key_index % len(document)]
    document[key] = value
    lines[line_index] = json.dumps(document).encode()
    return b"\n".join(lines)


def nested(depth: int) -> bytes:
    return b'{"tool": "x", "args": ' + b"[" * depth + b"]" * depth + b"}\n"


def mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        st.just(b""),
        st.builds(lambda n: valid[:n], st.integers(0, len(valid))),
        st.builds(flip, st.just(valid), st.integers(0, 1 << 20), st.integers(0, 255)),
        st.builds(retyped, st.just(valid), st.integers(0, 50), st.integers(0, 50), json_values),
        st.builds(lambda text: text.encode("utf-16"), st.just(valid.decode())),
        st.builds(lambda text: text.encode("latin-1", "replace"), st.text(max_size=40)),
        st.builds(nested, st.sampled_from([10, 5_000, 200_000])),
        st.builds(lambda extra: valid + extra, st.binary(max_size=40)),
    )


def check_one_line_error(load: Callable[[Path], Any], data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "file.json"
        path.write_bytes(data)
        try:
            load(path)
        except HarnessError as exc:
            message = str(exc)
            assert "\n" not in message.strip(), message
            assert str(path) in message, message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations(CASSETTE))
def test_damaged_cassette_is_loaded_or_one_line_error(data: bytes) -> None:
    check_one_line_error(read_cassette, data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations(BASELINE))
def test_damaged_baseline_is_loaded_or_one_line_error(data: bytes) -> None:
    check_one_line_error(load_baseline, data)


def test_cassette_and_baseline_that_are_not_files(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    directory = tmp_path / "dir"
    directory.mkdir()
    unreadable = tmp_path / "fifo"
    unreadable.write_bytes(b"{}")
    unreadable.chmod(0)
    for path in (loop, dangling, directory, tmp_path / "missing"):
        for load in (read_cassette, load_baseline):
            try:
                load(path)
            except HarnessError as exc:
                assert str(path) in str(exc) and "\n" not in str(exc).strip(), exc
            else:
                raise AssertionError(f"{load.__name__} accepted {path}")
    shutil.rmtree(directory)


ASSAY = REPO / "tests" / "fixtures" / "assay"
ASSAY_CONFIG = (ASSAY / "eval.yaml").read_bytes()
ASSAY_TRACES = [
    (ASSAY / "traces" / name).read_bytes()
    for name in ("golden.legacy.jsonl", "golden.v1.jsonl", "golden.v2.jsonl")
]


def check_lines_name_the_file(load: Callable[[Path], Any], data: bytes, name: str) -> None:
    """Like check_one_line_error, for loaders that report every problem: one line each."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            load(path)
        except HarnessError as exc:
            for line in str(exc).strip().splitlines():
                assert str(path) in line, str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        mutations(ASSAY_CONFIG),
        st.builds(
            lambda text: ASSAY_CONFIG.replace(b"tests:", text.encode()), st.text(max_size=30)
        ),
    )
)
def test_damaged_assay_config_is_loaded_or_an_error_per_line(data: bytes) -> None:
    from harness.assay.config import load_assay_config

    check_lines_name_the_file(load_assay_config, data, "eval.yaml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ASSAY_TRACES).flatmap(mutations))
def test_damaged_assay_trace_is_loaded_or_an_error_per_line(data: bytes) -> None:
    from harness.assay.traces import read_trace

    check_lines_name_the_file(read_trace, data, "trace.jsonl")
