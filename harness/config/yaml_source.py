"""Read a YAML file into plain JSON values plus a map from JSON path (`$.budgets.max_wall_ms`) to
its 1-based line, so an error found later can say file:line. Only `ConfigError` escapes.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import yaml
import yaml.constructor

from harness.config.files import NotRegularFile, open_regular
from harness.errors import ConfigError, ConfigErrors

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 200
# Counted after alias expansion, so a "billion laughs" document stops early.
MAX_VALUES = 100_000

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_SCALARS = {
    _TAG + "null": _CONSTRUCTOR.construct_yaml_null,
    _TAG + "bool": _CONSTRUCTOR.construct_yaml_bool,
    _TAG + "int": _CONSTRUCTOR.construct_yaml_int,
    _TAG + "float": _CONSTRUCTOR.construct_yaml_float,
}
T = TypeVar("T")
_LAST_SEGMENT = re.compile(r"(\.[^.\[\]]*|\[[^\]]*\])$")
# Everything str.splitlines() breaks on: an error must stay one line whatever the input holds.
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def one_line(text: str) -> str:
    return text.translate(_LINE_BREAKS)


def display_path(path: Path) -> str:
    """The path as errors show it: relative to the cwd when under it, else absolute."""
    try:
        cwd, absolute = os.getcwd(), os.path.abspath(path)
    except OSError:  # the cwd was deleted
        return one_line(str(path))
    prefix = cwd.rstrip(os.sep) + os.sep
    return one_line(absolute.removeprefix(prefix) if absolute.startswith(prefix) else absolute)


def config_error(
    path: str | None, message: str, *, line: int | None = None, field: str | None = None
) -> ConfigError:
    field = None if field is None else one_line(field)
    return ConfigError(path, one_line(message), line=line, field=field)


def field_name(json_path: str) -> str | None:
    """`$.assertions[1].type` -> `assertions[1].type`; the root has no field name."""
    name = json_path.removeprefix("$").removeprefix(".")
    return name or None


class Document(msgspec.Struct, frozen=True):  # a Struct: cheaper to define than a dataclass
    """One parsed file: its plain value and where each JSON path starts."""

    path: Path
    shown: str
    raw: bytes
    value: Any
    lines: dict[str, int]

    def line_of(self, json_path: str) -> int:
        """The line of the node at `json_path`, or of its deepest ancestor that exists."""
        while json_path not in self.lines:
            parent = _LAST_SEGMENT.sub("", json_path)
            if parent == json_path:
                return 1
            json_path = parent
        return self.lines[json_path]

    def error(self, message: str, json_path: str = "$") -> ConfigError:
        return config_error(
            self.shown, message, line=self.line_of(json_path), field=field_name(json_path)
        )


class Problems:
    """Collects config errors so that one load reports every problem it can find."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []
        #: Files in the order their errors are reported; others follow, then errors with no file.
        self.file_order: list[str] = []

    def add(self, error: ConfigError) -> None:
        self.errors.extend(error.errors if isinstance(error, ConfigErrors) else [error])

    def attempt(self, func: Callable[[], T]) -> T | None:
        """`func()`, or None after recording the ConfigError it raised."""
        try:
            return func()
        except ConfigError as exc:
            self.add(exc)
            return None

    def check(self) -> None:
        """Raise what was collected, if anything: one error as is, several as ConfigErrors."""
        unique = list({error.render(): error for error in self.errors}.values())
        rank = {path: i for i, path in enumerate(self.file_order)}
        unique.sort(key=lambda e: (e.path is None, rank.get(e.path or "", len(rank)), e.line or 0))
        if len(unique) == 1:
            raise unique[0]
        if unique:
            raise ConfigErrors(unique)


def read_yaml(path: Path, shown: str | None = None) -> Document:
    """`path` parsed; `shown` is its display_path, when the caller has it already."""
    shown = display_path(path) if shown is None else shown
    raw = read_bytes(path, shown)
    value, lines = parse_yaml(decode_text(raw, shown), shown)
    return Document(path, shown, raw, value, lines)


