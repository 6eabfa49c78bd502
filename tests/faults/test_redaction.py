"""Environment secrets never reach disk or the console, whatever their characters and wherever
text is cut: redacted first, whole, in every encoding it is written in (raw, JSON-escaped,
XML-escaped), and only then truncated. See harness/excerpts.py and harness/cassette/redact.py.

The in-process properties try many secrets and cut points fast; `test_a_run_leaks_no_secret`
plants secrets in a real run, through an agent that prints them into each surface that cuts
(grader evidence, protocol excerpts, task errors, logs, a stderr line longer than 64 KiB, a
cassette miss), and reads every file the run and `harness report` write, and the console.
"""

from __future__ import annotations

import html
import json
import shutil
import tempfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.agent.session import StderrSink
from harness.cassette.redact import Redactor
from harness.cassette.secret_rules import encodings
from harness.excerpts import cut, cut_bytes, cut_tail, redacting
from harness.grading.verdict import shorten
from tests.support.cli_runs import REPO, Harness, command, started
from tests.support.files import write_suite

PIPE_READ = 64 * 1024
WINDOW = 8  # no run of this many consecutive characters of a secret may survive
ENV_NAME = "PROBE_API_KEY"  # a name redaction guesses is a secret's
LEAKY = REPO / "tests" / "faults" / "agents" / "leaky.py"

# Any character an environment value can hold (no NUL, no lone surrogate), the ones encoders
# escape far more often than by chance.
secret_chars = st.one_of(
    st.characters(codec="utf-8", exclude_characters="\x00"),
    st.sampled_from("\"\\&<>'\n\r\t\u2028é"),
)


def windows(secret: str, background: str = "") -> set[str]:
    """Every run of WINDOW characters of `secret` that `background` (text the output has
    anyway) does not already hold."""
    runs = {secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1)}
    return {run for run in runs if run not in background}


# A secret that is itself marker text ("[REDACTED:") cannot be told from the marker that
# replaces it (and one holding the whole of "[REDACTED" is never treated as a secret).
secrets = st.text(secret_chars, min_size=WINDOW, max_size=48).filter(
    lambda secret: not windows(secret) & windows("[REDACTED:")
)


def leaked(text: str, secret: str, background: str = "") -> set[str]:
    """The runs of `secret` in `text`, read as it is and decoded from JSON and XML escapes."""
    readings = [text, html.unescape(text)]
    for line in text.splitlines():
        try:
            readings.append(json.dumps(json.loads(line), ensure_ascii=False))
        except ValueError:
            continue
    return {run for run in windows(secret, background) if any(run in r for r in readings)}


def redactor_for(secret: str) -> Redactor:
    return Redactor(None, {ENV_NAME: secret})


@settings(max_examples=300, deadline=None)
@given(secret=secrets, before=st.text(max_size=300), limit=st.integers(1, 400))
@example(secret='sk"live\\key&value-0123456789', before="x" * 100, limit=117)
def test_a_cut_never_leaves_part_of_a_secret(secret: str, before: str, limit: int) -> None:
    redactor = redactor_for(secret)
    text = before + secret + "tail"
    with redacting(redactor.text):
        shown = [
            cut(text, limit),
            cut_tail(text, limit),
            cut_bytes(text.encode(), limit),
            shorten(text, limit),  # repr-escaped
            shorten({"output": text}, limit),  # JSON-escaped
        ]
    for piece in shown:
        assert not leaked(piece, secret, before + "tail"), (piece, secret)


@settings(max_examples=300, deadline=None)
@given(secret=secrets, before=st.text(max_size=30))
def test_every_encoding_of_a_secret_is_redacted(secret: str, before: str) -> None:
    redactor = redactor_for(secret)
    for form in encodings(secret):
        text = redactor.text(before + form + "!")
        assert form not in text, (form, text)
    dumped = msgspec.json.encode({"v": before + secret}).decode()
    assert not leaked(redactor.text(dumped), secret, before)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=secrets,
    split=st.integers(1, 47),
    pieces=st.lists(st.integers(1, 70_000), max_size=4),
)
def test_stderr_never_keeps_part_of_a_secret_split_across_pieces(
    tmp_path_factory: pytest.TempPathFactory, secret: str, split: int, pieces: list[int]
) -> None:
    """A line longer than 64 KiB is redacted in pieces (a pipe delivers 64 KiB a read); a
    secret across a piece boundary, or across a line break of its own, is still seen whole,
    in stderr.log and in its tail."""
    redactor = redactor_for(secret)
    head = "." * (PIPE_READ - min(split, len(secret) - 1))
    data = (head + secret + "." * 100 + "\n" + secret + "\nend\n").encode()
    log = tmp_path_factory.mktemp("stderr") / "stderr.log"
    sink = StderrSink(log, redact=redactor)
    start = 0
    for size in [len(head.encode()) + len(secret[:split].encode()), *pieces, len(data)]:
        sink.feed(data[start : start + size])
        start += size
    sink.close()
    kept = log.read_bytes().decode("utf-8", "surrogateescape")
    assert kept.endswith("end\n") and kept.count("\n") >= 3
    assert not leaked(kept, secret, "."), kept[-300:]
    assert not leaked(sink.tail(), secret, "."), sink.tail()


