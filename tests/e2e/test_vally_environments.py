"""Vally environments a trial starts from, built for real: a git worktree and a clone of a
local repository, skills from --skill-dir (and a missing one failing fast), and an agent whose
stderr tries to drive the terminal."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.cli_runs import Harness
from tests.support.vally_runs import PROJECT, by_stimulus, graders, latest, vally

SPEC = """\
name: repo
config: {{executor: py}}
stimuli:
  - name: worktree
    prompt: SAY checked out
    environment:
      git: {{type: worktree, source: {repo}, ref: v1}}
    graders:
      - type: file-contains
        config: {{path: README.md, value: version one}}
      - type: file-not-exists
        config: {{path: later.txt}}
  - name: clone
    prompt: |
      SKILL
      WRITE README.md: edited
    environment:
      git: {{type: clone, source: {repo}}}
    graders:
      - type: file-exists
        config: {{path: later.txt}}
      - type: diff-contains
        config: {{substring: "+edited"}}
      - type: skill-invocation
        config: {{required: [code-review]}}
      - type: file-contains
        config: {{path: from-work-dir.txt, value: seeded}}
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True,
        env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
             "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return done.stdout


def test_git_worktree_and_clone_with_skills_from_skill_dir(
    harness: Harness, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "README.md").write_text("version one\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-qm", "one")
    git(repo, "tag", "v1")
    (repo / "later.txt").write_text("two\n")
    git(repo, "add", "later.txt")
    git(repo, "commit", "-qm", "two")
    spec = tmp_path / "repo.eval.yaml"
    spec.write_text(SPEC.format(repo=repo))
    out, seed = tmp_path / "results", tmp_path / "seed"
    seed.mkdir()
    (seed / "from-work-dir.txt").write_text("seeded\n")
    run = vally(harness, "eval", "-e", str(spec), "--skill-dir", str(PROJECT / "skills"),
                "--work-dir", str(seed), "--output-dir", str(out))  # fmt: skip
    assert run.exit_code == 0, run.describe()
    found = by_stimulus(latest(out))
    assert graders(found["repo/worktree"])["file-contains"] == (
        True, "'version one' found in README.md",
    )  # fmt: skip
    clone = graders(found["repo/clone"])
    assert clone["file-contains"] == (True, "'seeded' found in from-work-dir.txt")
    assert clone["diff-contains"][0] is True
    assert clone["skill-invocation"][0] is True
    assert git(repo, "worktree", "list").count("\n") == 1  # the trial's worktree was pruned

    missing = vally(harness, "eval", "-e", str(spec), "--skill-dir", str(tmp_path / "none"))
    assert missing.exit_code == 2
    assert "not a folder" in missing.stderr


def test_agent_text_cannot_drive_the_terminal(harness: Harness, tmp_path: Path) -> None:
    agent = tmp_path / "hostile.sh"
    agent.write_text("#!/bin/sh\nread -r line\nprintf '\\033[2J\\033[31mboom\\r' >&2\nexit 3\n")
    out = tmp_path / "results"
    run = vally(harness, "eval", "-e", "evals/multi/eval.yaml", "--runs", "1",
                "--agent-command", f"sh {agent}", "--output-dir", str(out))  # fmt: skip
    assert run.exit_code == 0, run.describe()  # agent failures fail stimuli, not the run
    assert "\x1b" not in run.stdout
    assert "\\x1b[2J\\x1b[31mboom" in run.stdout
    assert "error: agent_exited" in run.stdout
