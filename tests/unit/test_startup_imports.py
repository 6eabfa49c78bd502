"""What `harness run` imports before its first agent starts: modules a plain suite never uses
stay out (each costs milliseconds of a serial start-up). (The entry-point scan that lets
importlib.metadata stay unimported is tested in test_catalogue.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Loaded only by the features that need them: a json_schema grader, a grader plugin
# installed as an entry point, the reports written at the end of a run.
UNUSED_BEFORE_FIRST_SPAWN = (
    "jsonschema_rs",
    "importlib.metadata",
    "email",
    "zipfile",
    "csv",
    "xml.etree.ElementTree",
    # the model proxy: only suites with `model_proxy:` start it
    "harness.proxy",
    "h11",
    "httpx",
)

PLAIN_SUITE = """\
suite_name: plain
agent_command: [python3, agent.py]
mode: replay
cases_path: cases
tool_registry: [lookup]
assertions:
  - type: required_fields
    fields: [results]
"""

PROBE = """\
import json, sys
from harness.cli import app
import harness.cli.run
from harness.api import RunOptions, prepare_run
prepare_run(RunOptions(suite=sys.argv[1]))
print(json.dumps(sorted(sys.modules)))
"""

# ... nor, by the end of a plain run, what only sweeps, paired tests, Assay configs or other
# report kinds use.
UNUSED_IN_A_PLAIN_RUN = (
    *(name for name in UNUSED_BEFORE_FIRST_SPAWN if name != "xml.etree.ElementTree"),  # junit
    "harness.assay",
    "harness.grading.assay",
    "harness.vally",
    "harness.grading.vally",
    "harness.aggregate.stats",
    "harness.aggregate.sweep",
    "harness.reports.sweep",
    "harness.gate.paired",
    "harness.reports.html",
    "harness.reports.markdown",
    "harness.reports.sarif",
    "fractions",
    # `harness serve` and its extra (starlette, uvicorn)
    "harness.serve",
    "starlette",
    "uvicorn",
)

AGENT = """\
import json, sys
sys.stdin.readline()
print(json.dumps({"type": "final_output", "output": {"results": []}}), flush=True)
"""

RUN_PROBE = """\
import json, sys
from pathlib import Path
from harness.api import RunOptions, run
report = run(RunOptions(suite=sys.argv[1], output_dir=Path(sys.argv[2]), workers=1))
print(json.dumps({"exit_code": report.exit_code, "modules": sorted(sys.modules)}))
"""


def _plain_suite(root: Path) -> Path:
    suite = root / "plain"
    (suite / "cases").mkdir(parents=True)
    (suite / "suite.yaml").write_text(PLAIN_SUITE.replace("python3", sys.executable))
    (suite / "agent.py").write_text(AGENT)
    (suite / "cases" / "c1.yaml").write_text("id: c1\ninput: {calls: 1}\n")
    return suite


def _python(code: str, *args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, cwd=cwd
    )
    return done.stdout


def test_a_plain_run_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    suite = _plain_suite(tmp_path)
    loaded = set(json.loads(_python(PROBE, str(suite), cwd=tmp_path)))
    assert "harness.plan.load" in loaded  # the probe did load the suite
    assert sorted(loaded.intersection(UNUSED_BEFORE_FIRST_SPAWN)) == []

    found = json.loads(_python(RUN_PROBE, str(suite), str(tmp_path / "out"), cwd=tmp_path))
    assert found["exit_code"] == 0  # the run did run, and finished
    assert "harness.reports.junit" in found["modules"]
    assert sorted(set(found["modules"]).intersection(UNUSED_IN_A_PLAIN_RUN)) == []


CLI_PROBE = """\
import json, sys
import typer.main
from harness.cli.app import app
group = typer.main.get_command(app)
group.commands["run"]
before = sorted(sys.modules)
names = list(group.commands)
built = {name: type(group.commands[name]).__name__ for name in names}
print(json.dumps({"modules": before, "names": names, "built": built}))
"""


def test_harness_run_builds_and_imports_only_the_run_command() -> None:
    from harness.cli.commands import LATER, ORDER

    done = subprocess.run(
        [sys.executable, "-c", CLI_PROBE], capture_output=True, text=True, check=True
    )
    found = json.loads(done.stdout)
    modules = {module for module, _ in LATER.values()}
    assert sorted(modules.intersection(found["modules"])) == []
    assert found["names"] == list(ORDER)  # `harness --help` order, every command reachable
    assert found["built"]["baseline"] == found["built"]["assay"] == "WideHelpGroup"
    assert found["built"]["diff"] == found["built"]["run"] == "TyperCommand"
