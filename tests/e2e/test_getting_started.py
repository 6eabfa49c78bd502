"""docs/getting-started.md, run as written: every `$ command` in its console blocks, in order, in
one shell from an empty folder, and every file block written where its `<!-- file: PATH -->`
says, at the point it appears. A command must exit 0, or what its `# exit N` comment says."""

from __future__ import annotations

import re
import shlex
import subprocess

import yaml

from tests.support.cli_runs import REPO, Harness

DOC = REPO / "docs" / "getting-started.md"
_BLOCK = re.compile(
    r"(?:<!-- file: (?P<file>\S+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)\n```", re.S
)
_EXIT = re.compile(r"\s+# exit (\d+)$")


def walkthrough(doc: str) -> tuple[str, list[tuple[str, str]]]:
    """The doc as one bash script (files written, commands checked), and the files it writes."""
    lines = ['start="$PWD"']
    files = []
    for block in _BLOCK.finditer(doc):
        if block["file"]:
            files.append((block["file"], block["body"]))
            target = f'"$start"/{shlex.quote(block["file"])}'
            lines.append(f'mkdir -p "$(dirname {target})"')
            lines.append(f"cat > {target} <<'HARNESS_DOC_EOF'\n{block['body']}\nHARNESS_DOC_EOF")
        elif block["lang"] == "console":
            for line in block["body"].splitlines():
                if not line.startswith("$ "):
                    continue
                command = line[2:]
                expected = 0
                if found := _EXIT.search(command):
                    expected, command = int(found[1]), command[: found.start()]
                lines.append(f"doc_command={shlex.quote(command)}")
                lines.append('echo "$ $doc_command"')
                lines.append(command)
                lines.append(
                    f'code=$?; [ "$code" -eq {expected} ] || '
                    f'{{ echo "exit $code, the doc says {expected}: $doc_command"; exit 1; }}'
                )
    return "\n".join(lines) + "\n", files


def test_every_command_of_the_guide_works_as_written(harness: Harness) -> None:
    script, files = walkthrough(DOC.read_text(encoding="utf-8"))
    assert script.count("\ndoc_command=") >= 15 and len(files) >= 6
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=harness.cwd,
        env=harness.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-6000:]
    project = harness.cwd / "weather-agent"
    # What the guide says happened, happened.
    assert sorted(p.name for p in (project / "evals/weather/cassettes").iterdir()) == [
        "rainy_day.jsonl",
        "sunny_day.jsonl",
    ]
    assert (project / "baselines" / "weather.json").is_file()
    assert (project / "report.html").is_file() and (project / "reports" / "pr.md").is_file()
    assert "regressed (baseline: pass, now: fail)" in done.stdout
    assert "harness ci: exit 0 OK" in done.stderr
    for name, body in files:
        if name.endswith((".yaml", ".yml")):
            yaml.safe_load(body)  # every YAML block of the guide parses
