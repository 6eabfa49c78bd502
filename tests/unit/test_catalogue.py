"""The grader catalogue (harness.grading.catalogue): plugins from modules and entry points, the
entry-point scan that keeps importlib.metadata unimported, and specs that forbid unknown keys
so the loader's one-call fast path is exact."""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.grading import catalogue
from harness.grading.catalogue import file_kinds, group_may_be_declared, specs_forbid_unknown_fields
from harness.grading.registry import ENTRY_POINT_GROUP
from harness.plan.load import load_suite
from tests.support.graders import registered_types_kept
from tests.support.suites import graded_case, load_errors

pytestmark = pytest.mark.usefixtures("in_tmp")

PLUGIN = """\
from harness.config.schema import GraderSpec
from harness.grading.registry import GraderType
from harness.grading.verdict import verdict


class ShortAnswer(GraderSpec, frozen=True, tag="short_answer"):
    max_chars: int


def grade(spec, context):
    size = len(context.output_text())
    return verdict(spec, size <= spec.max_chars, f"{size} chars (max {spec.max_chars})")


GRADERS = [GraderType("short_answer", ShortAnswer, grade, "The answer is short.")]
"""


@pytest.fixture
def plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "plugin_graders.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(tmp_path)
    with registered_types_kept():
        yield "plugin_graders"
    sys.modules.pop("plugin_graders", None)


def test_a_plugin_type_is_unknown_until_loaded(plugin_module: str) -> None:
    root = graded_case("assertions: [{type: short_answer, max_chars: 10}]\n")
    [line] = load_errors(root)
    assert line.startswith('s/cases/t1.yaml:3: assertions[0].type: unknown type "short_answer";')
    assert "valid types: json_schema, required_fields," in line
    catalogue.load_plugin(plugin_module)
    [case] = load_suite(root).cases
    assert type(case.assertions[0]).__name__ == "ShortAnswer"
    assert "short_answer" in catalogue.type_names()


def test_a_plugin_that_cannot_load_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--grader-plugin no_such_plugin_mod: cannot import it"):
        catalogue.load_plugin("no_such_plugin_mod")


def test_graders_from_the_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ep_graders.py").write_text(PLUGIN.replace("short_answer", "ep_short"))
    dist = tmp_path / "ep_graders-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-graders\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[harness.graders]\nshort = ep_graders:GRADERS\n")
    with registered_types_kept():
        assert "ep_short" not in catalogue.type_names()
        monkeypatch.syspath_prepend(str(tmp_path))  # as if installed since the first lookup
        try:
            catalogue.load_entry_points()
            assert "ep_short" in catalogue.type_names()
            root = graded_case("assertions: [{type: ep_short, max_chars: 3}]\n")
            [case] = load_suite(root).cases
            assert type(case.assertions[0]).__name__ == "ShortAnswer"
        finally:
            sys.modules.pop("ep_graders", None)
    assert "ep_short" not in catalogue.type_names()


LENIENT_PLUGIN = """\
import msgspec

from harness.config.schema import GraderSpec
from harness.grading.registry import GraderType
from harness.grading.verdict import verdict


class Limits(msgspec.Struct, frozen=True):  # accepts unknown keys: msgspec's default
    max_chars: int


class Bounded(GraderSpec, frozen=True, tag="bounded_answer"):
    limits: Limits


def grade(spec, context):
    return verdict(spec, True, "ok")


GRADERS = [GraderType("bounded_answer", Bounded, grade, "Bounded.")]
"""


def test_a_plugin_spec_that_accepts_unknown_keys_still_gets_them_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Such a spec turns the loader's one-call fast path off, so `limits.typo` is found."""
    (tmp_path / "lenient_graders.py").write_text(LENIENT_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with registered_types_kept():
            catalogue.load_plugin("lenient_graders")
            assert not catalogue.specs_forbid_unknown_fields()
            root = graded_case(
                "assertions: [{type: bounded_answer, limits: {max_chars: 3, typo: 1}}]\n"
            )
            [line] = load_errors(root)
            assert line.startswith("s/cases/t1.yaml:3: assertions[0].limits.typo: unknown key")
    finally:
        sys.modules.pop("lenient_graders", None)
    assert catalogue.specs_forbid_unknown_fields()


def test_every_builtin_spec_forbids_unknown_keys_so_the_loader_fast_path_is_exact() -> None:
    """The loader converts a well-formed file in one msgspec call, trusting that no struct
    inside the suite and case kinds accepts an unknown key; a plugin spec that does is
    checked the slow way (the lenient plugin test above)."""
    import msgspec.inspect as mi

    assert specs_forbid_unknown_fields()
    lenient: list[str] = []

    def walk(info: mi.Type, seen: set[int]) -> None:
        if id(info) in seen:
            return
        seen.add(id(info))
        if isinstance(info, mi.StructType):
            if not info.forbid_unknown_fields:
                lenient.append(info.cls.__name__)
            for field in info.fields:
                walk(field.type, seen)
        for child in ("types", "item_type", "key_type", "value_type"):
            inner = getattr(info, child, None)
            for item in inner if isinstance(inner, tuple) else [inner]:
                if isinstance(item, mi.Type):
                    walk(item, seen)

    for kind in file_kinds():
        walk(mi.type_info(kind), set())
    assert lenient == []


def test_every_group_importlib_metadata_finds_is_found() -> None:
    from importlib.metadata import entry_points

    groups = set(entry_points().groups)
    assert groups  # pytest's own plugins at least
    assert all(group_may_be_declared(group) for group in groups)
    assert not group_may_be_declared("harness.no_such_group")


def _only_on_path(monkeypatch: pytest.MonkeyPatch, *entries: str) -> None:
    monkeypatch.setattr(sys, "path", list(entries))


def test_a_dist_info_that_declares_the_group_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _only_on_path(monkeypatch, str(tmp_path))
    assert not group_may_be_declared(ENTRY_POINT_GROUP)
    other = tmp_path / "other-1.0.dist-info"
    other.mkdir()
    (other / "entry_points.txt").write_text("[console_scripts]\nx = x:main\n")
    (tmp_path / "single_file-1.0.egg-info").write_text("Name: single-file\n")  # has none
    assert not group_may_be_declared(ENTRY_POINT_GROUP)
    plugin = tmp_path / "Plugin-2.0.EGG-INFO"  # importlib.metadata ignores the case
    plugin.mkdir()
    (plugin / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nx = x:GRADERS\n")
    assert group_may_be_declared(ENTRY_POINT_GROUP)


def test_what_it_cannot_read_cheaply_defers_to_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("p-1.0.dist-info/entry_points.txt", f"[{ENTRY_POINT_GROUP}]\n")
    _only_on_path(monkeypatch, str(tmp_path / "missing"), str(archive))
    assert group_may_be_declared(ENTRY_POINT_GROUP)
    _only_on_path(monkeypatch, str(tmp_path / "old.egg"))
    assert group_may_be_declared(ENTRY_POINT_GROUP)
    _only_on_path(monkeypatch, str(tmp_path / "missing"))
    assert not group_may_be_declared(ENTRY_POINT_GROUP)

    class Finder:
        @staticmethod
        def find_distributions(*args: object) -> list[object]:
            return []

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder])
    assert group_may_be_declared(ENTRY_POINT_GROUP)
