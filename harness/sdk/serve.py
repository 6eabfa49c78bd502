"""The agent side of the protocol for Python agents: `serve(handle)` runs `handle(task)` for each
task_start, in one process, for as long as the runner sends tasks (protocol 2, `multi_task`).

    from harness.sdk.serve import Task, serve

    def handle(task: Task) -> dict:
        reply = task.call("get_order", {"order_id": task.input["order"]})
        return {"status": reply.result["status"] if reply.ok else "unknown"}

    serve(handle)

`handle` sees one task and returns its output; it is the same function whether the runner keeps
the process or not. A raised exception is sent as task_error (the runner then starts a new
process), its traceback whole in `data.traceback` and on stderr, its last frame in `data.where`.
Stdlib only, so importing it adds nothing to the agent's start-up.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

HELLO = {"type": "hello", "protocol": 2, "capabilities": ["multi_task"]}


class ProtocolViolation(Exception):
    """The runner sent something this agent cannot follow (a bug on one side or the other)."""


@dataclass(frozen=True)
class ToolReply:
    ok: bool
    result: Any
    error: str | None


@dataclass
class Task:
    """One task_start, and the calls its handler makes."""

    task_id: str
    input: Any
    model: str | None
    trial: int | None
    seed: int | None
    _io: _Lines = field(repr=False)
    _calls: int = 0

    def call(self, name: str, args: dict[str, Any] | None = None) -> ToolReply:
        """Call a tool and wait for its result."""
        self._calls += 1
        call_id = f"{self.task_id}-{self._calls}"
        self._io.send({"type": "tool_call", "name": name, "call_id": call_id, "args": args or {}})
        reply = self._io.receive()
        if reply is None:
            raise ProtocolViolation(f"stdin closed while waiting for the result of {call_id}")
        if reply.get("type") != "tool_result" or reply.get("call_id") != call_id:
            raise ProtocolViolation(f"expected the tool_result of {call_id}, got {reply!r}")
        return ToolReply(bool(reply.get("ok")), reply.get("result"), reply.get("error"))

    def log(self, message: str, level: str = "info", data: Any = None) -> None:
        line: dict[str, Any] = {"type": "log", "level": level, "message": message}
        if data is not None:
            line["data"] = data
        self._io.send(line)

    def usage(
        self,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
        cost_usd: float | None = None,
    ) -> None:
        figures = {"tokens_in": tokens_in, "tokens_out": tokens_out, "cost_usd": cost_usd}
        self._io.send({"type": "usage", **{k: v for k, v in figures.items() if v is not None}})


class _Lines:
    """JSON lines over the process's stdin and stdout."""

    def __init__(self, stdin: BinaryIO, stdout: BinaryIO) -> None:
        self.stdin = stdin
        self.stdout = stdout

    def send(self, message: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")
        self.stdout.flush()

    def receive(self) -> dict[str, Any] | None:
        """The next message, or None at end of file."""
        while True:
            line = self.stdin.readline()
            if not line:
                return None
            if line.strip():
                message = json.loads(line)
                if not isinstance(message, dict):
                    raise ProtocolViolation(f"expected a JSON object, got {line!r}")
                return message


def task_error(exc: BaseException) -> dict[str, Any]:
    """The task_error for `exc`: its traceback in `data` (whole, and the agent's last frame as
    `where`) and on stderr, where it lands in the attempt's stderr.log. The SDK's own frames
    around the agent's function are left out: they are the same in every agent."""
    tb = exc.__traceback__
    while tb is not None and _in_sdk(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    sys.stderr.write(text)
    sys.stderr.flush()
    data: dict[str, Any] = {"exception": type(exc).__name__, "traceback": text}
    frames = traceback.extract_tb(tb)
    theirs = [frame for frame in frames if not _in_sdk(frame.filename)]
    if frames:
        last = (theirs or frames)[-1]
        data["where"] = f"{_shown(last.filename)}:{last.lineno} in {last.name}"
    return {"type": "task_error", "message": f"{type(exc).__name__}: {exc}", "data": data}


_SDK_DIR = os.path.dirname(os.path.abspath(__file__))


def _in_sdk(filename: str) -> bool:
    return os.path.dirname(os.path.abspath(filename)) == _SDK_DIR


def _shown(filename: str) -> str:
    """A frame's file relative to the cwd when it is under it (as the agent's author reads it)."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive
        return filename
    return filename if relative.startswith(os.pardir) else relative


def serve(
    handle: Callable[[Task], Any],
    *,
    multi_task: bool = True,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
) -> int:
    """Serve tasks until stdin closes (or after one, with `multi_task=False`). Returns how many
    tasks were served. A handler's exception is reported as task_error and ends the process,
    as the runner discards it anyway."""
    io = _Lines(stdin or sys.stdin.buffer, stdout or sys.stdout.buffer)
    if multi_task:
        io.send(HELLO)
    served = 0
    while True:
        start = io.receive()
        if start is None:
            return served
        if start.get("type") != "task_start":
            raise ProtocolViolation(f"expected task_start, got {start!r}")
        task = Task(
            task_id=str(start.get("task_id")),
            input=start.get("input"),
            model=start.get("model"),
            trial=start.get("trial"),
            seed=start.get("seed"),
            _io=io,
        )
        try:
            output = handle(task)
        except Exception as exc:
            io.send(task_error(exc))
            return served
        io.send({"type": "final_output", "output": output})
        served += 1
        if not multi_task:
            return served
