"""Where this harness was installed from, as the `pip install` line a CI workflow needs to get
the same one: a git URL and commit (from pip's record of the install, or from the checkout it
was installed from), else the local path or file URL, which only this machine can use."""

from __future__ import annotations

import configparser
import importlib.metadata
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import harness
from harness.storage.fingerprint import git_sha

# Schemes a CI machine can fetch from; anything else (a path, file://) is this machine's.
_REMOTE_SCHEMES = frozenset({"https", "http", "ssh", "git"})


@dataclass(frozen=True)
class InstallSource:
    requirement: str  # what `pip install` gets, quoted for a shell
    portable: bool  # False: a local path, which CI on another machine does not have


def install_source() -> InstallSource:
    return source_for(_direct_url(), Path(harness.__file__).resolve().parent.parent)


def source_for(recorded: object, package_parent: Path) -> InstallSource:
    """The install line for harness, given pip's direct_url.json record (None when harness was
    installed without one) and the folder holding the imported `harness` package."""
    checkout = package_parent
    if isinstance(recorded, dict) and isinstance(url := recorded.get("url"), str):
        vcs = recorded.get("vcs_info")
        if isinstance(vcs, dict) and vcs.get("vcs") == "git":
            return _git(url, vcs.get("commit_id"))
        if urlsplit(url).scheme == "file":  # `pip install [-e] /path`: that folder
            checkout = Path(url2pathname(urlsplit(url).path))
    origin = _origin_url(checkout)
    if origin is not None:
        return _git(origin, git_sha(checkout, ci_variables=False))
    return InstallSource(f'"{checkout}"', portable=False)


def _git(url: str, commit: object) -> InstallSource:
    url = url.removeprefix("git+")
    pin = f"@{commit}" if isinstance(commit, str) and commit else ""
    if urlsplit(url).scheme not in _REMOTE_SCHEMES:  # a clone of a clone on this machine
        url = Path(url2pathname(urlsplit(url).path)).absolute().as_uri()
        return InstallSource(f'"harness @ git+{url}{pin}"', portable=False)
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
    elif urlsplit(url).scheme not in (*_REMOTE_SCHEMES, "file"):  # a path, as git allows
        url = str((checkout / url).resolve())  # relative paths are from the checkout
    return url
