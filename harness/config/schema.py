"""The schemas of suite and case files, and the resolved objects the runner consumes.

File structs (`*File`, `*Spec`) mirror YAML one to one and forbid unknown keys, so a typo is a
load error. `Suite` and `Case` are what loading produces: paths resolved, case settings merged
over the suite's.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, Literal

import msgspec

from harness.config.containment import Project
from harness.config.model_proxy import ModelProxySpec
from harness.config.suggest import did_you_mean


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
        valid = [mode.value for mode in RecordMode]
        hint = did_you_mean(value, valid)
        raise ValueError(f"unknown mode {value!r}; {hint}valid modes: {', '.join(valid)}") from None


class _Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    pass


# Live tools (record, auto and live modes). Tagged by `backend`. -----------------------------

DEFAULT_TOOL_TIMEOUT_MS = 30_000


class ToolRetry(_Spec, frozen=True):
    """Retries of a live tool's transient failures (timeouts, refused connections, 429/503)."""

    attempts: int = 3  # tries in all, the first one included
    initial_backoff_ms: int = 200  # the first wait; doubles each try, plus jitter
    max_backoff_ms: int = 5_000


class _ToolSpec(_Spec, frozen=True, kw_only=True, tag_field="backend"):
    timeout_ms: int | None = None  # per try; default DEFAULT_TOOL_TIMEOUT_MS
    retry: ToolRetry | None = None


class PythonToolSpec(_ToolSpec, frozen=True, tag="python"):
    function: str  # `module:function`; the module is found beside suite.yaml first


class CommandToolSpec(_ToolSpec, frozen=True, tag="command"):
    command: list[str]  # gets {"tool", "args"} as JSON on stdin, answers JSON on stdout
    env: dict[str, str] = {}
    cwd: str | None = None


class HttpToolSpec(_ToolSpec, frozen=True, tag="http"):
    url: str  # receives {"tool", "args"} as a JSON POST
    # Header name -> a template of environment variables, `Bearer ${API_TOKEN}`: secrets come
    # from the environment, never from the suite file.
    headers_env: dict[str, str] = {}


class McpToolSpec(_ToolSpec, frozen=True, tag="mcp"):
    server: str  # a key of `mcp_servers`
    name: str | None = None  # the tool's name on the server; default: the same name


ToolSpec = PythonToolSpec | CommandToolSpec | HttpToolSpec | McpToolSpec
TOOL_BACKENDS = ("python", "command", "http", "mcp")


class McpServerSpec(_Spec, frozen=True):
    """An MCP server spoken to over stdio, started once per run."""

    command: list[str]
    env: dict[str, str] = {}
    cwd: str | None = None
    start_timeout_ms: int = 30_000


class RedactSpec(_Spec, frozen=True):
    """What counts as a secret. Built-in key names, patterns and env-name rules apply too unless
    `defaults: false`."""

    env: list[str] = []  # environment variables whose values are secrets
    keys: list[str] = []  # object keys whose values are secrets, any depth
    patterns: list[str] = []  # regexes; group 1, when there is one, is the secret part
    defaults: bool = True


class MatchSpec(_Spec, frozen=True):
    """How a call is matched to a recorded one, beyond tool name and canonical args."""

    # JSON paths into args left out of matching (`$.request_id`, `search:$.page.cursor`).
    ignore_args: list[str] = []


# Graders (assertions). Tagged by `type`. RunLedger's five are here; the rest live beside their
# grading code in harness/grading/ and join through its registry, which also validates files. --


class GraderSpec(_Spec, frozen=True, kw_only=True, tag_field="type"):
    """Base of every grader spec: the fields any grader accepts besides its own."""

    weight: float = 1.0  # its share of the weighted score when a threshold is set
    name: str | None = None  # a display name; two graders of one type stay distinguishable


class JsonSchemaAssertion(GraderSpec, frozen=True, tag="json_schema"):
    schema_path: str


class RequiredFieldsAssertion(GraderSpec, frozen=True, tag="required_fields"):
    fields: list[str]


class MustCallAssertion(GraderSpec, frozen=True, tag="must_call"):
    tools: list[str]


class MustNotCallAssertion(GraderSpec, frozen=True, tag="must_not_call"):
    tools: list[str]


class CallOrderAssertion(GraderSpec, frozen=True, tag="call_order"):
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


class MetricGate(_Spec, frozen=True):
    """How much one case's deterministic metric may grow over its baseline value."""

    max_increase: float | None = None  # absolute: calls, tokens, dollars
    max_increase_pct: float | None = None  # a fraction of the baseline value: 0.1 = +10 %


class MetricGates(_Spec, frozen=True):
    """Per-case gates on metrics that replay makes deterministic (wall time is not one)."""

    tool_calls: MetricGate | None = None
    tool_errors: MetricGate | None = None
    tokens_in: MetricGate | None = None
    tokens_out: MetricGate | None = None
    cost_usd: MetricGate | None = None
    steps: MetricGate | None = None


class Significance(_Spec, frozen=True):
    """Multi-trial gate: fail only if the paired drop is significant at `alpha` and > min_drop."""

    alpha: float = 0.05
    min_drop: float = 0.0


class Regression(_Spec, frozen=True):
    # RunLedger's keys
    min_pass_rate: float | None = None
    max_avg_wall_ms_delta_pct: float | None = None
    max_p95_wall_ms_delta_pct: float | None = None
    # harness additions
    max_pass_rate_drop: float | None = None  # vs the baseline, overall and per model
    per_case: bool = True  # each failing case fails the gate; false: only the aggregate checks
    expected_failures: list[str] = []  # failing already; reported, never gating
    metrics: MetricGates | None = None
    min_case_pass_rate: float | None = None  # each case must pass this share of its trials
    case_pass_rates: dict[str, float] = {}  # the same, per case id
    significance: Significance | None = None


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


