"""A test agent that reports how it was started, for the fork-server tests (stdlib only).

It reads one task_start; its input says what to do first:
    {"fork": true}          os.fork a child that writes a file, wait for it
    {"thread": true}        run a non-daemon thread to completion
    {"subprocess": true}    run `python -c` and read its output
    {"kill_server": true}   SIGKILL its parent when the parent is a fork server
    {"raise": "text"}       raise RuntimeError(text) (uncaught)
    {"leave_open": path}    write "kept" to a file it never closes (flushed at exit)
    {"at_exit": "text"}     register an atexit handler that writes text to stderr
    {"exit": n or "text"}   sys.exit(n) (or sys.exit("text")) before answering
then sends final_output with what it saw: pid, ppid (and whether it is a fork server, and its
own parent), sid, pgid, argv, cwd, sys.path[0],
__name__, a random number and the HARNESS_* / FORK_TEST_* environment.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import subprocess
import sys
import threading

LEFT_OPEN: list[object] = []


def parent_is_fork_server() -> bool:
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as handle:
            return b"fork_bootstrap.py" in handle.read()
    except OSError:
        return False


def grandparent() -> int | None:
    try:
        with open(f"/proc/{os.getppid()}/stat", "rb") as handle:
            return int(handle.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def act(task_input: dict[str, object]) -> dict[str, object]:
    seen: dict[str, object] = {}
    if task_input.get("fork"):
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        _, status = os.waitpid(pid, 0)
        seen["forked_status"] = os.waitstatus_to_exitcode(status)
    if task_input.get("thread"):
        box: list[int] = []
        worker = threading.Thread(target=lambda: box.append(42))
        worker.start()
        worker.join()
        seen["thread"] = box
    if task_input.get("subprocess"):
        out = subprocess.run(
            [sys.executable, "-c", "print('from a grandchild')"],
            capture_output=True,
            text=True,
            check=True,
        )
        seen["subprocess"] = out.stdout.strip()
    if "leave_open" in task_input:
        handle = open(str(task_input["leave_open"]), "w")  # noqa: SIM115 (left open on purpose)
        handle.write("kept")
        LEFT_OPEN.append(handle)
    if "at_exit" in task_input:
        text = str(task_input["at_exit"])
        atexit.register(lambda: sys.stderr.write(text + "\n"))
    if task_input.get("kill_server") and parent_is_fork_server():
        os.kill(os.getppid(), 9)
    if "raise" in task_input:
        raise RuntimeError(str(task_input["raise"]))
    if "exit" in task_input:
        code = task_input["exit"]
        sys.exit(code if isinstance(code, (int, str)) else 1)
    return seen


def main() -> None:
    task = json.loads(sys.stdin.readline())
    seen = act(task.get("input") or {})
    seen.update(
        pid=os.getpid(),
        ppid=os.getppid(),
        parent_is_server=parent_is_fork_server(),
        grandparent=grandparent(),
        sid=os.getsid(0),
        pgid=os.getpgid(0),
        argv=sys.argv,
        cwd=os.getcwd(),
        path0=sys.path[0],
        name=__name__,
        random=random.random(),
        env={k: v for k, v in os.environ.items() if k.startswith(("HARNESS_", "FORK_TEST_"))},
        stdin_is_pipe=not os.isatty(0),
    )
    sys.stdout.write(json.dumps({"type": "final_output", "output": seen}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