def read_bytes(path: Path, shown: str) -> bytes:
    """The file's bytes; refuses folders, pipes and devices (reading a FIFO would block)."""
    try:
        with open_regular(path) as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise config_error(shown, f"is larger than {MAX_FILE_BYTES} bytes")
            # read(MAX_FILE_BYTES) would allocate 64 MiB for every 100-byte case file first.
            data = stream.read(min(size + 1, MAX_FILE_BYTES))
            if len(data) > size:  # it grew since fstat(): on to the same cap as ever
                data += stream.read(MAX_FILE_BYTES - len(data))
            return data
    except IsADirectoryError:
        raise config_error(shown, "is a folder, expected a file") from None
    except NotRegularFile as exc:
        raise config_error(shown, str(exc.strerror)) from None
    except FileNotFoundError:
        raise config_error(shown, "file not found") from None
    except PermissionError:
        raise config_error(shown, "permission denied; make the file readable") from None
    except OSError as exc:
        raise config_error(shown, f"cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise config_error(shown, f"cannot read: {exc}") from None


def decode_text(raw: bytes, shown: str) -> str:
    """UTF-8 (with or without BOM), or UTF-16/32 with a BOM, as YAML allows."""
    encoding = "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        encoding = "utf-32"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"not valid {encoding.removesuffix('-sig').upper()} (byte {exc.start})"
        raise config_error(shown, f"{message}; save the file as UTF-8", line=line) from None


def parse_yaml(text: str, shown: str) -> tuple[Any, dict[str, int]]:
    """One YAML document -> (JSON value, lines). An empty document is None with no lines."""
    try:
        _check_depth(text, shown)
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, shown) from None
    except yaml.YAMLError as exc:
        raise _reader_error(exc, text, shown) from None
    if node is None:
        return None, {}
    builder = _Builder(shown)
    value = builder.build(node, "$", 0)
    if builder.errors:
        raise builder.errors[0] if len(builder.errors) == 1 else ConfigErrors(builder.errors)
    return value, builder.lines


def _check_depth(text: str, shown: str) -> None:
    """Refuse documents nested deeper than MAX_DEPTH before composing them: libyaml composes
    recursively in C, and about 20,000 levels crash the whole process.
    """
    if _nesting_bound(text) <= MAX_DEPTH:
        return  # the common case, decided without parsing
    # Parsing events is iterative, and stopping at the limit avoids libyaml's quadratic cost.
    # The pure-Python parser, not libyaml: libyaml's scanner runs ahead of its events and has
    # a nesting limit of its own whose wording changed between PyYAML releases (6.0.4).
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else None
                message = f"nested more than {MAX_DEPTH} levels deep"
                raise config_error(shown, message, line=line)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _nesting_bound(text: str) -> int:
    """An upper bound on how deep `text` nests: every flow bracket, plus for block style twice
    the deepest indentation and every indicator on that line (`- - a: b` nests in place).
    """
    flow = text.count("[") + text.count("{")
    block = 0
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        block = max(block, 2 * indent + line.count("-") + line.count("?") + line.count(":"))
    return flow + block + 1


def _syntax_error(exc: yaml.MarkedYAMLError, shown: str) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    line = None if mark is None else mark.line + 1
    # PyYAML's own order reads best: "while scanning a quoted scalar, found unexpected end..."
    text = ", ".join(part for part in (exc.context, exc.problem) if part)
    return config_error(shown, f"YAML syntax error: {text or exc}", line=line)


