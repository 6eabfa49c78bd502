"""Files harness writes keep the permissions an ordinary `open` would give them under the
user's umask: cassettes, junit.xml, summary.json and reports are shared, not private (they
were 0600 whatever the umask, because atomic writes start from mkstemp)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support.cli_runs import started
from tests.support.record_suites import call, case, live_suite


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_written_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    with started(tmp_path) as harness:
        suite = live_suite(
            harness.cwd / "rec",
            ["lookup"],
            {"lookup": {"backend": "python", "function": "tools:lookup"}},
            [case("c1", [call("lookup", key="k")])],
        )
        argv = harness.argv(suite, "--mode", "record", "-q", "--db", ":memory:")
        argv += ["--export-baseline", str(harness.cwd / "baseline.json")]
        done = subprocess.run(
            argv,
            cwd=harness.cwd,
            env=harness.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            preexec_fn=lambda: os.umask(umask),
        )
        assert done.returncode == 0, done.stdout + done.stderr
        [run_dir] = harness.run_dirs()
        written = [
            suite / "cassettes" / "c1.jsonl",
            run_dir / "run.json",
            run_dir / "summary.json",
            run_dir / "junit.xml",
            harness.cwd / "baseline.json",
        ]
        for path in written:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == 0o666 & ~umask, f"{path.name}: {oct(mode)}"
