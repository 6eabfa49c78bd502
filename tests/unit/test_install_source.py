"""The `pip install` line `harness init` writes into the workflow (harness.cli.install_source):
a git URL and commit CI can fetch, or, for a source only this machine has, the local one
marked as not portable. Checkouts are real git repositories."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.cli.install_source import InstallSource, source_for

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def checkout(folder: Path, origin: str | None) -> str:
    """A git repository at `folder` with one commit and the given origin; its commit."""
    folder.mkdir(parents=True)
    git(folder, "init", "-q")
    (folder / "pyproject.toml").write_text("[project]\nname = 'harness'\n")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "one")
    if origin is not None:
        git(folder, "remote", "add", "origin", origin)
    return git(folder, "rev-parse", "HEAD")


def test_an_editable_install_of_a_github_clone_is_its_url_at_its_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GITHUB_SHA names the commit of the repository CI checked out, never harness's.
    monkeypatch.setenv("GITHUB_SHA", "0" * 40)
    sha = checkout(tmp_path / "harness", "git@github.com:acme/harness.git")
    recorded = {"url": (tmp_path / "harness").as_uri(), "dir_info": {"editable": True}}
    assert source_for(recorded, tmp_path / "harness") == InstallSource(
        f'"harness @ git+https://github.com/acme/harness.git@{sha}"', portable=True
    )


def test_a_clone_whose_origin_is_a_path_on_this_machine_is_not_portable(tmp_path: Path) -> None:
    checkout(tmp_path / "upstream", None)
    sha = checkout(tmp_path / "work" / "clone", "../../upstream")
    source = source_for(None, tmp_path / "work" / "clone")
    upstream = (tmp_path / "upstream").as_uri()
    assert source == InstallSource(f'"harness @ git+{upstream}@{sha}"', portable=False)


def test_a_folder_without_git_is_its_path(tmp_path: Path) -> None:
    (tmp_path / "harness").mkdir()
    assert source_for(None, tmp_path / "harness") == InstallSource(
        f'"{tmp_path / "harness"}"', portable=False
    )


def test_pip_install_from_a_clone_reads_the_clone_not_site_packages(tmp_path: Path) -> None:
    sha = checkout(tmp_path / "src", "https://example.org/acme/harness")
    site = tmp_path / "venv" / "lib" / "site-packages"  # where `harness` is then imported from
    site.mkdir(parents=True)
    recorded = {"url": (tmp_path / "src").as_uri(), "dir_info": {}}
    assert source_for(recorded, site) == InstallSource(
        f'"harness @ git+https://example.org/acme/harness@{sha}"', portable=True
    )


@pytest.mark.parametrize(
    ("url", "portable"),
    [
        ("https://github.com/acme/harness", True),
        ("ssh://git@github.com/acme/harness", True),
        ("file:///srv/git/harness", False),
    ],
)
def test_pips_own_record_of_a_git_install(url: str, portable: bool, tmp_path: Path) -> None:
    recorded = {"url": url, "vcs_info": {"vcs": "git", "commit_id": "abc123"}}
    source = source_for(recorded, tmp_path)
    assert source == InstallSource(f'"harness @ git+{url}@abc123"', portable=portable)
