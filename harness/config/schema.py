"""The schemas of suite and case files, and the resolved objects the runner consumes.

File structs (`*File`, `*Spec`) mirror YAML one to one and forbid unknown keys, so a typo is a
load error. `Suite` and `Case` are what loading produces: paths resolved, case settings merged
over the suite's.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

import msgspec


class RecordMode(enum.StrEnum):
    """How tool calls are answered."""

    replay = "replay"  # from the cassette only; a miss fails the case
    record = "record"  # live tools; every case's cassette is written anew
    auto = "auto"  # replay what is recorded, record and append what is missing
    live = "live"  # live tools, nothing written


def parse_mode(value: str) -> RecordMode:
    try:
        return RecordMode(value)
    except ValueError:
        valid = ", ".join(mode.value for mode in RecordMode)
        raise ValueError(f"unknown mode {value!r}; valid modes: {valid}") from None


class _Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    pass


# Assertions (RunLedger's set). Tagged by `type`; later graders join this union. -------------


class JsonSchemaAssertion(_Spec, frozen=True, tag_field="type", tag="json_schema"):
    schema_path: str


class RequiredFieldsAssertion(_Spec, frozen=True, tag_field="type", tag="required_fields"):
    fields: list[str]


class MustCallAssertion(_Spec, frozen=True, tag_field="type", tag="must_call"):
    tools: list[str]


class MustNotCallAssertion(_Spec, frozen=True, tag_field="type", tag="must_not_call"):
    tools: list[str]


class CallOrderAssertion(_Spec, frozen=True, tag_field="type", tag="call_order"):
    order: list[str]


AssertionSpec = (
    JsonSchemaAssertion
    | RequiredFieldsAssertion
    | MustCallAssertion
    | MustNotCallAssertion
    | CallOrderAssertion
)
ASSERTION_TYPES = ("json_schema", "required_fields", "must_call", "must_not_call", "call_order")


class Budgets(_Spec, frozen=True):
    """Limits enforced while the attempt runs. All optional; a case merges field by field."""

    max_wall_ms: int | None = None
    max_tool_calls: int | None = None
    max_tool_errors: int | None = None
    max_tokens_out: int | None = None
    max_cost_usd: float | None = None
    # Longest silence allowed between two agent messages (RunLedger hard-codes 30 s).
    max_idle_ms: int | None = None

    def merged(self, override: Budgets | None) -> Budgets:
        if override is None:
            return self
        changes = {
            name: getattr(override, name)
            for name in self.__struct_fields__
            if getattr(override, name) is not None
        }
        return msgspec.structs.replace(self, **changes)


DEFAULT_IDLE_MS = 30_000


class Regression(_Spec, frozen=True):
    min_pass_rate: float | None = None
    max_avg_wall_ms_delta_pct: float | None = None
    max_p95_wall_ms_delta_pct: float | None = None


# RunLedger accepts these older names; they are renamed before validation.
REGRESSION_ALIASES = {
    "min_success_rate": "min_pass_rate",
    "max_p95_wall_ms_increase_pct": "max_p95_wall_ms_delta_pct",
}


class ReplaceText(_Spec, frozen=True):
    pattern: str
    replacement: str = ""
    flags: str | None = None


class Normalization(_Spec, frozen=True):
    strip_keys: list[str] = []
    strip_paths: list[str] = []
    replace_paths: dict[str, Any] = {}
    replace_text: list[ReplaceText] = []

    def merged(self, override: Normalization | None) -> Normalization:
        """RunLedger's rule: lists concatenate, replace_paths merges with the case winning."""
        if override is None:
            return self
        return Normalization(
            strip_keys=self.strip_keys + override.strip_keys,
            strip_paths=self.strip_paths + override.strip_paths,
            replace_paths={**self.replace_paths, **override.replace_paths},
            replace_text=self.replace_text + override.replace_text,
        )

    def is_empty(self) -> bool:
        return not (self.strip_keys or self.strip_paths or self.replace_paths or self.replace_text)


class SuiteFile(_Spec, frozen=True):
    """`suite.yaml`: RunLedger's keys, then harness's own optional ones."""

    suite_name: str
    agent_command: list[str]
    mode: str
    cases_path: str
    tool_registry: list[str]
    tool_module: str | None = None
    assertions: list[AssertionSpec] = []
    budgets: Budgets | None = None
    regression: Regression | None = None
    normalization: Normalization | None = None
    baseline_path: str | None = None
    output_dir: str | None = None
    # harness additions
    description: str | None = None
    agent_cwd: str | None = None  # default: the invoker's cwd, as RunLedger
    agent_env: dict[str, str] = {}
    max_line_bytes: int | None = None
    kill_grace_ms: int | None = None
    strict: bool = False  # replay-strict: unused entries and out-of-order calls fail


class CaseFile(_Spec, frozen=True):
    """`cases/*.yaml`."""

    id: str
    input: Any
    cassette: str | None = None
    description: str | None = None
    assertions: list[AssertionSpec] | None = None
    budgets: Budgets | None = None
    normalization: Normalization | None = None
    tags: dict[str, str] = {}


# Resolved ----------------------------------------------------------------------------------


class Case(msgspec.Struct, frozen=True):
    id: str
    input: Any
    cassette_path: Path | None
    file: Path
    line: int
    description: str | None
    assertions: tuple[AssertionSpec, ...]
    budgets: Budgets
    normalization: Normalization | None
    #: json_schema assertions' schema documents, loaded and checked at load time, by path.
    schemas: dict[str, Any]
    tags: dict[str, str] = {}


class Suite(msgspec.Struct, frozen=True):
    name: str
    dir: Path
    file: Path
    agent_command: tuple[str, ...]
    mode: RecordMode
    tool_registry: frozenset[str]
    tool_module: str | None
    cases: tuple[Case, ...]
    regression: Regression | None
    baseline_path: Path | None
    output_dir: Path | None
    agent_cwd: Path | None
    agent_env: dict[str, str]
    max_line_bytes: int
    kill_grace_ms: int
    strict: bool
    description: str | None = None
    config_hash: str | None = None
