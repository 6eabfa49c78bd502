"""The cassette file format: JSONL, one recorded interaction a line, an optional header first.

Lines are RunLedger's `{tool, args, ok, result, error}`; RunLedger cassettes load unchanged.
Model lines (`"kind": "model"`, harness.cassette.model_entry) sit among them in call order.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import msgspec

from harness.cassette.model_entry import (
    ModelEntry,
    is_model_line,
    model_line_fields,
    to_model_entry,
)
from harness.config.containment import PathOutsideProject, Project
from harness.config.files import NotRegularFile, open_regular
from harness.errors import CassetteError
from harness.protocol.codec import json_type_name

FORMAT_VERSION = 1
HEADER_TYPE = "cassette_header"
# Said where the suite folder is not known; the loader names it (harness.plan.build).
RECORD_HINT = "record it by running the suite with --mode record"

_BOM = b"\xef\xbb\xbf"
_FIRST_LINE_BYTES = 1 << 20  # what check_replaceable reads of a file's first line
# RunLedger's loader splits with str.splitlines(), which also breaks on these three; escaping
# them keeps our cassettes readable by it. Each UTF-8 sequence can only be that character.
_LINE_BREAKERS = (
    (b"\xe2\x80\xa8", b"\\u2028"),
    (b"\xe2\x80\xa9", b"\\u2029"),
    (b"\xc2\x85", b"\\u0085"),
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_encoder = msgspec.json.Encoder(order="deterministic")


class Interaction(msgspec.Struct):
    """One recorded tool call and its answer."""

    tool: str
    args: dict[str, Any]
    ok: bool
    result: Any = None
    error: str | None = None
    # Set only in a cassette file shared by several cases: whose call this was.
    case: str | None = None


class CassetteHeader(msgspec.Struct, tag=HEADER_TYPE, tag_field="type"):
    """Optional first line. Unknown fields are accepted so newer writers stay readable."""

    format_version: int = FORMAT_VERSION
    recorded_at: str | None = None
    backend: str | None = None
    harness_version: str | None = None
    # Which HMAC key made the redaction markers (None: the built-in one); see redact.py.
    redaction_key_id: str | None = None


Entry = Interaction | ModelEntry


class CassetteFile(msgspec.Struct):
    """A loaded cassette. `lines[i]` is the 1-based file line of `interactions[i]`, and
    `model_lines[i]` that of `models[i]`; `entries` holds both kinds in file order."""

    path: Path
    sha256: str  # of the bytes read, so results name exactly what was replayed
    header: CassetteHeader | None = None
    interactions: list[Interaction] = []
    lines: list[int] = []
    models: list[ModelEntry] = []
    model_lines: list[int] = []
    entries: list[Entry] = []


def load_cassette(path: Path, project: Project | None = None) -> list[Interaction]:
    """Read a cassette's interactions, skipping any header.

    Raises:
        CassetteError: the file is missing, unreadable, or a line is not a valid interaction.
    """
    return read_cassette(path, project).interactions


def contained(path: Path, project: Project | None) -> Path:
    """The file to open for the cassette `path`: resolved inside the suite's project, checked
    here, where it is used, since `{model}` or a symlink made since loading can lead out.

    Raises:
        CassetteError: it resolves outside the project.
    """
    if project is None:  # a case made outside load_suite
        return path
    try:
        return project.contain(path, "cassette")
    except PathOutsideProject as exc:
        raise CassetteError(str(exc), path=str(path)) from None


def read_cassette(path: Path, project: Project | None = None) -> CassetteFile:
    """Read a cassette with its header (None for RunLedger files) and each entry's line.

    Raises:
        CassetteError: `path:line: what is wrong; what to do`.
    """
    data = _read_bytes(path, contained(path, project))
    loaded = CassetteFile(path=path, sha256=hashlib.sha256(data).hexdigest())
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    # Split on b"\n" only: U+2028 and friends are legal inside JSON strings.
    for number, raw_line in enumerate(data.split(b"\n"), start=1):
        line = raw_line.strip()
        if not line:
            continue
        _add_line(loaded, _decode_object(path, number, line), number)
    return loaded


def check_replaceable(path: Path, real: Path) -> None:
    """Record mode replaces a cassette whole without reading it: refuse when the file there is
    not a cassette (a symlink or a `{model}` that leads to another file must not make harness
    write over it). An empty file or none at all may be written.

    Raises:
        CassetteError: it is not a regular file, or its first line is not a cassette's.
    """
    try:
        handle = open_regular(real)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CassetteError(
            f"{path}: {exc.strerror or exc}; not overwritten: point `cassette:` at a .jsonl file",
            path=str(path),
        ) from None
    with handle:
        number, line = 0, b""
        while not line.strip():
            line = handle.readline(_FIRST_LINE_BYTES)
            line = line.removeprefix(_BOM) if number == 0 else line
            number += 1
            if not line:
                return  # empty, or blank lines only
    if len(line) == _FIRST_LINE_BYTES and not line.endswith(b"\n"):
        if line.lstrip().startswith(b"{"):
            return  # a first entry too long to read here; it starts as one
        raise _not_cassette(path, number)
    try:
        _add_line(CassetteFile(path=path, sha256=""), _decode_object(path, number, line.strip()), 1)
    except CassetteError:
        raise _not_cassette(path, number) from None


def _not_cassette(path: Path, number: int) -> CassetteError:
    return CassetteError(
        f"{path}:{number}: not a cassette line, so the file is not overwritten; move it away or "
        "point `cassette:` at another file",
        path=str(path),
        line=number,
    )


def encode_interaction(interaction: Interaction) -> bytes:
    """One `\\n`-terminated line, keys sorted; `error` omitted when None, as RunLedger writes."""
    fields: dict[str, Any] = {
        "tool": interaction.tool,
        "args": interaction.args,
        "ok": interaction.ok,
        "result": interaction.result,
    }
    if interaction.error is not None:
        fields["error"] = interaction.error
    if interaction.case is not None:
        fields["case"] = interaction.case
    try:
        encoded = _encoder.encode(fields)
    except UnicodeEncodeError:
        # A live Python tool can return lone surrogates (os.fsdecode of an odd file name).
        # UTF-8 cannot hold them and msgspec will not decode their escapes: write U+FFFD.
        encoded = _encoder.encode(_replace_surrogates(fields))
    return _escape_line_breakers(encoded) + b"\n"


def encode_entry(entry: Entry) -> bytes:
    """One line of either kind, `\\n`-terminated."""
    if isinstance(entry, Interaction):
        return encode_interaction(entry)
    try:
        encoded = _encoder.encode(model_line_fields(entry))
    except UnicodeEncodeError:
        encoded = _encoder.encode(_replace_surrogates(model_line_fields(entry)))
    return _escape_line_breakers(encoded) + b"\n"


def encode_header(header: CassetteHeader) -> bytes:
    """The header line, `\\n`-terminated."""
    return _escape_line_breakers(_encoder.encode(header)) + b"\n"


def sorted_keys(value: Any) -> Any:
    """`value` with every object's keys in sorted order, as a cassette line stores them (and so
    as replay hands them back)."""
    if isinstance(value, dict):
        return {key: sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(item) for item in value]
    return value


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replace_surrogates(item) for item in value]
    return value


def _escape_line_breakers(line: bytes) -> bytes:
    for raw, escaped in _LINE_BREAKERS:
        line = line.replace(raw, escaped)
    return line


def _read_bytes(path: Path, real: Path) -> bytes:
    try:
        with open_regular(real) as handle:
            return handle.read()
    except FileNotFoundError:
        raise CassetteError(f"{path}: cassette not found; {RECORD_HINT}", path=str(path)) from None
    except IsADirectoryError:
        raise CassetteError(
            f"{path}: is a directory, not a cassette file; point `cassette:` at a .jsonl file",
            path=str(path),
        ) from None
    except NotRegularFile as exc:
        raise CassetteError(
            f"{path}: {exc.strerror}; point `cassette:` at a .jsonl file", path=str(path)
        ) from None
    except OSError as exc:
        raise CassetteError(
            f"{path}: cannot read cassette ({exc.strerror or exc}); check the path and its "
            "permissions",
            path=str(path),
        ) from None


def _fail(path: Path, number: int, problem: str, hint: str) -> CassetteError:
    return CassetteError(f"{path}:{number}: {problem}; {hint}", path=str(path), line=number)


def _decode_object(path: Path, number: int, line: bytes) -> dict[str, Any]:
    fix = "fix the line or re-record the cassette"
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(path, number, f"not valid UTF-8 (byte {exc.start + 1})", fix) from None
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise _fail(path, number, f"not valid JSON ({exc})", fix) from None
    except RecursionError:
        raise _fail(path, number, "JSON nested too deeply", fix) from None
    if not isinstance(value, dict):
        raise _fail(path, number, f"expected a JSON object, got {json_type_name(value)}", fix)
    return value


def _add_line(loaded: CassetteFile, raw: dict[str, Any], number: int) -> None:
    if raw.get("type") == HEADER_TYPE:
        if loaded.interactions or loaded.header is not None:
            raise _fail(
                loaded.path, number, "cassette_header after the first line", "move it first"
            )
        loaded.header = _to_header(loaded.path, number, raw)
    elif is_model_line(raw):
        try:
            model = to_model_entry(raw)
        except ValueError as exc:
            fix = "fix the line or re-record the cassette"
            raise _fail(loaded.path, number, str(exc), fix) from None
        loaded.models.append(model)
        loaded.model_lines.append(number)
        loaded.entries.append(model)
    else:
        interaction = _to_interaction(loaded.path, number, raw)
        loaded.interactions.append(interaction)
        loaded.lines.append(number)
        loaded.entries.append(interaction)


def _to_header(path: Path, number: int, raw: dict[str, Any]) -> CassetteHeader:
    try:
        header = msgspec.convert(raw, CassetteHeader)
    except msgspec.ValidationError as exc:
        raise _fail(
            path, number, f"bad cassette_header ({exc})", "re-record the cassette"
        ) from None
    if header.format_version > FORMAT_VERSION:
        raise _fail(
            path,
            number,
            f"cassette format_version {header.format_version} is newer than this harness "
            f"supports ({FORMAT_VERSION})",
            "upgrade harness",
        )
    return header


def _to_interaction(path: Path, number: int, raw: dict[str, Any]) -> Interaction:
    for field, expected, kind in (("tool", str, "a string"), ("args", dict, "an object")):
        if not isinstance(raw.get(field), expected):
            raise _field_error(path, number, raw, field, kind)
    if not isinstance(raw.get("ok"), bool):
        raise _field_error(path, number, raw, "ok", "true or false")
    error = raw.get("error")
    case = raw.get("case")
    return Interaction(
        tool=raw["tool"],
        args=raw["args"],
        ok=raw["ok"],
        result=raw.get("result"),
        # RunLedger's rule: a non-string error is dropped, not rejected.
        error=error if isinstance(error, str) else None,
        case=case if isinstance(case, str) else None,
    )


def _field_error(
    path: Path, number: int, raw: dict[str, Any], field: str, kind: str
) -> CassetteError:
    got = "missing" if field not in raw else f"got {json_type_name(raw[field])}"
    return _fail(
        path,
        number,
        f"`{field}` must be {kind} ({got})",
        "each line needs tool (string), args (object) and ok (bool)",
    )
