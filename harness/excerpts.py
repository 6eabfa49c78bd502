"""Agent-produced text made fit to show: cut to a length for people to read (evidence,
excerpts, tails), redacted first, whole, then cut; and stripped of what drives a terminal.

Redaction recognises a secret whole: cut first, and the 40 characters of a key left before the
cut are no longer that key, so they would reach results, reports and the console. Every place
that shortens text an agent, a tool or a grader command produced goes through `cut` (or
`cut_tail`), which applies the redaction in scope first.

The run's redaction is put in scope once, around everything the run does (`redacting`, in
harness.execute.run); it is a ContextVar, so every task and worker thread of the run sees it
and two runs in one process never see each other's. Outside a run nothing is in scope and
`cut` only cuts: what it is given there (a stored result) was redacted when it was written.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar

Redact = Callable[[str], str]

ELLIPSIS = "..."
# How far past a cut a secret may reach and still be seen whole: text is redacted over this
# much beyond the cut before it is cut (an environment secret longer than this is not one).
WINDOW_CHARS = 64 * 1024

_in_scope: ContextVar[Redact | None] = ContextVar("harness_redact", default=None)


@contextlib.contextmanager
def redacting(redact: Redact) -> Iterator[None]:
    """Everything run in this block (its tasks and worker threads too) cuts with `redact`."""
    token = _in_scope.set(redact)
    try:
        yield
    finally:
        _in_scope.reset(token)


def redact(text: str) -> str:
    """`text` through the redaction in scope (unchanged when there is none)."""
    redactor = _in_scope.get()
    return text if redactor is None else redactor(text)


def cut(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """The start of `text`, at most `limit` characters with `ellipsis`, redacted first."""
    text = redact(text[: limit + WINDOW_CHARS])
    if len(text) <= limit:
        return text
    return text[: max(limit - len(ellipsis), 0)] + ellipsis


def cut_tail(text: str, limit: int) -> str:
    """The end of `text`, at most `limit` characters, redacted first."""
    return redact(text[-(limit + WINDOW_CHARS) :])[-limit:]


def cut_bytes(data: bytes, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """`cut` of bytes decoded as UTF-8 (bad bytes replaced), reading no more than it needs."""
    return cut(data[: (limit + WINDOW_CHARS) * 4].decode("utf-8", "replace"), limit, ellipsis)


# What drives a terminal rather than shows on it: C0 controls but tab and newline (ESC starts
# escape sequences, BEL rings, CR overwrites the line), DEL, C1 controls, and the
# bidirectional overrides and isolates that reorder what is shown ("Trojan Source").
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def for_terminal(text: str) -> str:
    """`text` fit to show on a terminal: each control character replaced by U+FFFD."""
    return _TERMINAL_UNSAFE.sub("\ufffd", text)
