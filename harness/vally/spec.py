"""What Vally's files mean, as msgspec structs mirroring the YAML: the eval spec (`eval.yaml`),
the project file (`.vally.yaml`, plus harness's `executors:` and `judge:`), `harness.yaml`,
and the experiment file. Field names are Vally's, camelCase where Vally writes it."""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class _Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    pass


Duration = str | int | float
Strings = str | list[str]


class FileEntry(_Spec, frozen=True):
    src: str  # a file or a folder (copied recursively), relative to the file that names it
    dest: str | None = None  # relative to the workspace; default: the source's name


class GitSpec(_Spec, frozen=True):
    type: Literal["worktree", "clone"]
    source: str | None = None  # a local repository (worktree or clone)
    url: str | None = None  # clone only
    ref: str | None = None
    shallow: bool = False
    sparse: list[str] = msgspec.field(default_factory=list)


class McpServerSpec(_Spec, frozen=True):
    """A stdio MCP server, as Vally (and Copilot's config) writes one."""

    command: str
    args: list[str] = msgspec.field(default_factory=list)
    type: Literal["stdio", "local"] = "stdio"
    env: dict[str, str] = msgspec.field(default_factory=dict)
    cwd: str | None = None
    tools: list[str] | None = None  # an allowlist; ["*"] or none: every tool it offers
    timeout: int | None = None  # ms to start and list its tools


class EnvironmentSpec(_Spec, frozen=True):
    skills: list[str] = msgspec.field(default_factory=list)  # folders with SKILL.md (or the file)
    files: list[FileEntry | str] = msgspec.field(default_factory=list)
    commands: list[str] = msgspec.field(default_factory=list)
    commandTimeout: Duration | None = None
    git: GitSpec | None = None
    mcpServers: dict[str, McpServerSpec] = msgspec.field(default_factory=dict)


class ExecutorRef(_Spec, frozen=True):
    name: str
    config: dict[str, Any] = msgspec.field(default_factory=dict)


class EvalConfig(_Spec, frozen=True):
    """`config:` (`defaults:` in later Vally versions)."""

    runs: int | None = None
    timeout: Duration | None = None
    model: str | None = None
    judge_model: str | None = None
    judge_reasoning_effort: str | None = None
    executor: str | ExecutorRef | None = None


class GraderEntry(_Spec, frozen=True):
    """A grader as written; its `config` is checked against the type's own fields later."""

    type: str
    name: str | None = None
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    weight: float | None = None  # harness: a weight beside the grader, over scoring.weights


class Constraints(_Spec, frozen=True):
    max_turns: int | None = None
    max_tokens: int | None = None
    expect_tools: list[str] = msgspec.field(default_factory=list)
    reject_tools: list[str] = msgspec.field(default_factory=list)


class Artifacts(_Spec, frozen=True):
    include: list[str] = msgspec.field(default_factory=list)
    exclude: list[str] = msgspec.field(default_factory=list)


TagValue = str | int | float | bool | list[str | int | float | bool]


class StimulusSpec(_Spec, frozen=True):
    name: str
    prompt: str
    description: str | None = None
    environment: EnvironmentSpec | str | None = None
    graders: list[GraderEntry] = msgspec.field(default_factory=list)
    rubric: Strings = msgspec.field(default_factory=list)
    constraints: Constraints | None = None
    artifacts: Artifacts | None = None
    tags: dict[str, TagValue] = msgspec.field(default_factory=dict)


class Scoring(_Spec, frozen=True):
    weights: dict[str, float] = msgspec.field(default_factory=dict)
    threshold: float | None = None


class EvalSpecFile(_Spec, frozen=True):
    stimuli: list[StimulusSpec]
    name: str | None = None
    description: str | None = None
    version: str | int | float | None = None
    type: Literal["capability", "regression"] | None = None
    environment: EnvironmentSpec | str | None = None
    config: EvalConfig | None = None
    defaults: EvalConfig | None = None
    tags: dict[str, TagValue] = msgspec.field(default_factory=dict)
    scoring: Scoring | None = None


# .vally.yaml and harness.yaml -------------------------------------------------------------


class Paths(_Spec, frozen=True):
    skills: Strings = "skills/"
    evals: Strings = "evals/"
    results: str = "results/"
    evalFilenames: Strings = msgspec.field(default_factory=lambda: ["eval.yaml", "eval.yml"])


class Suite(_Spec, frozen=True):
    description: str | None = None
    filter: dict[str, TagValue] = msgspec.field(default_factory=dict)
    evals: list[str] = msgspec.field(default_factory=list)


class ExecutorSpec(_Spec, frozen=True):
    """harness: an agent program that plays a Vally executor."""

    command: list[str]
    env: dict[str, str] = msgspec.field(default_factory=dict)
    cwd: str | None = None


class JudgeSpec(_Spec, frozen=True):
    """harness: the command Vally's LLM graders ask (see harness.grading.vally.judges)."""

    command: str | list[str]
    timeout: Duration = "120s"


class ProjectFile(_Spec, frozen=True):
    """`.vally.yaml`: Vally's keys, then harness's `executors` and `judge`."""

    paths: Paths | None = None
    suites: dict[str, Suite] = msgspec.field(default_factory=dict)
    environments: dict[str, EnvironmentSpec] = msgspec.field(default_factory=dict)
    executors: dict[str, ExecutorSpec] = msgspec.field(default_factory=dict)
    judge: JudgeSpec | None = None


class HarnessFile(_Spec, frozen=True):
    """`harness.yaml` beside `.vally.yaml`: what harness adds to a Vally project."""

    executors: dict[str, ExecutorSpec] = msgspec.field(default_factory=dict)
    judge: JudgeSpec | None = None


# The experiment file ----------------------------------------------------------------------


class Variant(_Spec, frozen=True):
    overrides: dict[str, Any] = msgspec.field(default_factory=dict)
    description: str | None = None


class Axis(_Spec, frozen=True):
    path: str  # a JSON pointer into the resolved config, `/defaults/model`
    values: dict[str, Any] | list[Any]  # label -> value, or values labelled by themselves


class ExperimentFile(_Spec, frozen=True):
    name: str
    evals: list[str]
    baseline: str | dict[str, str]
    vary: list[str] | None = None
    variants: dict[str, Variant] | None = None
    matrix: dict[str, Axis] | None = None
    description: str | None = None
