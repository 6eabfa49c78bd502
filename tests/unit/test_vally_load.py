"""Loading Vally eval specs (harness.vally.load and .select): errors at file:line, Vally's
tolerance of unknown keys outside graders (a warning), `defaults` as `config`, named and merged
environments, tags, durations, derived grader names and weights."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.config.yaml_source import Problems
from harness.errors import ConfigError, UsageError
from harness.grading.verdict import tag_of
from harness.vally.load import Loader, default_name, tag_values
from harness.vally.model import EvalSpec
from harness.vally.project import load_project
from harness.vally.select import select_evals


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load(path: Path) -> tuple[EvalSpec | None, list[str], Problems]:
    problems, warnings = Problems(), list[str]()
    spec = Loader(load_project(path.parent, problems), problems, warnings).load(path)
    return spec, warnings, problems


def test_a_spec_resolves_with_defaults_named_environment_and_merges(tmp_path: Path) -> None:
    write(tmp_path / "seed" / "a.txt", "a")
    write(
        tmp_path / ".vally.yaml",
        """
        environments:
          base:
            files: [{src: seed, dest: data}]
            commands: [echo root]
        """,
    )
    spec_file = write(
        tmp_path / "evals" / "auth" / "eval.yaml",
        """
        defaults: {runs: 3, timeout: 90, model: m, executor: {name: py, config: {k: 1}}}
        environment: base
        tags: {priority: p0, area: [a, b]}
        stimuli:
          - name: s1
            prompt: p
            rubric: one criterion
            tags: {priority: p1, fast: true}
            environment: {commands: [echo own], commandTimeout: 5s}
            constraints: {max_tokens: 10, expect_tools: [x]}
            graders:
              - type: file-exists
                config: {path: a}
              - type: file-exists
                config: {path: b}
        scoring: {weights: {"file-exists:a": 2.0, file-exists: 0.5}, threshold: 0.5}
        """,
    )
    loaded, warnings, problems = load(spec_file)
    assert problems.errors == []
    assert isinstance(loaded, EvalSpec)
    spec = loaded
    assert (spec.name, spec.runs, spec.model, spec.executor) == ("auth", 3, "m", "py")
    assert spec.executor_config == {"k": 1}
    assert spec.timeout_seconds == 90.0
    assert any("90 has no unit; read as 90s" in w for w in warnings)
    stimulus = spec.stimuli[0]
    assert stimulus.rubric == ("one criterion",)
    assert stimulus.tags == {"priority": ("p1",), "area": ("a", "b"), "fast": ("true",)}
    env = stimulus.environment
    assert env.commands == ("echo root", "echo own")
    assert env.command_timeout_seconds == 5.0
    assert env.files == ((tmp_path / "seed", "data"),)
    names = [(g.name, g.weight) for g in stimulus.graders]
    assert names[:2] == [("file-exists:a", 2.0), ("file-exists:b", 0.5)]
    assert [tag_of(g) for g in stimulus.graders[2:]] == ["tool-calls", "token-budget"]


def test_errors_name_file_line_and_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec_file = write(
        tmp_path / "e.eval.yaml",
        """
        config: {runs: -1, timeout: 2 minutes}
        defaults: {runs: 1}
        environment: nowhere
        stimuli:
          - name: a
            prompt: p
            graders:
              - type: output-contains
                config: {substring: 3}
              - type: tool-calls
                config: {}
        scoring: {threshold: 70}
        """,
    )
    _, _, problems = load(spec_file)
    rendered = [error.render() for error in problems.errors]
    assert "e.eval.yaml:3: defaults: give `defaults` or `config` (its older name), not both" in (
        rendered
    )
    unknown = "e.eval.yaml:4: environment: unknown environment 'nowhere'"
    assert any(r.startswith(unknown) for r in rendered)
    assert "e.eval.yaml:10: stimuli[0].graders[0].config.substring: expected `str`, got `int`" in (
        rendered
    )
    assert any("graders[1].config: give at least one of required" in r for r in rendered)
    assert any("scoring.threshold: must be between 0 and 1, got 70" in r for r in rendered)


def test_unknown_keys_warn_outside_graders_only(tmp_path: Path) -> None:
    spec_file = write(
        tmp_path / "eval.yaml",
        """
        stimuli:
          - name: a
            prompt: p
            expect_activation: false
            graders: [{type: exit-success, confg: {}}]
        """,
    )
    _, warnings, problems = load(spec_file)
    assert any("stimuli[0].expect_activation: unknown key, ignored" in w for w in warnings)
    assert any("graders[0].confg: unknown key" in e.render() for e in problems.errors)


def test_selection_by_suite_and_tags(tmp_path: Path) -> None:
    write(tmp_path / ".vally.yaml", "suites:\n  fast: {filter: {priority: p0}}\n")
    body = "stimuli:\n  - {name: a, prompt: p, tags: {priority: p0}}\n  - {name: b, prompt: p}\n"
    write(tmp_path / "evals" / "one" / "eval.yaml", body)
    chosen = select_evals([], suite="fast", tags=[], cwd=tmp_path)
    assert [s.name for e in chosen.evals for s in e.stimuli] == ["a"]
    with pytest.raises(UsageError, match="no stimulus matches"):
        select_evals([], suite=None, tags=["priority=p9"], cwd=tmp_path)
    with pytest.raises(UsageError, match="--suite cannot be combined"):
        select_evals([Path("x")], suite="fast", tags=[], cwd=tmp_path)
    with pytest.raises(ConfigError, match="unknown suite; known: fast"):
        select_evals([], suite="slow", tags=[], cwd=tmp_path)


def test_names_and_tags() -> None:
    assert default_name(Path("evals/auth/eval.yaml")) == "auth"
    assert default_name(Path("evals/search.eval.yaml")) == "search"
    assert tag_values({"a": [1, True], "b": "x"}) == {"a": ("1", "true"), "b": ("x",)}
