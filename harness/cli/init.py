"""`harness init`: scaffold a working suite, run it once, print what to do next.

Writes `<path>/<suite>/` (suite.yaml, an agent in Python or Node, tools.py with live tools,
cases, schema.json), then `baselines/<suite>.json` beside `<path>` and
`.github/workflows/harness.yml` at the top of the git repository (where GitHub reads it; beside
`<path>` outside one), installing harness from where this one came from. `--template openai`
writes an agent on the official `openai` SDK instead, whose model calls go through the model
proxy, with cassettes holding its model and tool calls. The run is in auto mode: it records the
cassettes the scaffold lacks and replays the
rest, so a second `init` never rewrites a cassette. Existing files are kept unless `--force`.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from harness.errors import EXIT_OK, UsageError

LANGUAGES = ("python", "node")
TEMPLATES = ("support", "openai")
CASES = ("shipped_order", "unknown_order", "general_question")
# A Python agent is forked from a server that imported its modules once (docs/fork.md): the
# agent's framework (pydantic_ai, openai, ...) belongs in preload.
_FORK_PYTHON = (
    "agent_reuse: fork          # each case a fresh child of a server that imported preload\n"
    "preload: [harness.sdk]     # add your framework: [pydantic_ai, openai, httpx]\n"
)
_FORK_OPENAI = (
    "agent_reuse: fork               # each case a fresh child of a server that imported preload\n"
    "preload: [harness.sdk, openai]  # what the agent imports (the SDK takes ~0.5 s)\n"
)
_SETUP_NODE = '      - uses: actions/setup-node@v4\n        with:\n          node-version: "20"\n'


@dataclass
class Scaffold:
    """What `init` wrote and kept, for the summary it prints."""

    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def execute_init(
    path: Path, suite: str, language: str, *, force: bool, template: str = "support"
) -> int:
    """Scaffold, run once, report. Returns the run's exit code; bad input raises."""
    suite_dir, root = _check(path, suite, language)
    _check_template(template, language)
    scaffold = Scaffold()
    _write_suite(scaffold, suite_dir, suite, language, root, force=force, template=template)
    for written in scaffold.written:
        print(f"  wrote {_shown(written)}")
    for kept in scaffold.kept:
        print(f"  kept  {_shown(kept)} (exists; --force overwrites)")
    return _run_once(scaffold, suite_dir, suite, root, force=force, template=template)


def _check(path: Path, suite: str, language: str) -> tuple[Path, Path]:
    if language not in LANGUAGES:
        raise UsageError(f"--language {language!r}: use one of {', '.join(LANGUAGES)}")
    if language == "node" and shutil.which("node") is None:
        raise UsageError("--language node: `node` is not on PATH; install Node.js or use python")
    if not suite or suite in (".", "..") or any(c in suite for c in "/\\\0"):
        raise UsageError(f"--suite {suite!r}: use a plain folder name, e.g. demo")
    suite_dir = path / suite
    if suite_dir.exists() and not suite_dir.is_dir():
        raise UsageError(f"{suite_dir}: exists and is not a folder")
    return suite_dir, path.absolute().parent


def _check_template(template: str, language: str) -> None:
    if template not in TEMPLATES:
        raise UsageError(f"--template {template!r}: use one of {', '.join(TEMPLATES)}")
    if template == "openai":
        if language != "python":
            raise UsageError("--template openai: the agent is Python; leave out --language")
        # lazy: only this template needs to know
        import importlib.util

        if importlib.util.find_spec("openai") is None:
            raise UsageError("--template openai: the agent needs the SDK: `pip install openai`")


def repository_root(folder: Path) -> Path | None:
    """The git checkout `folder` is in: GitHub reads workflows only at its top."""
    folder = folder.absolute()
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _write_suite(
    scaffold: Scaffold,
    suite_dir: Path,
    suite: str,
    language: str,
    root: Path,
    *,
    force: bool,
    template: str = "support",
) -> None:
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.cli.install_source import install_source

    baseline = root / "baselines" / f"{suite}.json"
    # The workflow runs at the repository's top, so its paths are relative to that.
    top = repository_root(root) or root
    source = install_source()
    if not source.portable:
        print(
            f"note: the workflow installs harness from {source.requirement}, which only this "
            "machine has; point its `pip install` at harness's git URL"
        )
    values = {
        "__SUITE__": suite,
        "__SUITE_PATH__": _relative(suite_dir, top),  # in comments, read from the top
        "__WORKFLOW_SUITE_PATH__": _relative(suite_dir, top),
        "__WORKFLOW_BASELINE_PATH__": _relative(baseline, top),
        "__INSTALL__": source.requirement,
        "__AGENT_COMMAND__": _agent_command(language),
        "__AGENT_REUSE__": _agent_reuse(language, template),
        "__BASELINE_PATH__": _relative(baseline, root),
        "__SETUP_NODE__": _SETUP_NODE if language == "node" else "",
        "__EXTRA_PACKAGES__": " openai" if template == "openai" else "",
    }
    agent = (
        ("agent.py", "agent/agent.py") if language == "python" else ("agent.js", "agent/agent.js")
    )
    files = [
        ("suite.yaml", "suite.yaml"),
        ("tools.py", "tools.py"),
        ("schema.json", "schema.json"),
        agent,
        *((f"cases/{name}.yaml", f"cases/{name}.yaml") for name in CASES),
    ]
    if template == "openai":
        files[0] = ("openai/suite.yaml", "suite.yaml")
        files[3] = ("openai/agent.py", "agent/agent.py")
        # Recorded model and tool calls: the first run replays them, offline and key-less.
        files += [(f"openai/cassettes/{name}.jsonl", f"cassettes/{name}.jsonl") for name in CASES]
    for name, target in files:
        _write(scaffold, suite_dir / target, _render(name, values), force=force)
    workflow = top / ".github" / "workflows" / "harness.yml"
    _write(scaffold, workflow, _render("workflow.yml", values), force=force)


