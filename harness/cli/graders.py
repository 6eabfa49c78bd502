"""`harness graders`: every grader type, its fields and what it checks."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from harness.cli import flags

if TYPE_CHECKING:
    from harness.grading.registry import GraderType

FAMILY_TITLES = {
    "runledger": "RunLedger's assertions (final output, names of the calls)",
    "output": "Output checks (Assay's `expected:` types; strings as is, other JSON as text)",
    "trace": "Trace assertions (the tool calls in the order they were made)",
    "workspace": "Workspace graders (Vally's; the case needs a `workspace:`)",
    "judge": "LLM judge (offline: a command or a Python callable)",
    "plugin": "Plugins (entry points `harness.graders`, --grader-plugin)",
    "assay": "Assay configs only (`harness assay`: metrics under `expected:`, fixtures under"
    " `assertions:`)",
}
SCORING = """\
Every grader also takes `weight` (default 1) and `name` (a display name).
A case passes when every grader passes; with a `threshold` (suite, case or --threshold) it
passes when the weighted mean score sum(w*s)/sum(w) reaches it (a grader's score is its own,
else 1 for a pass, 0 for a fail). An `uncertain` verdict (a judge's split vote) never passes;
a grader that cannot run makes the attempt an error (exit 3). Assertions that can never fail
are refused at load unless --allow-ineffective-assertions."""


def graders_command(
    grader_type: Annotated[
        str | None, typer.Argument(help="Show only this grader type.", metavar="TYPE")
    ] = None,
    as_json: flags.Json = False,
    grader_plugin: flags.GraderPlugin = None,
) -> None:
    """List every grader type with its fields and semantics."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.errors import UsageError
    from harness.grading.catalogue import assay_only_types, grader_types, load_plugin

    for module in grader_plugin or ():
        load_plugin(module)
    chosen = grader_types() + assay_only_types()
    if grader_type is not None:
        chosen = [grader for grader in chosen if grader.name == grader_type]
        if not chosen:
            known = ", ".join(grader.name for grader in grader_types())
            raise UsageError(f"unknown grader type {grader_type!r}; known: {known}")
    if as_json:
        print(json.dumps([_as_json(grader) for grader in chosen], indent=2))
        return
    for family, title in FAMILY_TITLES.items():
        members = [grader for grader in chosen if grader.family == family]
        if members:
            print(title)
            for grader in members:
                _print(grader)
            print()
    print(SCORING)


def _print(grader: GraderType) -> None:
    print(f"  {grader.name:<26} {grader.summary}")
    fields = _fields(grader)
    for name, text in fields.items():
        print(f"      {name:<22} {text}")


def _fields(grader: GraderType) -> dict[str, str]:
    """Every field of the spec (but the common two), described when the grader describes it."""
    names = [n for n in grader.spec.__struct_fields__ if n not in ("weight", "name")]
    if "tool" in grader.fields and "tool_name" in names:
        names.remove("tool_name")  # described with `tool`
    return {name: grader.fields.get(name, "") for name in names}


def _as_json(grader: GraderType) -> dict[str, Any]:
    return {
        "type": grader.name,
        "family": grader.family,
        "summary": grader.summary,
        "fields": _fields(grader),
        "refuses_ineffective": grader.ineffective is not None,
    }
