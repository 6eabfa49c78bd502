"""The catalogue of grader types as a run sees it: the built-ins, the entry-point plugins and
Assay's own types, registered on first use; lookups by name and spec; and the suite and case
file types whose `assertions` accept every registered spec, so an unknown type is a load-time
error that names the known ones.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys
import types
from collections.abc import Iterable
from typing import Any, Union

from harness.config.schema import CaseFile, GraderSpec, SuiteFile
from harness.errors import UsageError
from harness.grading.registry import (
    ENTRY_POINT_GROUP,
    GraderType,
    every_type,
    lenient_types,
    public_types,
    register,
    type_of_spec,
)

_state = {"builtins": False, "entry_points": False, "assay": False}
_file_kinds: dict[tuple[type[GraderSpec], ...], tuple[type[SuiteFile], type[CaseFile]]] = {}


def specs_forbid_unknown_fields() -> bool:
    """True when no registered spec lets an unknown key through (built-ins never do; the
    loader then checks a well-formed file in one msgspec call)."""
    _ensure_loaded()
    return not any(grader.name in lenient_types() for grader in public_types())


def grader_types() -> list[GraderType]:
    """Every registered type: built-ins first, in catalogue order, then plugins."""
    _ensure_loaded()
    return public_types()


def type_names() -> list[str]:
    return [grader.name for grader in grader_types()]


def lookup(name: str) -> GraderType:
    _ensure_loaded()
    for grader in public_types():
        if grader.name == name:
            return grader
    raise KeyError(name)


def grader_of(spec: GraderSpec) -> GraderType:
    _ensure_loaded()
    grader = type_of_spec(type(spec))
    if grader is None:  # an Assay spec: Assay's graders register on first use
        _ensure_assay()
        grader = type_of_spec(type(spec))
        assert grader is not None, f"no grader type registered for {type(spec).__name__}"
    return grader


def load_plugin(module_name: str) -> None:
    """Import `module_name` (`--grader-plugin`); it registers on import or lists `GRADERS`."""
    _ensure_loaded()
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(
            f"--grader-plugin {module_name}: cannot import it: {exc}; "
            "check the module name and that it is on PYTHONPATH"
        ) from None
    _register_all(getattr(module, "GRADERS", ()), f"--grader-plugin {module_name}")


def file_kinds() -> tuple[type[SuiteFile], type[CaseFile]]:
    """`SuiteFile` and `CaseFile` whose `assertions` accept every registered grader type."""
    specs = tuple(grader.spec for grader in grader_types())
    kinds = _file_kinds.get(specs)
    if kinds is None:
        union: Any = Union[specs]  # noqa: UP007 - built from a runtime tuple
        suite = _with_assertions(SuiteFile, list[union], [])
        case = _with_assertions(CaseFile, list[union] | None, None)
        kinds = _file_kinds[specs] = (suite, case)
    return kinds


def _with_assertions(base: type[Any], annotation: Any, default: Any) -> Any:
    def body(namespace: dict[str, Any]) -> None:
        namespace["__annotations__"] = {"assertions": annotation}
        namespace["assertions"] = default
        namespace["__module__"] = base.__module__

    return types.new_class(base.__name__, (base,), {"frozen": True}, body)


def _ensure_loaded() -> None:
    if not _state["builtins"]:
        _state["builtins"] = True
        # lazy: registered on first use, so a run that needs none pays nothing
        from harness.grading.builtins import BUILTIN_GRADERS

        for grader in BUILTIN_GRADERS:  # tests/unit check that their specs forbid unknown keys
            register(grader, _trusted=True)
    if not _state["entry_points"]:
        _state["entry_points"] = True
        load_entry_points()


def load_entry_points() -> None:
    """Register the grader types that installed distributions declare in the `harness.graders`
    entry-point group. Done once, on first use of the catalogue; a later call finds those
    installed since (a type registered again with the same spec is no clash)."""
    if not group_may_be_declared(ENTRY_POINT_GROUP):
        return
    # lazy: registered on first use, so a run that needs none pays nothing
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        where = f"entry point {point.name!r} ({point.value}) of group {ENTRY_POINT_GROUP}"
        try:
            loaded = point.load()
        except Exception as exc:  # any failure of a third party's import is the same to us
            raise UsageError(f"{where}: cannot load it: {exc}") from None
        _register_all(loaded() if callable(loaded) else loaded, where)


def group_may_be_declared(group: str) -> bool:
    """False only when no distribution importlib.metadata would find declares `group`.

    Every run loads the grader catalogue before its first agent starts, and importing
    importlib.metadata (email, zipfile, csv) costs more than that whole catalogue; most
    installs declare no grader plugin. So this reads what importlib.metadata would read, the
    entry_points.txt of each `*.dist-info` / `*.egg-info` directory on sys.path, for the group's
    name. Whatever it would read some other way (a zip or an .egg on sys.path, a finder with
    its own distributions) answers True, and the real lookup decides.
    """

    for finder in sys.meta_path:
        if finder is not importlib.machinery.PathFinder and hasattr(finder, "find_distributions"):
            return True
    needle = group.encode()
    for entry in sys.path:
        if not isinstance(entry, str) or entry.lower().endswith(".egg"):
            return True
        root = entry or "."
        try:
            names = os.listdir(root)
        except FileNotFoundError:
            continue
        except OSError:  # a zip file, or a folder we may not list: ask importlib.metadata
            return True
        for name in names:
            if not name.lower().endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(root, name, "entry_points.txt"), "rb") as file:
                    if needle in file.read():
                        return True
            except OSError:  # no entry points (or an egg-info file, which has none)
                continue
    return False


def _register_all(found: Any, where: str) -> None:
    items: Iterable[Any] = [found] if isinstance(found, GraderType) else found
    try:
        graders = list(items)
    except TypeError:
        raise UsageError(f"{where}: expected GraderType objects, got {found!r}") from None
    for grader in graders:
        if not isinstance(grader, GraderType):
            raise UsageError(f"{where}: expected GraderType objects, got {grader!r}")
        register(grader)


def _ensure_assay() -> None:
    """Register Assay's metrics and fixture assertions. Only Assay configs make their specs
    (none shares a class with a public type), so suites never import harness.assay."""
    if not _state["assay"]:
        _state["assay"] = True
        # lazy: registered on first use, so a run that needs none pays nothing
        from harness.grading.assay.graders import ASSAY_GRADERS

        for grader in ASSAY_GRADERS:
            register(grader, public=False)


def assay_only_types() -> list[GraderType]:
    """Types graded only in Assay configs (not accepted in suite files)."""
    _ensure_loaded()
    _ensure_assay()
    public = {id(grader) for grader in public_types()}
    # Vally's catalogue registers non-public types too (harness.grading.vally): not Assay's.
    return [
        grader for grader in every_type() if id(grader) not in public and grader.family == "assay"
    ]