def _render(name: str, values: dict[str, str]) -> str:
    text = (resources.files("harness") / "templates" / "init" / f"{name}.tmpl").read_text("utf-8")
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def _write(scaffold: Scaffold, path: Path, text: str, *, force: bool) -> None:
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.storage.atomic import atomic_write

    if path.exists() and not force:
        scaffold.kept.append(path)
        return
    atomic_write(path, text.encode("utf-8"))
    scaffold.written.append(path)


def _agent_reuse(language: str, template: str) -> str:
    if language != "python":
        return ""
    return _FORK_OPENAI if template == "openai" else _FORK_PYTHON


def _agent_command(language: str) -> str:
    if language == "node":
        return "[node, agent/agent.js]"
    # The agent imports harness.sdk: `{python}` is the interpreter running harness, which has
    # it, here and in CI alike, with no path of this machine in a committed file.
    return "[{python}, agent/agent.py]"


def _run_once(
    scaffold: Scaffold, suite_dir: Path, suite: str, root: Path, *, force: bool, template: str
) -> int:
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    import anyio

    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.api import RunOptions, run_suite
    from harness.gate.baseline import write_baseline

    print(f"Running {_shown(suite_dir)} once (auto: records missing cassettes, replays the rest)")
    report = anyio.run(run_suite, RunOptions(suite=suite_dir, mode="auto"))
    print(f"  {report.passed} of {len(report.results)} cases passed; run: {report.run_dir}")
    if report.exit_code != EXIT_OK:
        for result in report.results:
            for failure in result.failures[:1]:
                print(f"  {result.case_id}: {failure.type}: {failure.message}", file=sys.stderr)
        return report.exit_code
    baseline = root / "baselines" / f"{suite}.json"
    if force or not baseline.exists():
        write_baseline(baseline, report.summary)
        print(f"  wrote {_shown(baseline)} (the baseline CI gates against)")
    else:
        print(f"  kept  {_shown(baseline)}")
    if template == "openai":
        _next_steps_openai(suite_dir, baseline)
    else:
        _next_steps(suite_dir, baseline)
    return EXIT_OK


def _next_steps(suite_dir: Path, baseline: Path) -> None:
    shown = _shown(suite_dir)
    print("\nNext:")
    print(f"  harness run {shown}                   # replay: deterministic, no network")
    print(f"  harness run {shown} --mode record     # call tools.py again, rewrite cassettes")
    print(f"  harness run {shown} --mode auto       # record only calls the cassettes lack")
    print(f"  harness run {shown} --baseline {_shown(baseline)}   # gate as CI does")
    print(f"  edit {shown}/agent/ and {shown}/cases/, then replay to see what changed")


def _next_steps_openai(suite_dir: Path, baseline: Path) -> None:
    """The model is in the cassettes too: replay needs no key; recording calls OpenAI."""
    shown = _shown(suite_dir)
    key = "OPENAI_API_KEY=sk-..."
    print("\nNext:")
    print(f"  harness run {shown}        # replay model and tool calls: no network, no API key")
    print(f"  {key} harness run {shown} --mode record   # the real model and tools.py again")
    print(f"  {key} harness run {shown} --mode record --case {CASES[0]}   # re-record one case")
    print(f"  {key} harness run {shown} --mode auto     # record only calls the cassettes lack")
    print(f"  harness run {shown} --baseline {_shown(baseline)}   # gate as CI does (no key)")
    print(
        f"  edit {shown}/agent/ and {shown}/cases/, then replay: a changed prompt fails as "
        "model_miss, naming what changed"
    )
    print(
        "  another OpenAI-compatible server: HARNESS_UPSTREAM_OPENAI_BASE_URL=http://host/v1 "
        "(docs/model-cassettes.md)"
    )


def _relative(path: Path, root: Path) -> str:
    return os.path.relpath(path.absolute(), root)


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path.absolute())
    except ValueError:
        return str(path)