def _reader_error(exc: yaml.YAMLError, text: str, shown: str) -> ConfigError:
    position, character = getattr(exc, "position", None), getattr(exc, "character", None)
    line = None
    if isinstance(position, int):
        # libyaml counts bytes of the UTF-8 text, the Python reader counts characters.
        if _LOADER is yaml.SafeLoader:
            line = text[:position].count("\n") + 1
        else:
            line = text.encode()[:position].count(b"\n") + 1
    what = f"character U+{character:04X}" if isinstance(character, int) else "character"
    reason = getattr(exc, "reason", None) or exc
    return config_error(shown, f"YAML cannot hold the {what}: {reason}; remove it", line=line)


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


class _Builder:
    """Turns a node tree into JSON values, recording lines and the problems PyYAML lets pass."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.lines: dict[str, int] = {}
        self.errors: list[ConfigError] = []
        self.count = 0
        # Collections being built right now: meeting one again means a recursive alias.
        self.active: set[int] = set()

    def error(self, node: yaml.Node, message: str, path: str) -> ConfigError:
        line = node.start_mark.line + 1
        return config_error(self.shown, message, line=line, field=field_name(path))

    def build(self, node: yaml.Node, path: str, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise self.error(node, f"more than {MAX_VALUES} values once aliases expand", path)
        if depth > MAX_DEPTH:
            raise self.error(node, f"nested more than {MAX_DEPTH} levels deep", path)
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            raise self.error(node, "an alias refers to a collection that contains it", path)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                self.check_tag(node, "seq", path)
                return [
                    self.build(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(node.value)
                ]
            assert isinstance(node, yaml.MappingNode)  # the only other kind of node
            self.check_tag(node, "map", path)
            return self.mapping(node, path, depth)
        finally:
            self.active.discard(id(node))

    def check_tag(self, node: yaml.Node, kind: str, path: str) -> None:
        if node.tag != _TAG + kind:
            message = f"YAML tag {_short_tag(node.tag)} is not supported; remove the tag"
            self.errors.append(self.error(node, message, path))

    def scalar(self, node: yaml.ScalarNode, path: str) -> Any:
        # Timestamps stay as written: a date is not a JSON value.
        if node.tag in (_TAG + "str", _TAG + "timestamp"):
            return node.value
        construct = _SCALARS.get(node.tag)
        if construct is None:
            message = f"YAML tag {_short_tag(node.tag)} is not supported; write a plain value"
            self.errors.append(self.error(node, message, path))
            return node.value
        try:
            return construct(node)
        except ValueError as exc:  # `!!int abc`, or an int with too many digits
            self.errors.append(self.error(node, f"bad {_short_tag(node.tag)} value: {exc}", path))
            return node.value

    def mapping(self, node: yaml.MappingNode, path: str, depth: int) -> dict[str, Any]:
        # Merge keys (`<<: *defaults`) first, so explicit keys override them, lines included.
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                result.update(self.merged(value_node, path, depth))
        first_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                continue
            key = self.key(key_node, path)
            if key is None:
                continue
            child, line = f"{path}.{key}", key_node.start_mark.line + 1
            if key in first_lines:
                message = f"duplicate key; first defined on line {first_lines[key]}, keep one"
                self.errors.append(self.error(key_node, message, child))
                continue
            first_lines[key] = line
            self.lines[child] = line
            result[key] = self.build(value_node, child, depth + 1)
        return result

    def merged(self, node: yaml.Node, path: str, depth: int) -> dict[str, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        result: dict[str, Any] = {}
        # In `<<: [*a, *b]` the earlier mapping wins, so build the later ones first.
        for source in reversed(sources):
            value = self.build(source, path, depth)
            if not isinstance(value, dict):
                message = "`<<` merges a mapping or a list of mappings"
                self.errors.append(self.error(source, message, path))
                continue
            result.update(value)
        return result

    def key(self, node: yaml.Node, path: str) -> str | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "str":
            return str(node.value)
        shown = node.value if isinstance(node, yaml.ScalarNode) else "a collection"
        message = f"keys must be strings, got {shown!r}; quote the key"
        self.errors.append(self.error(node, message, path))
        return None
