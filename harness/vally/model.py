"""A Vally eval as loading settles it: paths absolute, environments merged, graders built and
weighted, durations in seconds. What the runner, `grade`, `lint` and `compare` consume."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config.schema import GraderSpec
from harness.vally.spec import Constraints

DEFAULT_TIMEOUT_SECONDS = 120.0  # Vally's default: 2m
DEFAULT_COMMAND_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Skill:
    name: str
    folder: Path  # holds SKILL.md; copied whole into the workspace


@dataclass(frozen=True)
class Git:
    type: str  # worktree | clone
    source: str  # a local repository path, or the clone url
    ref: str | None = None
    shallow: bool = False
    sparse: tuple[str, ...] = ()


@dataclass(frozen=True)
class McpServer:
    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    tools: tuple[str, ...] | None = None  # the allowlist; None: every tool offered
    start_timeout_ms: int = 30_000


@dataclass(frozen=True)
class Environment:
    """What a trial's workspace starts from, and the MCP servers its agent gets."""

    files: tuple[tuple[Path, str], ...] = ()  # (absolute source, destination in the workspace)
    commands: tuple[str, ...] = ()
    command_timeout_seconds: float | None = None  # None: not set (60 s)
    git: Git | None = None
    skills: tuple[Skill, ...] | None = None  # None: not set (the run's --skill-dir applies)
    mcp_servers: tuple[McpServer, ...] = ()


@dataclass(frozen=True)
class Stimulus:
    name: str
    prompt: str
    environment: Environment
    graders: tuple[GraderSpec, ...] = ()  # graded at eval (pairwise ones left out)
    pairwise: tuple[GraderSpec, ...] = ()  # graded by `compare`
    rubric: tuple[str, ...] = ()
    constraints: Constraints | None = None
    tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    description: str | None = None
    line: int = 1

    def payload(self) -> dict[str, Any]:
        """The stimulus as the agent and the graders see it."""
        return {
            "name": self.name,
            "prompt": self.prompt,
            "description": self.description,
            "rubric": list(self.rubric),
            "tags": {key: list(values) for key, values in self.tags.items()},
        }


@dataclass(frozen=True)
class EvalSpec:
    """One eval spec file, resolved."""

    name: str
    file: Path
    shown: str  # the file as messages name it
    stimuli: tuple[Stimulus, ...]
    runs: int = 1
    timeout_seconds: float | None = None  # config.timeout; None: not set (2m)
    model: str | None = None
    judge_model: str | None = None
    judge_reasoning_effort: str | None = None
    executor: str | None = None
    executor_config: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    weights: dict[str, float] = field(default_factory=dict)  # scoring.weights as written
    type: str | None = None
    description: str | None = None
    # The effective `defaults` and root `environment` as JSON: what experiments compare.
    resolved: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.file.parent
