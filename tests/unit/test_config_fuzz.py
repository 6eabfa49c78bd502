"""Damage a valid suite at random: loading gives a Suite or a ConfigError, never another
exception, and every error is one line that names its file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.config.schema import Suite
from harness.errors import ConfigError, ConfigErrors
from harness.plan.load import load_suite

FILES = {
    "suite.yaml": """\
suite_name: demo
agent_command: [python3, agent.py]
mode: replay
cases_path: cases
tool_registry: [search_docs]
assertions: [{type: json_schema, schema_path: schema.json}]
budgets: {max_wall_ms: 1000, max_tool_calls: 3}
regression: {min_success_rate: 0.9}
normalization:
  strip_keys: [id]
  replace_text: [{pattern: '\\d+', replacement: N, flags: i}]
""",
    "cases/t1.yaml": """\
id: t1
description: first
input: {ticket: reset my password, user: {id: 7}}
cassette: cassettes/t1.jsonl
budgets: {max_tool_calls: 2}
assertions:
  - {type: must_call, tools: [search_docs]}
  - {type: required_fields, fields: [category]}
tags: {team: support}
""",
    "cases/t2.yml": "id: t2\ninput: [1, 2.5, null, true]\n",
    "schema.json": '{"type": "object", "properties": {"category": {"type": "string"}}}',
    "agent.py": "",
}
TARGETS = ["suite.yaml", "cases/t1.yaml", "cases/t2.yml", "schema.json"]

Mutation = Callable[[Path], None]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


def key_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside mappings and lists."""
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        yield (*prefix, key)
        yield from key_paths(item, (*prefix, key))


def edit_document(edit: Callable[[Any, Any], None]) -> Callable[[bytes, st.DrawFn], bytes]:
    """A mutation of a parsed document: `edit(parent, key)` changes the value at a random path."""

    def mutate(content: bytes, draw: st.DrawFn) -> bytes:
        document = yaml.safe_load(content)
        paths = list(key_paths(document))
        if not paths:
            return content
        *parents, key = draw(st.sampled_from(paths))
        parent = document
        for step in parents:
            parent = parent[step]
        edit(parent, key)
        return yaml.safe_dump(document).encode()

    return mutate


@st.composite
def content_mutation(draw: st.DrawFn, content: bytes) -> bytes:
    kind = draw(
        st.sampled_from(["bytes", "truncate", "insert", "swap", "delete", "encode", "empty"])
    )
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "truncate":
        return content[: draw(st.integers(0, len(content)))]
    if kind == "insert":
        at = draw(st.integers(0, len(content)))
        junk = draw(st.binary(max_size=20) | st.text(max_size=20).map(str.encode))
        return content[:at] + junk + content[at:]
    if kind == "swap":
        new = draw(json_values)
        return edit_document(lambda parent, key: parent.__setitem__(key, new))(content, draw)
    if kind == "delete":
        return edit_document(lambda parent, key: parent.__delitem__(key))(content, draw)
    if kind == "encode":
        encoding = draw(st.sampled_from(["utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252"]))
        return content.decode().replace("demo", "démo").replace("t1\n", "t1é\n").encode(encoding)
    return b""


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    target = draw(st.sampled_from(TARGETS))
    kind = draw(st.sampled_from(["content", "content", "content", "folder", "loop", "remove"]))
    content = draw(content_mutation(FILES[target].encode())) if kind == "content" else b""

    def apply(root: Path) -> None:
        path = root / target
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        path.unlink(missing_ok=True)
        if kind == "content":
            path.write_bytes(content)
        elif kind == "folder":
            path.mkdir()
        elif kind == "loop":
            path.symlink_to(path.name)

    return apply


def make_suite(root: Path) -> None:
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def check_error(error: ConfigError) -> None:
    errors = error.errors if isinstance(error, ConfigErrors) else [error]
    assert str(error).splitlines() == [one.render() for one in errors]
    for one in errors:
        rendered = one.render()
        assert rendered.splitlines() == [rendered]
        if one.path is None:
            assert one.field == "mode"
        else:
            assert rendered.startswith(f"{one.path}: ") or rendered.startswith(
                f"{one.path}:{one.line}: "
            )
            assert one.path.startswith("s")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(mutations(), min_size=1, max_size=3),
    st.none() | st.sampled_from(["replay", "record", "Replay", ""]),
)
def test_damaged_suites_load_or_raise_config_error(
    damage: list[Mutation], mode: str | None
) -> None:
    cwd = os.getcwd()
    folder = tempfile.mkdtemp()
    try:
        os.chdir(folder)
        root = Path("s")
        make_suite(root)
        for mutate in damage:
            mutate(root)
        try:
            suite = load_suite(root, mode=mode)
        except ConfigError as exc:
            check_error(exc)
        else:
            assert isinstance(suite, Suite)
            for case in suite.cases:
                msgspec.json.encode(case.input)  # whatever loads can be sent to an agent
    finally:
        os.chdir(cwd)
        shutil.rmtree(folder)
