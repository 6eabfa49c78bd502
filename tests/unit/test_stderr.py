"""A live tool's stderr on the console (harness.tools.stderr): every line a tool writes is
prefixed with its name and carries no control character to the terminal; other writes pass
through untouched."""

from __future__ import annotations

import io
import sys
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.tools.stderr import (
    SHOWN_LINES,
    ToolStderr,
    enter_tool_thread,
    running_tool,
    show_tool_stderr,
)


def written(*writes: tuple[str | None, str]) -> str:
    target = io.StringIO()
    stream = ToolStderr(target)
    for tool, text in writes:
        if tool is None:
            stream.write(text)
        else:
            with running_tool(tool):
                stream.write(text)
    return target.getvalue()


def test_lines_are_prefixed_once_even_when_written_in_pieces() -> None:
    out = written(("t", "one\ntw"), ("t", "o\n"), (None, "harness\n"), ("u", "x\r\ny"))
    assert out == "[tool t] one\n[tool t] two\nharness\n[tool u] x\n[tool u] y"


def test_control_characters_are_escaped_tabs_kept() -> None:
    out = written(("t", "\x1b[31mred\tok\x07\x9b\n"))
    assert out == "[tool t] \\x1b[31mred\tok\\x07\\x9b\n"


def test_a_thread_writes_as_the_tool_it_runs() -> None:
    target = io.StringIO()
    stream = ToolStderr(target)

    def work() -> None:
        enter_tool_thread("sync")
        stream.write("from the thread\n")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    stream.write("harness's own\n")
    assert target.getvalue() == "[tool sync] from the thread\nharness's own\n"


@given(st.text())
def test_whatever_a_tool_writes_every_line_is_its_own_and_safe(text: str) -> None:
    out = written(("t", text))
    for line in out.splitlines():
        assert line.startswith("[tool t] ")
        assert not any((ord(c) < 0x20 and c != "\t") or 0x7F <= ord(c) <= 0x9F for c in line)


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
