"""YAML documents to the schema's msgspec structs: a msgspec `$.path` error becomes
`file:line: field: what is wrong`, with the valid keys, kinds and types named."""

from __future__ import annotations

import contextlib
import re
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

from harness.config.suggest import did_you_mean
from harness.config.yaml_source import (
    Document,
    Problems,
)
from harness.errors import ConfigError
from harness.grading import loading as grading
from harness.plan.live_tools import bad_backend

T = TypeVar("T")

_AT = re.compile(r"(?s)(.*?)(?: - at `(?:key` in `)?(\$[^`]*)`)?")
_SEGMENT = re.compile(r"\.(\w+)|\[(\d+)\]|\[\.\.\.\]")
_ASSERTION_TYPE = re.compile(r"\$\.assertions\[\d+\]\.type")
_KIND_NAMES = {"object": "mapping", "array": "list", "dict": "mapping", "NoneType": "null"}
_HINTS = {"$.agent_command": "; write the command as a list, e.g. [python3, agent.py]"}
_COMMAND_ELEMENT = re.compile(r"\$\.(?:agent_command|(?:tools|mcp_servers)\..+\.command)\[\d+\]")
# YAML reads `{...}` unquoted in a flow list as a mapping: what a brace in a command wants.
_BRACE_HINT = '; unquoted, `{...}` in a list is a YAML mapping: quote it ("{model}")'
_TYPE_INFO: dict[type[Any], mi.Type] = {}
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


def convert(
    document: Document, kind: type[T], problems: Problems, *, strict_kind: bool = False
) -> T | None:
    """The document as a `kind` struct, or None after recording what is wrong with it.

    Unknown keys are found first, all of them, by walking the struct's type; msgspec then
    reports the first remaining problem, whose `$.path` is mapped back to a line.

    `strict_kind`: every struct inside `kind` forbids unknown fields, so a document msgspec
    accepts as it is has no unknown key either, and the walk (its type info alone costs ~30 ms
    a run) is needed only to explain a document msgspec rejects.
    """
    if strict_kind and isinstance(document.value, dict):
        with contextlib.suppress(msgspec.ValidationError):
            return msgspec.convert(document.value, kind)
    info = _type_info(kind)
    if not isinstance(document.value, dict):
        problems.add(document.error(_not_a_mapping(document.value, info)))
        return None
    unknown: list[ConfigError] = []
    value = _prune(document, document.value, info, "$", unknown)
    for error in unknown:
        problems.add(error)
    try:
        result = msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        problems.add(_explain(document, value, str(exc), info))
        return None
    # With unknown keys dropped the struct is still worth checking further: more errors found.
    return result


def _type_info(kind: type[Any]) -> mi.Type:
    info = _TYPE_INFO.get(kind)
    if info is None:
        info = _TYPE_INFO[kind] = mi.type_info(kind)
    return info


def _not_a_mapping(value: Any, info: mi.Type) -> str:
    assert isinstance(info, mi.StructType)
    required = ", ".join(field.encode_name for field in info.fields if field.required)
    if value is None:
        return f"the file is empty; expected a mapping with the keys {required}"
    return f"expected a mapping with the keys {required}, got {_kind_of(value)}"


def _prune(
    document: Document, value: Any, info: mi.Type, path: str, unknown: list[ConfigError]
) -> Any:
    """`value` without the keys `info` does not know, each recorded as an error."""
    if isinstance(info, mi.UnionType):
        info = _pick(info, value)
    if isinstance(info, mi.StructType) and isinstance(value, dict):
        fields = {field.encode_name: field.type for field in info.fields}
        kept = {}
        for key, item in value.items():
            if key in fields:
                kept[key] = _prune(document, item, fields[key], f"{path}.{key}", unknown)
            elif key == info.tag_field:
                kept[key] = item
            else:
                valid = _keys(info)
                hint = did_you_mean(key, valid)
                message = f"unknown key; {hint}valid keys: {', '.join(valid)}"
                unknown.append(document.error(message, f"{path}.{key}"))
        return kept
    if isinstance(info, mi.ListType) and isinstance(value, list):
        item_type = info.item_type
        return [
            _prune(document, item, item_type, f"{path}[{i}]", unknown)
            for i, item in enumerate(value)
        ]
    if isinstance(info, mi.DictType) and isinstance(value, dict):
        value_type = info.value_type
        return {
            key: _prune(document, item, value_type, f"{path}.{key}", unknown)
            for key, item in value.items()
        }
    return value


def _pick(union: mi.UnionType, value: Any) -> mi.Type:
    """The member of `union` that `value` is meant to be (a tagged struct chosen by its tag)."""
    members = [member for member in union.types if not isinstance(member, mi.NoneType)]
    if isinstance(value, dict):
        for member in members:
            if isinstance(member, mi.StructType) and (
                member.tag_field is None or value.get(member.tag_field) == member.tag
            ):
                return member
    return members[0] if len(members) == 1 else union