class RetrySpec(_Spec, frozen=True):
    """Retries of infrastructure failures only; a failed assertion is never retried."""

    max_retries: int | None = None  # default 2; --max-retries wins
    initial_backoff_ms: int = 500  # the first wait; doubles each retry, plus jitter
    max_backoff_ms: int = 10_000
    # Agent exit statuses that mean "transient, try again" (say 75, EX_TEMPFAIL, on a 429).
    exit_codes: list[int] = []


class WorkspaceFile(_Spec, frozen=True):
    src: str  # relative to the suite (or config) folder; a file or a folder
    dest: str | None = None  # relative to the workspace; default: the source's name


class WorkspaceSpec(_Spec, frozen=True):
    """A per-attempt folder the agent runs in, seeded before it starts (Vally's environment)."""

    files: list[WorkspaceFile | str] = []
    commands: list[str] = []  # setup, run by the shell in the workspace, in order
    command_timeout: str | float | None = None  # each command; default 60s


class SuiteFile(_Spec, frozen=True):
    """`suite.yaml`: RunLedger's keys, then harness's own optional ones."""

    suite_name: str
    agent_command: list[str]
    mode: str
    cases_path: str
    tool_registry: list[str]
    tool_module: str | None = None
    assertions: list[GraderSpec] = []  # checked against every registered grader type
    budgets: Budgets | None = None
    regression: Regression | None = None
    normalization: Normalization | None = None
    baseline_path: str | None = None
    output_dir: str | None = None
    # harness additions
    description: str | None = None
    agent_cwd: str | None = None  # default: the invoker's cwd, as RunLedger
    agent_env: dict[str, str] = {}
    # Only these variables reach the agent (default: all but the tools' credentials; see
    # harness/agent/environment.py and docs/security.md).
    agent_env_allow: list[str] | None = None
    max_line_bytes: int | None = None
    kill_grace_ms: int | None = None
    strict: bool = False  # replay-strict: unused entries and out-of-order calls fail
    # Keep an agent that announces multi_task for the worker's next case (docs/protocol.md), or
    # fork each attempt's agent from a server that imported `preload` once (docs/fork.md).
    agent_reuse: Literal["never", "per_worker", "fork"] | None = None
    preload: list[str] = []  # modules a fork server imports before any fork
    # RunLedger's rule: final_output.output is a JSON object, anything else is the agent's
    # error. `any` accepts every JSON value (an answer as a string, a list).
    output_type: Literal["object", "any"] = "object"
    models: list[str] = []  # a sweep: each case runs on every model (--model wins)
    runs: int | None = None  # trials per case and model (--runs wins); 0 validates only
    retry: RetrySpec | None = None
    quarantine: list[str] = []  # case ids: reported, never gating
    tools: dict[str, ToolSpec] = {}  # live backends by tool name
    mcp_servers: dict[str, McpServerSpec] = {}
    redact: RedactSpec | None = None
    match: MatchSpec | None = None
    threshold: float | None = None  # pass on the weighted grader score (--threshold wins)
    workspace: WorkspaceSpec | None = None  # every case's, under its own
    model_proxy: ModelProxySpec | None = None  # the agent's model calls through harness


class CaseFile(_Spec, frozen=True):
    """`cases/*.yaml`."""

    id: str
    input: Any
    cassette: str | None = None
    description: str | None = None
    assertions: list[GraderSpec] | None = None
    budgets: Budgets | None = None
    normalization: Normalization | None = None
    tags: dict[str, str] = {}
    models: list[str] | None = None  # this case's models, over the suite's (--model wins)
    threshold: float | None = None
    workspace: WorkspaceSpec | None = None


# Resolved ----------------------------------------------------------------------------------


class Case(msgspec.Struct, frozen=True):
    id: str
    input: Any
    cassette_path: Path | None
    file: Path
    line: int
    description: str | None
    assertions: tuple[GraderSpec, ...]
    budgets: Budgets
    normalization: Normalization | None
    #: json_schema assertions' schema documents, loaded and checked at load time, by path.
    schemas: dict[str, Any]
    tags: dict[str, str] = {}
    models: tuple[str, ...] = ()  # the case's own, else the suite's
    threshold: float | None = None  # the case's, else the suite's
    workspace: WorkspaceSpec | None = None  # merged over the suite's; sources absolute
    cassette_line: int | None = None  # where `cassette:` is written, for errors about it
    # Where its cassette and workspace files must be, checked again where they are opened;
    # None only for a case made outside load_suite.
    project: Project | None = None


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
    project: Project  # where every file the suite names must be (harness/config/containment)
    agent_reuse: str | None = None  # never | per_worker | fork; None: per_worker
    preload: tuple[str, ...] = ()  # agent_reuse: fork
    output_type: str = "object"  # object | any: what final_output.output may be
    description: str | None = None
    config_hash: str | None = None
    models: tuple[str, ...] = ()
    runs: int = 1
    retry: RetrySpec | None = None
    quarantine: frozenset[str] = frozenset()
    tools: dict[str, ToolSpec] = {}
    mcp_servers: dict[str, McpServerSpec] = {}
    redact: RedactSpec | None = None
    match: MatchSpec | None = None
    agent_env_allow: tuple[str, ...] | None = None
    model_proxy: ModelProxySpec | None = None
