"""Where this harness was installed from, as the `pip install` line a CI workflow needs to get
the same one: a git URL and commit (from pip's record of the install, or from the checkout an
editable install points at), else the local path, which only that machine can use."""

from __future__ import annotations

import configparser
import importlib.metadata
import json
from dataclasses import dataclass
from pathlib import Path

import harness
from harness.storage.fingerprint import git_sha


@dataclass(frozen=True)
class InstallSource:
    requirement: str  # what `pip install` gets, quoted for a shell
    portable: bool  # False: a local path, which CI on another machine does not have


def install_source() -> InstallSource:
    recorded = _direct_url()
    if isinstance(recorded, dict):
        vcs = recorded.get("vcs_info")
        if isinstance(vcs, dict) and vcs.get("vcs") == "git":
            return _git(str(recorded.get("url")), vcs.get("commit_id"))
    checkout = Path(harness.__file__).resolve().parent.parent
    origin = _origin_url(checkout)
    if origin is not None:
        return _git(origin, git_sha(checkout))
    return InstallSource(f'"{checkout}"', portable=False)


def _git(url: str, commit: object) -> InstallSource:
    url = url.removeprefix("git+")
    pin = f"@{commit}" if isinstance(commit, str) and commit else ""
    return InstallSource(f'"harness @ git+{url}{pin}"', portable=True)


def _direct_url() -> object:
    try:
        text = importlib.metadata.distribution("harness").read_text("direct_url.json")
        return json.loads(text) if text else None
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None


def _origin_url(checkout: Path) -> str | None:
    """The `origin` remote of the git checkout at `checkout`, when it has one."""
    git_dir = checkout / ".git"
    if git_dir.is_file():  # a worktree: "gitdir: .../worktrees/NAME"; its config is shared
        text = git_dir.read_text("utf-8", errors="replace").strip().removeprefix("gitdir:").strip()
        git_dir = (checkout / text).resolve()
        common = git_dir / "commondir"
        if common.is_file():
            git_dir = (git_dir / common.read_text("utf-8").strip()).resolve()
    config = configparser.ConfigParser(strict=False)
    try:
        config.read(git_dir / "config", encoding="utf-8")
    except configparser.Error:
        return None
    url = config.get('remote "origin"', "url", fallback=None)
    if not url:
        return None
    if url.startswith("git@") and ":" in url:  # scp-like: git@github.com:owner/repo.git
        host, _, rest = url.removeprefix("git@").partition(":")
        url = f"https://{host}/{rest}"
    return url