def _keys(info: mi.StructType) -> list[str]:
    names = [field.encode_name for field in info.fields]
    return [info.tag_field, *names] if info.tag_field else names


def _explain(document: Document, value: Any, text: str, info: mi.Type) -> ConfigError:
    """A msgspec validation message -> a ConfigError at the line of its `$.path`."""
    found = _AT.fullmatch(text)
    assert found is not None  # the pattern matches any text
    message, path = found[1], found[2] or "$"
    if (message.startswith("Invalid value") or message.startswith("Object missing")) and (
        backend := bad_backend(value, path if "missing" not in message else path + ".backend")
    ):
        return document.error(*backend)
    if missing := re.fullmatch(r"Object missing required field `(.+)`", message):
        target = f"{path}.{missing[1]}"
        return document.error("missing required key" + _types_hint(target), target)
    if unknown := re.fullmatch(r"Object contains unknown field `(.+)`", message):
        return document.error("unknown key", f"{path}.{unknown[1]}")
    actual = _sample(_value_at(value, path))
    if expected := re.fullmatch(r"Expected `(.+?)`, got `(.+?)`", message):
        got = _kinds(expected[2])
        if "[...]" in path:  # a dict's value: msgspec does not say which key
            path, actual = _dict_entry(value, path, got) or (path, actual)
        text = f"expected {_kinds(expected[1])}, got {got}{actual}"
        if got == "mapping" and _COMMAND_ELEMENT.fullmatch(path):
            text += _BRACE_HINT
        return document.error(text + (_types_hint(path) or _HINTS.get(path, "")), path)
    if message.startswith("Invalid enum value") and (choices := _literal_at(info, path)):
        suggestion = did_you_mean(_value_at(value, path), choices)
        text = f"unknown value{actual}; {suggestion}valid values: {', '.join(choices)}"
        return document.error(text, path)
    if message.startswith("Invalid value") and (hint := _types_hint(path)):
        suggestion = did_you_mean(_value_at(value, path), grading.type_names())
        return document.error(f"unknown type{actual}; {suggestion}{hint.removeprefix('; ')}", path)
    return document.error(message[:1].lower() + message[1:], path)


def _literal_at(info: mi.Type, path: str) -> list[str]:
    """The values a Literal field at a msgspec `$.path` may take (struct fields only)."""
    for name, index in _SEGMENT.findall(path):
        if isinstance(info, mi.UnionType):
            info = next((t for t in info.types if not isinstance(t, mi.NoneType)), info)
        if name and isinstance(info, mi.StructType):
            fields = {field.encode_name: field.type for field in info.fields}
            if name not in fields:
                return []
            info = fields[name]
        elif index and isinstance(info, mi.ListType):
            info = info.item_type
        else:
            return []
    if isinstance(info, mi.UnionType):
        info = next((t for t in info.types if isinstance(t, mi.LiteralType)), info)
    return [str(v) for v in info.values] if isinstance(info, mi.LiteralType) else []


def _value_at(value: Any, path: str) -> Any:
    """The value at a msgspec `$.path`, which names struct fields and list indexes only."""
    for name, index in _SEGMENT.findall(path):
        if name and isinstance(value, dict):
            value = value.get(name)
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return None
    return value


def _dict_entry(value: Any, path: str, kind: str) -> tuple[str, str] | None:
    """`path` with each `[...]` (a dict's value: msgspec does not say which key) filled in by
    the first key that leads to a `kind` value, and a sample of that value."""
    head, marker, rest = path.partition("[...]")
    found = _value_at(value, head)
    if not marker:
        return (path, _sample(found)) if _kind_of(found) == kind else None
    for key, item in found.items() if isinstance(found, dict) else ():
        if (entry := _dict_entry(item, "$" + rest, kind)) is not None:
            return f"{head}.{key}{entry[0][1:]}", entry[1]
    return None


def _types_hint(path: str) -> str:
    """The valid assertion types, when `path` is an assertion's `type`."""
    if _ASSERTION_TYPE.fullmatch(path):
        return f"; valid types: {', '.join(grading.type_names())}"
    return ""


def _kinds(text: str) -> str:
    names = [_KIND_NAMES.get(name, name) for name in text.split(" | ")]
    return " or ".join([name for name in names if name != "null"] or names)


def _kind_of(value: Any) -> str:
    return _KIND_NAMES.get(type(value).__name__, type(value).__name__)


def _sample(value: Any) -> str:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        shown = msgspec.json.encode(value).decode() if not isinstance(value, float) else repr(value)
        return " " + (shown if len(shown) <= 40 else shown[:37] + "...")
    return ""


# Checks msgspec cannot express ----------------------------------------------------------------
