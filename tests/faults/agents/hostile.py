"""An agent that misbehaves on purpose, one way per case: `{"fault": NAME, ...}` is its input.

Faults (parameters in brackets):
    exit_at_start          exit 7 before reading task_start
    exit_after_start       read task_start, exit 9
    exit_mid_line          write half a message, no newline, exit 1
    exit_after_call        send a tool_call, exit 1 without reading the result
    killed_after_result    read a tool result, then SIGKILL itself
    garbage                a line of random bytes
    invalid_utf8           a message line with invalid UTF-8 bytes in it
    json_bomb              one line of deeply nested arrays [depth]
    huge_line              [mb] megabytes without a newline, then sleep
    stderr_flood           [mb] megabytes to stderr, then final_output
    stdout_log_flood       valid log messages as fast as possible, never final_output
    stop_reading           send tool calls and never read stdin (pipe back-pressure)
    ignore_sigterm         ignore SIGTERM and go silent
    grandchildren          fork [n] grandchildren that sleep holding the pipes, then exit 0
    close_stdout           close stdout and keep running
    write_after_final      final_output, then keep writing stdout and stderr
    tool_calls             [n] tool calls, each answered, then final_output
    string_bomb            final_output whose output is a string of [depth] nested arrays
    env                    final_output {"env": the environment it was given}
    setsid_child           start a child in a session of its own (a daemon), then go silent

Extra arguments are ignored; tests pass `--marker <unique>` to find the process and its
grandchildren with psutil. Stdlib only, so it starts fast.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

OUT = sys.stdout.buffer


def send(message: Any) -> None:
    OUT.write(json.dumps(message).encode() + b"\n")
    OUT.flush()


def call(n: int, record: int = 1) -> None:
    send({"type": "tool_call", "name": "lookup", "call_id": f"c{n}", "args": {"id": record}})


def sleep_forever() -> None:
    while True:
        time.sleep(60)


def main() -> None:
    fault_before = os.environ.get("HOSTILE_FAULT")
    if fault_before == "exit_at_start":
        sys.exit(7)
    line = sys.stdin.buffer.readline()
    task = json.loads(line)["input"]
    fault = task["fault"]
    if fault == "exit_after_start":
        sys.exit(9)
    if fault == "exit_mid_line":
        OUT.write(b'{"type": "tool_call", "name": "loo')
        OUT.flush()
        os._exit(1)
    if fault == "exit_after_call":
        call(1)
        os._exit(1)
    if fault == "killed_after_result":
        call(1)
        sys.stdin.buffer.readline()
        os.kill(os.getpid(), signal.SIGKILL)
    if fault == "garbage":
        OUT.write(os.urandom(4096).replace(b"\n", b"") + b"\n")
        OUT.flush()
        sleep_forever()
    if fault == "invalid_utf8":
        OUT.write(b'{"type": "final_output", "output": {"a": "\xff\xfe\xc3"}}\n')
        OUT.flush()
        sleep_forever()
    if fault == "json_bomb":
        depth = int(task.get("depth", 100_000))
        OUT.write(b"[" * depth + b"]" * depth + b"\n")
        OUT.flush()
        sleep_forever()
    if fault == "huge_line":
        chunk = b"x" * (1 << 20)
        for _ in range(int(task["mb"])):
            OUT.write(chunk)
        OUT.flush()
        sleep_forever()
    if fault == "stderr_flood":
        chunk = b"e" * 1023 + b"\n"
        err = sys.stderr.buffer
        for _ in range(int(task["mb"])):
            err.write(chunk * 1024)
            err.flush()
            send({"type": "log", "message": "another megabyte"})
        send({"type": "final_output", "output": {"flooded": task["mb"]}})
        return
    if fault == "stdout_log_flood":
        line = json.dumps({"type": "log", "message": "x" * 1000}).encode() + b"\n"
        while True:
            OUT.write(line * 64)
    if fault == "stop_reading":
        n = 0
        while True:
            n += 1
            call(n, record=2)  # a 256 KiB result: the pipe to our stdin fills at once
    if fault == "ignore_sigterm":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sleep_forever()
    if fault == "grandchildren":
        for _ in range(int(task.get("n", 3))):
            if os.fork() == 0:
                # The grandchild keeps stdin, stdout and stderr open and outlives its parent.
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                sleep_forever()
        os._exit(0)
    if fault == "close_stdout":
        OUT.close()
        os.close(1)
        sleep_forever()
    if fault == "write_after_final":
        send({"type": "final_output", "output": {"ok": True}})
        while True:
            send({"type": "log", "message": "still here"})
            sys.stderr.write("still here\n")
            time.sleep(0.01)
    if fault == "tool_calls":
        for n in range(int(task["n"])):
            call(n)
            if not sys.stdin.buffer.readline():
                return
        send({"type": "final_output", "output": {"calls": task["n"]}})
        return
    if fault == "setsid_child":
        # The daemon carries our arguments (the test's --marker) so the test can find it.
        code = "import time; time.sleep(120)"
        subprocess.Popen([sys.executable, "-c", code, *sys.argv[1:]], start_new_session=True)
        sleep_forever()
    if fault == "env":
        send({"type": "final_output", "output": {"env": dict(os.environ)}})
        return
    if fault == "string_bomb":
        depth = int(task.get("depth", 100_000))
        send({"type": "final_output", "output": "[" * depth + "]" * depth})
        return
    raise SystemExit(f"unknown fault {fault!r}")


if __name__ == "__main__":
    main()
