"""Vally's executors as harness agents. `config.executor` names an entry of the `executors:`
map (`name: {command: [...], env: {...}}`) in .vally.yaml or harness.yaml; `--agent-command`
replaces it for the run. `mock` is built in (it answers with the prompt). Any program that
speaks harness's JSONL protocol is an executor: Python, Node, a shell script."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.agent.process import resolve_executable
from harness.attempt.spec import AgentSpec
from harness.errors import ConfigError, SpawnError
from harness.plan.build import agent_argv
from harness.vally.model import EvalSpec
from harness.vally.project import Project

MOCK = "mock"
VALLY_BUILT_INS = ("copilot-sdk", "claude-cli")
KILL_GRACE_SECONDS = 2.0
MAX_LINE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Executor:
    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None

    def agent(self, model: str | None, env: dict[str, str] | None) -> AgentSpec:
        """The agent to start for one model (`{model}` in the command filled in)."""
        return AgentSpec(
            argv=agent_argv(self.argv, model),
            cwd=self.cwd,
            env={**(env if env is not None else os.environ), **self.env},
            max_line_bytes=MAX_LINE_BYTES,
            grace_seconds=KILL_GRACE_SECONDS,
        )


def mock_executor() -> Executor:
    return Executor(MOCK, (sys.executable, "-m", "harness.vally.mock"))


def resolve_executor(spec: EvalSpec, project: Project, agent_command: str | None) -> Executor:
    """The executor an eval runs with.

    Raises:
        ConfigError: the executor is unknown (the known ones are listed), or its program is not
            found.
    """
    if agent_command is not None:
        argv = tuple(shlex.split(agent_command))
        if not argv:
            raise ConfigError(None, "--agent-command is empty; give the agent's command line")
        return _checked(Executor("--agent-command", argv), "--agent-command")
    name = spec.executor or _default_name(spec, project)
    defined = project.executors.get(name)
    if defined is not None:
        base = project.dir
        argv = tuple(_beside(base, part) for part in defined.command)
        cwd = Path(os.path.abspath(base / defined.cwd)) if defined.cwd else None
        where = project.executor_sources[name].shown
        return _checked(Executor(name, argv, dict(defined.env), cwd), f"{where}: executors.{name}")
    if name == MOCK:
        return mock_executor()
    raise ConfigError(spec.shown, _unknown(name, project), field="config.executor")


def _default_name(spec: EvalSpec, project: Project) -> str:
    if "copilot-sdk" in project.executors:
        return "copilot-sdk"  # Vally's default executor, when the project defines one
    if len(project.executors) == 1:
        return next(iter(project.executors))
    raise ConfigError(
        spec.shown,
        "no executor: set config.executor to one of "
        f"{_known(project)}, or pass --agent-command 'python3 agent.py'",
        field="config.executor",
    )


def _unknown(name: str, project: Project) -> str:
    built_in = ""
    if name in VALLY_BUILT_INS:
        built_in = (
            f"; {name} is Vally's built-in executor, harness runs agents as programs: define "
            f"`executors: {{{name}: {{command: [...]}}}}` in harness.yaml"
        )
    return f"unknown executor {name!r}; known: {_known(project)}{built_in}"


def _known(project: Project) -> str:
    return ", ".join([*sorted(project.executors), MOCK])


def _checked(executor: Executor, where: str) -> Executor:
    try:
        first = resolve_executable(executor.argv[0], cwd=executor.cwd)
    except SpawnError as exc:
        raise ConfigError(None, f"{where}: {exc.message}") from None
    return Executor(executor.name, (first, *executor.argv[1:]), executor.env, executor.cwd)


def _beside(base: Path, element: str) -> str:
    # As harness's agent_command: an element naming a file beside the project becomes absolute.
    if not element or os.path.isabs(element) or not (base / element).exists():
        return element
    return os.path.abspath(base / element)
