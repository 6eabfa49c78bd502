"""A live tool's stderr on the console (harness.tools.stderr): every line a tool writes is
prefixed with its name and carries no control character to the terminal; other writes pass
through untouched."""

from __future__ import annotations

import io
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.excerpts import for_terminal, redacting
from harness.tools.python import PythonBackend
from harness.tools.stderr import SHOWN_LINES, ToolStderr, running_tool, show_tool_stderr


def written(*writes: tuple[str | None, str]) -> str:
    target = io.StringIO()
    stream = ToolStderr(target)
    for tool, text in writes:
        if tool is None:
            stream.write(text)
        else:
            with running_tool(tool):
                stream.write(text)
                stream.release(tool)  # the call is over (running_tool does it for sys.stderr)
    return target.getvalue()


def test_a_secret_written_in_pieces_is_redacted_whole() -> None:
    secret = "sk-live-0123456789abcdef"
    target = io.StringIO()
    stream = ToolStderr(target)
    with redacting(lambda text: text.replace(secret, "[REDACTED]")), running_tool("t"):
        for piece in ("key=", secret[:10], secret[10:], " done\n", "tail ", secret):
            stream.write(piece)
        stream.release("t")
    assert target.getvalue() == "[tool t] key=[REDACTED] done\n[tool t] tail [REDACTED]"


def test_lines_are_prefixed_once_even_when_written_in_pieces() -> None:
    out = written(("t", "one\ntw"), ("t", "o\n"), (None, "harness\n"), ("u", "x\r\ny"))
    assert out == "[tool t] one\n[tool t] two\nharness\n[tool u] x\n[tool u] y"


def test_control_characters_are_replaced_tabs_kept() -> None:
    out = written(("t", "\x1b[31mred\tok\x07\x9b\n"))
    assert out == "[tool t] \ufffd[31mred\tok\ufffd\ufffd\n"


async def test_a_sync_tool_in_its_thread_writes_as_itself_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = io.StringIO()
    monkeypatch.setattr(sys, "stderr", target)

    def lookup(key: str) -> str:  # runs in a thread of its own
        print(f"using {key}", file=sys.stderr)
        return key

    with redacting(lambda text: text.replace("sk-live-123", "[redacted]")):
        assert await PythonBackend(lookup).call("lookup", {"key": "sk-live-123"}) == "sk-live-123"
    sys.stderr.write("harness's own\n")
    assert target.getvalue() == "[tool lookup] using [redacted]\nharness's own\n"


@given(st.text())
def test_whatever_a_tool_writes_every_line_is_its_own_and_safe(text: str) -> None:
    out = written(("t", text))
    for line in out.splitlines():
        assert line.startswith("[tool t] ")
        assert line == for_terminal(line)


def test_a_command_tools_stderr_shows_its_last_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    target = io.StringIO()
    monkeypatch.setattr(sys, "stderr", target)
    show_tool_stderr("cmd", "".join(f"line {i}\n" for i in range(SHOWN_LINES + 5)).encode())
    show_tool_stderr("cmd", b"\n  \n")  # nothing worth a line
    show_tool_stderr("cmd", b"no newline \xff")
    lines = target.getvalue().splitlines()
    assert lines[0] == "[tool cmd] (5 earlier lines not shown)"
    assert lines[1] == "[tool cmd] line 5"
    assert lines[SHOWN_LINES] == f"[tool cmd] line {SHOWN_LINES + 4}"
    assert lines[-1] == "[tool cmd] no newline \ufffd"
    assert len(lines) == SHOWN_LINES + 2