def probe_suite(root: Path, pads: list[int]) -> Path:
    """One case per surface that cuts text and pad length before the secret."""
    surfaces = {
        "evidence_json": [{"type": "must_contain", "must_contain": "never-there"}],
        "evidence_text": [{"type": "regex_match", "pattern": "^never-there$"}],
        "protocol": [],
        "task_error": [],
        "log": [],
        "stderr": [],
        "tool_args": [],
    }
    cases = [
        {
            "id": f"{surface}-{pad}",
            "cassette": "cassettes/probe.jsonl",
            "input": {"surface": surface, "pad": pad},
            "assertions": graders,
        }
        for surface, graders in surfaces.items()
        for pad in pads
    ]
    suite = write_suite(
        root,
        {
            "suite_name": "probe",
            "agent_command": ["python3", str(LEAKY)],
            "tool_registry": ["lookup"],
        },
        cases,
        {"cassettes/probe.jsonl": [{"tool": "lookup", "args": {"q": "x"}, "ok": True}]},
    )
    return suite


def run_output(harness: Harness, secret: str, pads: list[int]) -> str:
    """Everything a run of the probe suite and `harness report` write: files and console."""
    harness.env[ENV_NAME] = secret
    suite = probe_suite(harness.cwd / "suite", pads)
    run = harness.run(suite, "-v", "-j", "4", "--max-retries", "0")
    assert run.exit_code == 1, run.describe()
    report = command(harness, "report", str(run.dir))
    assert report.exit_code == 0, report.describe()
    texts = [run.stdout, run.stderr, report.stdout, report.stderr]
    files = [path for path in sorted(harness.out.rglob("*")) if path.is_file()]
    texts += [path.read_bytes().decode("utf-8", "surrogateescape") for path in files]
    shutil.rmtree(harness.out)
    return "\n".join(texts)


_control: dict[str, str] = {}


def background(harness: Harness, pads: list[int]) -> str:
    """What a run writes whatever the secret (names, dots, timestamps): a run with another
    secret. A run of the probed secret found there is not a leak."""
    key = repr(pads)
    if key not in _control:
        _control[key] = run_output(harness, "control-value-5f3a9c", pads)
    return _control[key]


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    secret=secrets,
    pads=st.lists(st.integers(0, 260), min_size=2, max_size=2, unique=True),
)
@example(secret='sk"live\\key&value<0123>456789', pads=[80, 180])
@example(secret="0000000\n", pads=[0, 1])  # the protocol line ends at the secret's own \n
def test_a_run_leaks_no_secret(secret: str, pads: list[int]) -> None:
    pads = sorted(pads)
    root = Path(tempfile.mkdtemp(prefix="harness-probe-"))
    try:
        with started(root) as harness:
            common = background(harness, pads)
            found = leaked(run_output(harness, secret, pads), secret, common)
            assert not found, (secret, found)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_live_tools_stderr_shows_no_secret(tmp_path: Path) -> None:
    """A live tool's stderr reaches the console ([tool NAME] lines): a Python tool that logs
    its key, whole and in pieces, from its worker thread, and a command tool that prints it."""
    secret = 'sk-live"probe\\0123456789abcdef'
    suite = write_suite(
        tmp_path / "suite",
        {
            "suite_name": "toolerr",
            "agent_command": ["python3", str(REPO / "tests" / "agents" / "script_agent.py")],
            "mode": "record",
            "tool_registry": ["lookup", "shell"],
            "tools": {
                "lookup": {"backend": "python", "function": "tools:lookup"},
                "shell": {
                    "backend": "command",
                    "command": ["sh", "-c", f'printf "key: %s\\n" "${ENV_NAME}" >&2; echo {{}}'],
                },
            },
        },
        [
            {
                "id": "c",
                "cassette": "cassettes/c.jsonl",
                "input": {
                    "steps": [
                        {"call": "lookup", "args": {"k": 1}},
                        {"call": "shell", "args": {}},
                        {"final": {}},
                    ]
                },
            }
        ],
    )
    (suite / "tools.py").write_text(
        "import os, sys\n"
        "def lookup(k):\n"
        f"    key = os.environ[{ENV_NAME!r}]\n"
        "    print('using', key, file=sys.stderr)\n"
        "    for piece in (key[:7], key[7:15], key[15:]):\n"
        "        sys.stderr.write(piece)\n"
        "    sys.stderr.write(' end\\n')\n"
        "    return {'k': k}\n",
        encoding="utf-8",
    )
    with started(tmp_path) as harness:
        harness.env[ENV_NAME] = secret
        run = harness.run(suite, "--db", ":memory:")
    assert run.exit_code == 0, run.describe()
    assert "[tool lookup] using [REDACTED" in run.stderr, run.stderr
    assert "[tool shell] key: [REDACTED" in run.stderr, run.stderr
    assert not leaked(run.stdout + run.stderr, secret, "[tool lookup] using end"), run.stderr
