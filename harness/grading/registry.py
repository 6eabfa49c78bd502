"""The grader registry: `GraderType`, what a plugin declares, and the tables of every type
registered, by `type` name and by spec class.

Plugins (the `harness.graders` entry-point group, `--grader-plugin module`) name `GraderType`s
whose spec is a `GraderSpec` subclass tagged with the type name. harness.grading.catalogue
loads the built-ins, the plugins and Assay's own types into these tables on first use.
"""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from harness.config.schema import GraderSpec
from harness.errors import UsageError
from harness.grading.context import GradingContext
from harness.grading.verdict import Verdict

if TYPE_CHECKING:
    from harness.grading.preparation import Preparation

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


@dataclass
class Registered:
    """The tables of every type registered in this process (one per process: REGISTERED)."""

    by_name: dict[str, GraderType] = field(default_factory=dict)  # public ones: what suites use
    by_class: dict[type[GraderSpec], GraderType] = field(default_factory=dict)  # Assay's too
    lenient: set[str] = field(default_factory=set)  # plugins whose spec lets unknown keys in


REGISTERED = Registered()


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
    tables = REGISTERED
    existing = tables.by_name.get(grader.name) if public else None
    if existing is not None and existing.spec is not grader.spec:
        raise UsageError(f"grader type {grader.name!r} is registered twice; rename one")
    tables.by_class[grader.spec] = grader
    if public:
        tables.by_name[grader.name] = grader
        if not _trusted and not _forbids_unknown_fields(grader.spec, set()):
            tables.lenient.add(grader.name)


def _forbids_unknown_fields(kind: Any, seen: set[Any]) -> bool:

    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        if kind in seen:
            return True
        seen.add(kind)
        if not kind.__struct_config__.forbid_unknown_fields:
            return False
        return all(_forbids_unknown_fields(f.type, seen) for f in msgspec.structs.fields(kind))
    return all(_forbids_unknown_fields(arg, seen) for arg in typing.get_args(kind))


def public_types() -> list[GraderType]:
    """The types suite files accept, in the order they were registered."""
    return list(REGISTERED.by_name.values())


def every_type() -> list[GraderType]:
    """Every registered type, Assay's own included."""
    return list(REGISTERED.by_class.values())


def type_of_spec(kind: type[GraderSpec]) -> GraderType | None:
    return REGISTERED.by_class.get(kind)


def lenient_types() -> frozenset[str]:
    """Public types whose spec lets unknown keys through (plugins may)."""
    return frozenset(REGISTERED.lenient)
