"""The run directory: run.json first and last, results and traces appended as attempts end."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import msgspec

from harness.config.files import open_regular
from harness.errors import disk_error
from harness.results import AttemptResult
from harness.storage.atomic import LineAppender, atomic_stream, atomic_write


def _enc_hook(value: Any) -> Any:
    # A read-only Mapping computed on demand (aggregate.sweep.KCurve) is written as its dict.
    if isinstance(value, Mapping):
        return dict(value)
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)


def to_builtins(value: Any) -> Any:
    """`value` as plain JSON types, as the run directory's files hold it (Mappings as dicts)."""
    return msgspec.to_builtins(value, enc_hook=_enc_hook)


T = TypeVar("T")
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


PRETTY_MAX_BYTES = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_HASH_SUFFIX = re.compile(r"-[0-9a-f]{10}$")
_NAME_CHARS = 120


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def safe_name(name: str) -> str:
    """A folder name for an id (a case id, a model, an attempt id), distinct for distinct ids.

    A safe id is its own name. Any other (`a/b`, `a b`, a 200-character id) becomes its safe
    form plus 10 hex of its sha256: `a/b` -> `a_b-1f0e...`, never `a_b`, so the stderr logs,
    transcripts and workspaces of two ids never share a folder. A safe id that ends like such
    a suffix is hashed too, so it cannot take another id's name.
    """
    cleaned = _UNSAFE.sub("_", name).strip("._")[:_NAME_CHARS]
    if cleaned == name and not _HASH_SUFFIX.search(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{cleaned[: _NAME_CHARS - 11] or 'id'}-{digest}"


def encode_line(value: Any) -> bytes:
    return _encoder.encode(value) + b"\n"


class RunDirectory:
    """Owns `<output_dir>/<suite>/<run_id>/` and every file written in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._results = LineAppender(root / "results.jsonl")
        self._trace = LineAppender(root / "run.jsonl")

    @classmethod
    def create(cls, output_dir: Path, suite_name: str, run_id: str) -> RunDirectory:
        # Not safe_name: a suite's folder name stays as users' CI scripts know it.
        root = output_dir / (_UNSAFE.sub("_", suite_name).strip("._")[:_NAME_CHARS] or "suite")
        root /= run_id
        root.mkdir(parents=True, exist_ok=False)
        return cls(root)

    def stderr_path(self, attempt_key: str) -> Path:
        # One join, not three: pathlib parses each, and this runs for every attempt.
        return self.root / f"attempts/{safe_name(attempt_key)}/stderr.log"

    def attempt_dir(self, case_id: str, model: str | None, trial: int | None) -> Path:
        """`attempts/<case>/` for a plain run; `attempts/<case>/[<model>/]trial-<n>/` in a
        sweep. Model names are made file-name safe (`openai/gpt-5` -> `openai_gpt-5`)."""
        path = self.root / "attempts" / safe_name(case_id)
        if model is not None:
            path /= safe_name(model)
        if trial is not None:
            path /= f"trial-{trial}"
        return path

    def write_transcript(self, attempt_dir: Path, events: list[dict[str, Any]]) -> None:
        """The attempt's trace as `transcript.jsonl` beside its stderr.log.

        Renamed into place whole, so a reader never sees half of one; not fsynced (one fsync
        per attempt would stall the event loop), so a power cut may lose the newest ones:
        run.jsonl has the same events.
        """
        path = attempt_dir / "transcript.jsonl"
        tmp = attempt_dir / ".transcript.jsonl.tmp"
        try:
            attempt_dir.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(b"".join(encode_line(event) for event in events))
            os.replace(tmp, path)
        except OSError as exc:
            raise disk_error(path, exc) from exc

    def append_result(self, result: AttemptResult) -> int:
        """Append one result line; returns the byte offset where it starts (ResultIndex)."""
        return self._results.append(encode_line(result))

    def append_trace(self, events: list[dict[str, Any]]) -> None:
        if events:
            self._trace.append(b"".join(encode_line(event) for event in events))

    def write_json(self, name: str, value: Any, *, indent: int = 2) -> Path:
        path = self.root / name
        data = _encoder.encode(value)
        # A 10,000-attempt summary is megabytes: indenting it would hold a second, larger copy
        # in memory for no reader's benefit (tools parse it; people read summary.md).
        if len(data) <= PRETTY_MAX_BYTES:
            data = msgspec.json.format(data, indent=indent)
        atomic_write(path, data + b"\n")
        return path

    def write_json_streamed(
        self, name: str, value: dict[str, Any], key: str, items: Iterable[Any], *, indent: int = 2
    ) -> Path:
        """`write_json(name, value)` with `value[key]`, a list, given as `items`: the same bytes,
        written piece by piece (see `_write_pieces`) without the list (10,000 summary rows) or
        any other whole large part in memory."""
        path = self.root / name
        with atomic_stream(path) as handle:
            size = _write_pieces(handle, {**value, key: _Streamed(items)}, split_dicts=2)
            if size <= PRETTY_MAX_BYTES:  # as write_json decides; small enough to hold now
                handle.seek(0)
                data = msgspec.json.format(handle.read(), indent=indent)
                handle.seek(0)
                handle.truncate()
                handle.write(data)
            handle.write(b"\n")
        return path

    def write_bytes(self, name: str, data: bytes) -> Path:
        path = self.root / name
        atomic_write(path, data)
        return path

    def close(self) -> None:
        self._results.close()
        self._trace.close()


def read_results(run_dir: Path) -> list[AttemptResult]:
    """Every complete line of results.jsonl; a torn last line (killed run) is skipped."""
    return list(iter_results(run_dir / "results.jsonl"))


def iter_results(path: Path, *, missing_ok: bool = False) -> Iterator[AttemptResult]:
    """results.jsonl one line at a time, in the order the attempts finished (a torn or bad
    line is skipped); with `missing_ok`, no file (no attempt finished) is no result."""
    return iter_fields(path, AttemptResult, missing_ok=missing_ok)


def iter_fields(path: Path, kind: type[T], *, missing_ok: bool = False) -> Iterator[T]:
    """`iter_results`, each line decoded into `kind`: a Struct of some of AttemptResult's
    fields (same names and defaults), several times faster to decode than whole results."""
    decoder: msgspec.json.Decoder[T] | None = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    try:
        handle = open_regular(path)  # closed below; a generator cannot use `with` here
    except FileNotFoundError:
        if missing_ok:
            return
        raise
    with handle:
        for line in handle:
            if line.strip():
                try:
                    yield decoder.decode(line)
                except msgspec.DecodeError:
                    continue


class _Streamed:
    """A list given as an iterable, consumed once as it is written."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


def _write_pieces(handle: BinaryIO, value: Any, *, split_dicts: int) -> int:
    """msgspec's compact JSON of `value`, which is the concatenation of its parts' encodings:
    dicts `split_dicts` levels deep are written key by key, a list inside them element by
    element, and each piece below that encoded whole (a summary row, a sweep row). Returns
    the bytes written."""
    if isinstance(value, dict) and split_dicts > 0:
        pairs = ((_encoder.encode(key), element) for key, element in value.items())
        pieces: Iterator[tuple[bytes, Any]] = ((key + b":", element) for key, element in pairs)
        opening, closing, split = b"{", b"}", True
    elif isinstance(value, list | _Streamed):  # only reached inside a split dict
        elements = value.items if isinstance(value, _Streamed) else value
        pieces = ((b"", element) for element in elements)
        opening, closing, split = b"[", b"]", False
    else:
        data = _encoder.encode(value)
        handle.write(data)
        return len(data)
    handle.write(opening)
    size = 2
    for index, (prefix, element) in enumerate(pieces):
        head = (b"," if index else b"") + prefix
        handle.write(head)
        size += len(head)
        if split:
            size += _write_pieces(handle, element, split_dicts=split_dicts - 1)
        else:
            data = _encoder.encode(element)
            handle.write(data)
            size += len(data)
    handle.write(closing)
    return size
