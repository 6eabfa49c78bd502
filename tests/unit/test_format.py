"""Cassette files (harness.cassette.format): RunLedger's lines and our header loaded, encoded
as one line each, and every bad file a CassetteError naming its file and line."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cassette.format import (
    CassetteHeader,
    Interaction,
    encode_header,
    encode_interaction,
    load_cassette,
    read_cassette,
)
from harness.errors import CassetteError
from tests.support.strategies import PROPS, json_args, json_values, tricky_text


def write(tmp_path: Path, data: bytes | str, name: str = "c.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def line(**fields: Any) -> str:
    return json.dumps(fields) + "\n"


# Loading -----------------------------------------------------------------------------------


def test_loads_runledger_cassette(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line(tool="search", args={"q": "a"}, ok=True, result={"hits": 1})
        + "\n   \n"
        + line(tool="fetch", args={}, ok=False, error="boom"),
    )
    assert load_cassette(path) == [
        Interaction(tool="search", args={"q": "a"}, ok=True, result={"hits": 1}),
        Interaction(tool="fetch", args={}, ok=False, error="boom"),
    ]


def test_read_cassette_reports_header_and_lines(tmp_path: Path) -> None:
    header = CassetteHeader(recorded_at="2025-01-01T00:00:00Z", backend="python")
    entry = Interaction(tool="t", args={}, ok=True)
    path = write(tmp_path, encode_header(header) + b"\n" + encode_interaction(entry))
    loaded = read_cassette(path)
    assert loaded.header == header
    assert loaded.interactions == [entry]
    assert loaded.lines == [3]
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_cassette(path) == [entry]


def test_non_string_error_is_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, line(tool="t", args={}, ok=False, error={"code": 1}))
    assert load_cassette(path)[0].error is None


def test_crlf_bom_and_extra_keys_are_accepted(tmp_path: Path) -> None:
    text = '{"tool":"t","args":{},"ok":true,"extra":1}\r\n'
    path = write(tmp_path, b"\xef\xbb\xbf" + text.encode())
    assert load_cassette(path) == [Interaction(tool="t", args={}, ok=True)]


def test_raw_line_separators_inside_strings_load(tmp_path: Path) -> None:
    # RunLedger writes these raw and then cannot read its own file; we split on \n only.
    raw = '{"tool":"t","args":{"q":"a\u2028b\u2029c\u0085d"},"ok":true}\n'
    path = write(tmp_path, raw)
    assert load_cassette(path)[0].args == {"q": "a\u2028b\u2029c\u0085d"}


def test_missing_file_says_how_to_record(tmp_path: Path) -> None:
    with pytest.raises(
        CassetteError, match=r"not found; record it by running the suite with --mode record"
    ):
        load_cassette(tmp_path / "nope.jsonl")


def test_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="is a directory"):
        load_cassette(tmp_path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"tool":"t","args":{},"ok":true}\n{"tool":', r"c\.jsonl:2: not valid JSON"),
        (b"\n\n[1, 2]\n", r"c\.jsonl:3: expected a JSON object, got an array"),
        (b'{"tool":"t","args":{},"ok":true,"x":"\xff"}', r"c\.jsonl:1: not valid UTF-8"),
        (b'{"args":{},"ok":true}', r":1: `tool` must be a string \(missing\)"),
        (b'{"tool":1,"args":{},"ok":true}', r"`tool` must be a string \(got a number\)"),
        (b'{"tool":"t","args":[],"ok":true}', r"`args` must be an object \(got an array\)"),
        (b'{"tool":"t","args":{},"ok":1}', r"`ok` must be true or false \(got a number\)"),
        (b'{"tool":"t","args":{}}', r"`ok` must be true or false \(missing\)"),
        (b"[" * 5000, r"nested too deeply"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, content: bytes, problem: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(CassetteError, match=problem) as caught:
        load_cassette(path)
    assert caught.value.message.startswith(str(path))
    assert "; " in caught.value.message  # what is wrong; what to do


def test_header_must_come_first(tmp_path: Path) -> None:
    entry = encode_interaction(Interaction(tool="t", args={}, ok=True))
    path = write(tmp_path, entry + encode_header(CassetteHeader()))
    with pytest.raises(CassetteError, match=r":2: cassette_header after the first line"):
        load_cassette(path)


def test_newer_format_version_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '{"type":"cassette_header","format_version":99}\n')
    with pytest.raises(CassetteError, match="upgrade harness"):
        load_cassette(path)


# Encoding ----------------------------------------------------------------------------------


def test_encode_is_one_sorted_line_without_null_error() -> None:
    encoded = encode_interaction(
        Interaction(tool="t", args={"b": 1, "a": {"d": 2, "c": 3}}, ok=True)
    )
    assert encoded == b'{"args":{"a":{"c":3,"d":2},"b":1},"ok":true,"result":null,"tool":"t"}\n'
    failed = encode_interaction(Interaction(tool="t", args={}, ok=False, error="x"))
    assert b'"error":"x"' in failed


def test_encoded_line_survives_str_splitlines() -> None:
    # What RunLedger's loader does; our cassettes must stay readable by it.
    entry = Interaction(
        tool="t", args={"q": "a\u2028b\u2029c\u0085d\x1c"}, ok=True, result="\u2028"
    )
    text = encode_interaction(entry).decode()
    assert len(text.splitlines()) == 1
    assert json.loads(text.splitlines()[0])["args"] == entry.args


def test_lone_surrogates_are_written_as_replacement_chars(tmp_path: Path) -> None:
    entry = Interaction(tool="ls", args={}, ok=True, result={"f\udcff": ["a\ud800"]})
    path = write(tmp_path, encode_interaction(entry))
    assert load_cassette(path)[0].result == {"f\ufffd": ["a\ufffd"]}


@PROPS
@given(tricky_text, json_args, json_values, st.one_of(st.none(), tricky_text))
def test_encoded_interactions_load_back(
    tmp_path_factory: Any, tool: str, args: dict[str, Any], result: Any, error: str | None
) -> None:
    entry = Interaction(tool=tool, args=args, ok=error is None, result=result, error=error)
    path: Path = tmp_path_factory.mktemp("c") / "c.jsonl"
    path.write_bytes(encode_interaction(entry) * 2)
    assert load_cassette(path) == [entry, entry]
    # RunLedger's loader splits on str.splitlines(); each entry must stay one line for it.
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2


# Random bytes rarely look like JSON; splicing cassette-like tokens reaches the deeper checks.
TOKENS = [b"{", b"}", b"[", b":", b",", b"\n", b"\xe2\x80\xa8", b"\xff", b"1", b"true", b"{}"]

TOKENS += [b'"tool"', b'"args"', b'"ok"', b'"type"', b'"cassette_header"', b'"format_version"']

cassette_like = st.lists(st.sampled_from(TOKENS), max_size=30).map(b"".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), cassette_like))
def test_any_bytes_load_or_raise_cassette_error(tmp_path_factory: Any, data: bytes) -> None:
    path: Path = tmp_path_factory.mktemp("c") / "c.jsonl"
    path.write_bytes(data)
    with contextlib.suppress(CassetteError):
        load_cassette(path)
