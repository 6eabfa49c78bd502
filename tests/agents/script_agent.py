"""A test agent that does exactly what its task input says, so tests can make it misbehave.

The task input is `{"steps": [step, ...]}`; steps run in order, each a one-key-ish object:

    {"call": "tool", "args": {...}}        send tool_call, wait for its tool_result
        optional: "call_id": any (default "c<n>"), "expect_result": any (task_error on mismatch)
    {"calls": [{"call": ..., "args": ...}, ...]}   pipeline: send all calls, then read all results
    {"final": {...}}                       send final_output (optional "usage": {...} beside it)
    {"final_from_results": true}           final_output {"results": [...], "errors": [...]}
    {"final_from_task": true}              final_output {"task": <the task_start message>}
    {"final_pid": true}                    final_output {"pid": <this process's id>}
    {"usage": {"tokens_out": 5, ...}}      send a usage message
    {"log": "msg"}                         send a log message (optional "level")
    {"task_error": "msg"}                  send task_error
    {"raw": <any JSON>}                    send any JSON value as one line
    {"print": "text"}                      write a raw stdout line
    {"big_line": n}                        write a valid log message line of about n bytes
    {"stderr": "text"}                     write a line to stderr (optional "repeat": n)
    {"sleep": seconds}
    {"exit": code}                         exit now (no final_output unless sent before)
    {"ignore_sigterm": true}               ignore SIGTERM from now on
    {"spawn_child_sleep": seconds}         start a grandchild that sleeps holding our stdout

With AGENT_MULTI_TASK=1 in its environment it speaks protocol 2: it says hello with the
multi_task capability first, then serves one task_start after another until stdin closes (a task
whose steps end without final_output or task_error still ends the process, as in protocol 1).

Extra command-line arguments are ignored; tests pass `--marker <unique>` to find the process
with psutil. Grandchildren carry the marker (argv `--marker`, else env SCRIPT_AGENT_MARKER) in
their own command line. When the steps run out, the agent exits 0. Stdlib only, so it starts fast.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, NoReturn

_CHILD_CODE = "import sys, time; time.sleep(float(sys.argv[1]))"


class Agent:
    def __init__(self, task: dict[str, Any]) -> None:
        self.task = task
        self.results: list[Any] = []
        self.errors: list[Any] = []
        self.next_call = 0
        self.finished = False  # final_output or task_error sent

    def send(self, message: Any) -> None:
        # Raw non-ASCII on purpose (U+2028 included): the runner must split on b"\n" only.
        self.write_line(json.dumps(message, ensure_ascii=False).encode("utf-8"))

    def write_line(self, data: bytes) -> None:
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.buffer.flush()

    def send_call(self, step: dict[str, Any]) -> Any:
        self.next_call += 1
        call_id = step.get("call_id", f"c{self.next_call}")
        self.send(
            {"type": "tool_call", "name": step["call"], "call_id": call_id, "args": step["args"]}
        )
        return call_id

    def read_result(self, call_id: Any, step: dict[str, Any]) -> None:
        line = sys.stdin.buffer.readline()
        if not line:
            fail(f"stdin closed while waiting for the result of {call_id!r}")
        message = json.loads(line.decode("utf-8"))
        if message.get("type") != "tool_result" or message.get("call_id") != call_id:
            fail(f"expected tool_result for {call_id!r}, got {line!r}")
        self.results.append(message.get("result"))
        if not message.get("ok"):
            self.errors.append(message.get("error"))
        if "expect_result" in step and message.get("result") != step["expect_result"]:
            self.send({"type": "task_error", "message": f"unexpected result {line!r}"})
            sys.exit(0)

    def run(self, step: dict[str, Any]) -> None:
        if "call" in step:
            self.read_result(self.send_call(step), step)
        elif "calls" in step:
            ids = [self.send_call(call) for call in step["calls"]]
            for call_id, call in zip(ids, step["calls"], strict=True):
                self.read_result(call_id, call)
        elif "final" in step:
            self.send_final(step["final"], step.get("usage"))
        elif "final_from_results" in step:
            self.send_final({"results": self.results, "errors": self.errors}, step.get("usage"))
        elif "final_from_task" in step:
            self.send_final({"task": self.task}, None)
        elif "final_pid" in step:
            self.send_final({"pid": os.getpid()}, None)
        elif "usage" in step:
            self.send({"type": "usage", **step["usage"]})
        elif "log" in step:
            self.send({"type": "log", "level": step.get("level", "info"), "message": step["log"]})
        elif "task_error" in step:
            self.finished = True
            self.send({"type": "task_error", "message": step["task_error"]})
        elif "raw" in step:
            self.send(step["raw"])
        elif "print" in step:
            self.write_line(step["print"].encode("utf-8"))
        elif "big_line" in step:
            padding = "x" * max(0, int(step["big_line"]) - 40)
            self.send({"type": "log", "level": "info", "message": padding})
        elif "stderr" in step:
            for _ in range(int(step.get("repeat", 1))):
                sys.stderr.write(step["stderr"] + "\n")
            sys.stderr.flush()
        elif "sleep" in step:
            time.sleep(float(step["sleep"]))
        elif "exit" in step:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(int(step["exit"]))
        elif "ignore_sigterm" in step:
            import signal

            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        elif "spawn_child_sleep" in step:
            spawn_child(float(step["spawn_child_sleep"]))
        else:
            fail(f"unknown step {step!r}")

    def send_final(self, output: Any, usage: Any) -> None:
        self.finished = True
        message: dict[str, Any] = {"type": "final_output", "output": output}
        if usage is not None:
            message["usage"] = usage
        self.send(message)


def marker() -> str:
    argv = sys.argv[1:]
    if "--marker" in argv and argv.index("--marker") + 1 < len(argv):
        return argv[argv.index("--marker") + 1]
    return os.environ.get("SCRIPT_AGENT_MARKER", "script-agent-child")


def spawn_child(seconds: float) -> None:
    """A grandchild in our process group that keeps our stdout open after we exit."""
    import subprocess

    subprocess.Popen(
        [sys.executable, "-c", _CHILD_CODE, str(seconds), "--marker", marker()],
        stdin=subprocess.DEVNULL,
    )


def fail(reason: str) -> NoReturn:
    sys.stderr.write(f"script_agent: {reason}\n")
    sys.stderr.flush()
    sys.exit(4)


def main() -> None:
    multi_task = os.environ.get("AGENT_MULTI_TASK") == "1"
    if multi_task:
        Agent({}).send({"type": "hello", "protocol": 2, "capabilities": ["multi_task"]})
    served = 0
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            if served:
                return
            fail("no task_start on stdin")
        task = json.loads(line.decode("utf-8"))
        if task.get("type") != "task_start":
            fail(f"first message is not task_start: {line!r}")
        agent = Agent(task)
        for step in task.get("input", {}).get("steps", []):
            agent.run(step)
        served += 1
        if not (multi_task and agent.finished):
            return


if __name__ == "__main__":
    main()
