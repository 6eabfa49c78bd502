"""The grader registry: every grader type by its `type` name, built in or plugged in.

Built-ins register on first use. Plugins come from the `harness.graders` entry-point group and
from `--grader-plugin module`; each names `GraderType`s whose spec is a `GraderSpec` subclass
tagged with the type name. Suite and case files are validated against the union of every
registered spec, so an unknown type is a load-time error that names the known ones.
"""

from __future__ import annotations

import importlib
import os
import types
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from harness.config.schema import CaseFile, GraderSpec, SuiteFile
from harness.errors import UsageError
from harness.grading.context import GradingContext
from harness.grading.verdict import Verdict

if TYPE_CHECKING:
    from harness.grading.prepare import Preparation

ENTRY_POINT_GROUP = "harness.graders"
GradeFn = Callable[[Any, GradingContext], "Verdict | Awaitable[Verdict]"]
PrepareFn = Callable[[Any, "Preparation"], Any]
# The order `harness graders` lists families in.
FAMILIES = ("runledger", "output", "trace", "workspace", "judge", "plugin")


@dataclass(frozen=True)
class GraderType:
    """One grader type: its spec (the YAML fields), how it grades, how it is described.

    `grade(spec, context)` returns a Verdict (or an awaitable of one) and raises
    `GraderError` when it cannot run. `prepare(spec, preparation)`, when given, runs at load
    time: it resolves paths, loads files and records config problems; it returns the spec to
    use (possibly changed). `ineffective(spec)` returns why the spec can never fail, if so.
    """

    name: str
    spec: type[GraderSpec]
    grade: GradeFn
    summary: str
    family: str = "plugin"
    fields: Mapping[str, str] = field(default_factory=dict)
    prepare: PrepareFn | None = None
    ineffective: Callable[[Any], str | None] | None = None


_types: dict[str, GraderType] = {}  # the public ones, by name: what suite files accept
_by_class: dict[type[GraderSpec], GraderType] = {}  # every one, Assay's own included
_state = {"builtins": False, "entry_points": False, "assay": False}
_file_kinds: dict[tuple[type[GraderSpec], ...], tuple[type[SuiteFile], type[CaseFile]]] = {}
_lenient: set[str] = set()  # plugin types whose spec has a struct accepting unknown keys


def register(grader: GraderType, *, public: bool = True, _trusted: bool = False) -> None:
    """Add a grader type. A name already taken by another spec class is a usage error.

    A type that is not `public` is graded like any other but accepted only where its spec is
    built on purpose (the Assay config parser): Assay's own metrics and fixture assertions,
    some of which share a name with another check."""
    config = grader.spec.__struct_config__
    if not (isinstance(grader.spec, type) and issubclass(grader.spec, GraderSpec)):
        raise UsageError(f"grader {grader.name!r}: its spec must subclass GraderSpec")
    if config.tag_field != "type" or config.tag != grader.name:
        raise UsageError(
            f"grader {grader.name!r}: its spec must be declared with tag={grader.name!r}"
        )
    existing = _types.get(grader.name) if public else None
    if existing is not None and existing.spec is not grader.spec:
        raise UsageError(f"grader type {grader.name!r} is registered twice; rename one")
    _by_class[grader.spec] = grader
    if public:
        _types[grader.name] = grader
        if not _trusted and not _forbids_unknown_fields(grader.spec, set()):
            _lenient.add(grader.name)


def specs_forbid_unknown_fields() -> bool:
    """True when no registered spec lets an unknown key through (built-ins never do; the
    loader then checks a well-formed file in one msgspec call)."""
    _ensure_loaded()
    return not any(name in _lenient for name in _types)


def _forbids_unknown_fields(kind: Any, seen: set[Any]) -> bool:
    import typing

    import msgspec

    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        if kind in seen:
            return True
        seen.add(kind)
        if not kind.__struct_config__.forbid_unknown_fields:
            return False
        return all(_forbids_unknown_fields(f.type, seen) for f in msgspec.structs.fields(kind))
    return all(_forbids_unknown_fields(arg, seen) for arg in typing.get_args(kind))


def grader_types() -> list[GraderType]:
    """Every registered type: built-ins first, in catalogue order, then plugins."""
    _ensure_loaded()
    return list(_types.values())


def type_names() -> list[str]:
    return [grader.name for grader in grader_types()]


def lookup(name: str) -> GraderType:
    _ensure_loaded()
    return _types[name]


def grader_of(spec: GraderSpec) -> GraderType:
    _ensure_loaded()
    grader = _by_class.get(type(spec))
    if grader is None:  # an Assay spec: Assay's graders register on first use
        _ensure_assay()
        grader = _by_class[type(spec)]
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
        from harness.grading.builtins import BUILTIN_GRADERS

        for grader in BUILTIN_GRADERS:  # tests/unit check that their specs forbid unknown keys
            register(grader, _trusted=True)
    if not _state["entry_points"]:
        _state["entry_points"] = True
        _load_entry_points()


def _load_entry_points() -> None:
    if not group_may_be_declared(ENTRY_POINT_GROUP):
        return
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
    import importlib.machinery
    import sys

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
        from harness.assay.graders import ASSAY_GRADERS

        for grader in ASSAY_GRADERS:
            register(grader, public=False)


def assay_only_types() -> list[GraderType]:
    """Types graded only in Assay configs (not accepted in suite files)."""
    _ensure_loaded()
    _ensure_assay()
    public = {id(grader) for grader in _types.values()}
    return [grader for grader in _by_class.values() if id(grader) not in public]
