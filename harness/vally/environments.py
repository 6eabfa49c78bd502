"""Vally's `environment` blocks resolved against the file that writes them: files, skills and git
sources made absolute (a missing one is a load error at its line), setup durations parsed, MCP
servers checked; and a stimulus's environment merged over the root one as Vally merges them."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from harness.config import containment
from harness.config.paths import PathEscapeError, check_relative
from harness.config.yaml_source import Document, Problems
from harness.grading.vally.metrics import parse_duration
from harness.vally.model import Environment, Git, McpServer, Skill
from harness.vally.spec import EnvironmentSpec, FileEntry

_FRONTMATTER_NAME = re.compile(r"\A---\s*\n(?:.*\n)*?name:\s*[\"']?([^\"'\n]+?)[\"']?\s*\n", re.M)


@dataclass(frozen=True)
class Where:
    """Where an environment was written: problems are reported at `path` in `document`."""

    document: Document
    path: str  # JSON path of the environment block, `$.stimuli[2].environment`
    base_dir: Path  # relative paths resolve against this folder
    problems: Problems
    warnings: list[str]

    def error(self, message: str, field: str) -> None:
        self.problems.add(self.document.error(message, f"{self.path}.{field}"))

    def outside(self, path: Path, kind: str) -> str | None:
        """Why `path` may not be used: it resolves outside the spec's project (the git work
        tree that holds it, else its folder: harness.config.containment); None if inside."""
        project = containment.Project.of_suite(self.base_dir)
        return project.escape_message(kind, path) if project.outside(path) else None

    def warn(self, message: str, field: str) -> None:
        self.warnings.append(self.document.error(message, f"{self.path}.{field}").render())


def resolve(spec: EnvironmentSpec, where: Where) -> Environment:
    """The environment with its paths absolute and checked."""
    timeout = None
    if spec.commandTimeout is not None:
        timeout = duration_seconds(spec.commandTimeout, where, "commandTimeout")
    return Environment(
        files=tuple(_files(spec, where)),
        commands=tuple(spec.commands),
        git=_git(spec, where),
        skills=tuple(_skills(spec, where)) if spec.skills else None,
        mcp_servers=tuple(_servers(spec, where)),
        command_timeout_seconds=timeout,
    )


def duration_seconds(value: str | int | float, where: Where, field: str) -> float | None:
    """Seconds in a Vally duration. A bare number is read as seconds, with a warning: Vally's
    reference requires a unit, while its own guide writes `timeout: 120 # Seconds`."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value <= 0:
            where.error(f"must be a positive duration, got {value}", field)
            return None
        where.warn(f"{value} has no unit; read as {value}s (write {value}s to be explicit)", field)
        return float(value)
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        where.error(str(exc), field)
        return None
    if seconds <= 0:
        where.error(f"must be a positive duration, got {value!r}", field)
    return seconds


def _files(spec: EnvironmentSpec, where: Where) -> list[tuple[Path, str]]:
    files = []
    for i, entry in enumerate(spec.files):
        item = FileEntry(src=entry) if isinstance(entry, str) else entry
        source = Path(os.path.abspath(where.base_dir / item.src))
        dest = item.dest if item.dest is not None else source.name
        if not source.exists():
            where.error(
                f"{item.src!r} not found (relative to {where.document.shown})", f"files[{i}].src"
            )
        elif (outside := where.outside(source, "file")) is not None:
            where.error(outside, f"files[{i}].src")
        try:
            check_relative(dest)
        except PathEscapeError as exc:
            where.error(str(exc), f"files[{i}].dest")
        files.append((source, dest))
    return files


def _skills(spec: EnvironmentSpec, where: Where) -> list[Skill]:
    skills = []
    for i, entry in enumerate(spec.skills):
        folder = Path(os.path.abspath(where.base_dir / entry))
        if (outside := where.outside(folder, "skill")) is not None:
            where.error(outside, f"skills[{i}]")
            continue
        skill = skill_at(folder)
        if isinstance(skill, str):
            where.error(skill, f"skills[{i}]")
        else:
            skills.append(skill)
    return skills


def skill_at(path: Path) -> Skill | str:
    """The skill in `path` (a folder holding SKILL.md, or the SKILL.md file), or what is wrong."""
    folder = path.parent if path.name == "SKILL.md" else path
    if not folder.is_dir():
        return f"skill folder {path} not found"
    manifest = folder / "SKILL.md"
    if not manifest.is_file():
        return f"{folder} has no SKILL.md"
    found = _FRONTMATTER_NAME.match(manifest.read_text(encoding="utf-8", errors="replace"))
    return Skill(name=found[1].strip() if found else folder.name, folder=folder)


def skills_in(folder: Path) -> list[Skill] | str:
    """`--skill-dir`: the folder itself when it holds SKILL.md, else each sub-folder that does."""
    if not folder.is_dir():
        return f"--skill-dir {folder}: not a folder"
    own = skill_at(folder)
    if isinstance(own, Skill):
        return [own]
    found = [skill_at(sub) for sub in sorted(folder.iterdir()) if (sub / "SKILL.md").is_file()]
    skills = [skill for skill in found if isinstance(skill, Skill)]
    return skills or f"--skill-dir {folder}: no SKILL.md in it or in its sub-folders"


def _git(spec: EnvironmentSpec, where: Where) -> Git | None:
    git = spec.git
    if git is None:
        return None
    location = git.source or git.url
    if location is None:
        where.error("give `source` (a local repository) or, to clone, `url`", "git")
        return None
    if git.type == "worktree" and git.source is None:
        where.error("a worktree needs `source`: a local repository", "git.source")
        return None
    if git.source is not None:
        location = os.path.abspath(where.base_dir / git.source)
        if (outside := where.outside(Path(location), "git source")) is not None:
            where.error(outside, "git.source")
        elif not (Path(location) / ".git").exists():
            where.error(f"{git.source!r} is not a git repository", "git.source")
    return Git(git.type, location, git.ref, git.shallow, tuple(git.sparse))


def _servers(spec: EnvironmentSpec, where: Where) -> list[McpServer]:
    servers = []
    for name, server in spec.mcpServers.items():
        if not server.command.strip():
            where.error("must name the server's program", f"mcpServers.{name}.command")
            continue
        command = server.command
        beside = where.base_dir / command
        if not os.path.isabs(command) and os.sep in command and beside.exists():
            command = os.path.abspath(beside)
        cwd = Path(os.path.abspath(where.base_dir / server.cwd)) if server.cwd else None
        tools = None if server.tools is None or "*" in server.tools else tuple(server.tools)
        timeout = server.timeout if server.timeout is not None else 30_000
        servers.append(McpServer(name, (command, *server.args), server.env, cwd, tools, timeout))
    return servers


def merge(root: Environment, own: Environment | None) -> Environment:
    """A stimulus's environment over the root one: files and commands concatenate (root
    first, so the stimulus's files win a shared destination), skills are a union, the
    stimulus's git and command timeout win, MCP servers merge by name."""
    if own is None:
        return root
    skills = None
    if root.skills is not None or own.skills is not None:
        union = {skill.folder: skill for skill in (*(root.skills or ()), *(own.skills or ()))}
        skills = tuple(union.values())
    servers = {server.name: server for server in (*root.mcp_servers, *own.mcp_servers)}
    return Environment(
        files=(*root.files, *own.files),
        commands=(*root.commands, *own.commands),
        command_timeout_seconds=own.command_timeout_seconds or root.command_timeout_seconds,
        git=own.git or root.git,
        skills=skills,
        mcp_servers=tuple(servers.values()),
    )
