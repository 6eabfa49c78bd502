"""The fork server (`agent_reuse: fork`): run by the agent's own interpreter, never imported.

It imports nothing of harness and runs on CPython 3.9+, because the agent's interpreter may be
another environment's. harness starts it as

    <agent's python> [its options] fork_bootstrap.py CONTROL_FD CONFIG_JSON

where CONFIG_JSON is {"preload": [module, ...], "path0": folder or null}. It imports the preload
modules once, says hello, and then waits on the control socket (an AF_UNIX stream inherited as
CONTROL_FD). Every line on it is one JSON object:

    server -> harness, once   {"hello": {"pid", "threads", "fork", "python"}}
                              or {"preload_error": module, "message": text}, then it exits
    harness -> server         {"id", "argv", "script" | "module", "cwd", "env"}, with the
                              attempt's stdin, stdout and stderr pipes as SCM_RIGHTS
    server -> harness         {"started": id, "pid": pid}  once the child has its own session
                              {"failed": id, "errno": n, "message": text}  (say, a bad cwd)
                              {"exited": pid, "status": n}  as os.waitstatus_to_exitcode says

Each child calls setsid, installs the pipes as 0/1/2, applies cwd, environment, argv and
sys.path[0] as the interpreter would have for the script or `-m` module, reseeds the random
generators it shares with its siblings, and runs the agent as __main__ with runpy. Whatever the
agent raises reaches the interpreter's own top level, so exit statuses, tracebacks, atexit
handlers and the wait for non-daemon threads are those of a spawned interpreter. The server
exits when harness closes the control socket.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import gc
import importlib
import io
import json
import os
import platform
import select
import signal
import socket
import sys
import threading
from typing import Any

READ_BYTES = 1 << 16
MAX_FDS = 16  # a recvmsg returns the descriptors of at most one request


class Child:
    """What a freshly forked child runs: the request harness sent for it."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request


class Server:
    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.pending = b""
        self.fds: collections.deque[int] = (
            collections.deque()
        )  # received, not yet handed to a child
        self.children: set[int] = set()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def send(self, message: dict[str, Any]) -> None:
        self.control.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def serve(self) -> Child | None:
        """Serve until harness hangs up (None), or return in a new child (its request)."""
        signal.signal(signal.SIGCHLD, _no_op)  # a Python handler, so the wakeup fd is written
        signal.set_wakeup_fd(self.wake_w)
        poller = select.poll()
        poller.register(self.control.fileno(), select.POLLIN)
        poller.register(self.wake_r, select.POLLIN)
        while True:
            ready = {fd for fd, _ in poller.poll()}
            if self.wake_r in ready:
                self.reap()
            if self.control.fileno() in ready:
                if not self.receive():
                    return None
                while b"\n" in self.pending:
                    line, self.pending = self.pending.split(b"\n", 1)
                    child = self.start(json.loads(line))
                    if child is not None:
                        return child

    def receive(self) -> bool:
        data, fds, flags, _ = socket.recv_fds(self.control, READ_BYTES, MAX_FDS)
        self.fds.extend(fds)
        if flags & getattr(socket, "MSG_CTRUNC", 0):
            raise RuntimeError("fork server: file descriptors were truncated")
        self.pending += data
        return bool(data or fds)

    def reap(self) -> None:
        try:
            while os.read(self.wake_r, READ_BYTES):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.children:
                self.children.discard(pid)
                self.send({"exited": pid, "status": os.waitstatus_to_exitcode(status)})

    def start(self, request: dict[str, Any]) -> Child | None:
        """Fork a child for `request`; returns only in the child. The parent waits for the child
        to own its session before it says `started`, so harness can signal its group at once."""
        pipes = [self.fds.popleft() for _ in range(3)]
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(ready_r)
            self.become_child(request, pipes, ready_w)
            return Child(request)
        os.close(ready_w)
        for fd in pipes:
            os.close(fd)
        report = _read_all(ready_r)
        if report:
            os.waitpid(pid, 0)
            failure = json.loads(report)
            self.send({"failed": request["id"], **failure})
        else:
            self.children.add(pid)
            self.send({"started": request["id"], "pid": pid})
        return None

    def become_child(self, request: dict[str, Any], pipes: list[int], ready_w: int) -> None:
        try:
            os.setsid()
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            # The server's descriptors, and pipes received for requests not yet started.
            for fd in (self.control.detach(), self.wake_r, self.wake_w, *self.fds):
                os.close(fd)
            _install_stdio(pipes)
            if request.get("cwd") is not None:
                os.chdir(request["cwd"])
        except OSError as exc:
            report = {"errno": exc.errno, "message": exc.strerror or str(exc)}
            os.write(ready_w, json.dumps(report).encode())
            os._exit(127)
        except BaseException as exc:  # never return into the server's loop
            os.write(ready_w, json.dumps({"errno": None, "message": repr(exc)}).encode())
            os._exit(127)
        os.close(ready_w)


def _no_op(signum: int, frame: Any) -> None:
    pass


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, READ_BYTES)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _install_stdio(pipes: list[int]) -> None:
    """The attempt's pipes become fds 0, 1 and 2 (inheritable, as a spawned agent's are)."""
    import fcntl

    # A pipe that arrived as 0, 1 or 2 (the server started with one closed) is moved away
    # first, so that no dup2 below overwrites a pipe not yet installed.
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3) if fd < 3 else fd for fd in pipes]
    for target, fd in enumerate(moved):
        os.dup2(fd, target)
    for fd in set(moved) | set(pipes):
        if fd > 2:
            os.close(fd)


def _thread_count() -> int:
    """OS threads, C extensions' included (a preloaded BLAS may start some): fork copies only
    the calling thread, so locks other threads hold stay locked in every child."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _preload(modules: list[str], server: socket.socket) -> bool:
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as exc:  # SystemExit or KeyboardInterrupt in an import too
            message = f"{type(exc).__name__}: {exc}"
            line = json.dumps({"preload_error": name, "message": message})
            server.sendall(line.encode() + b"\n")
            return False
    return True


def _run_agent(child: Child) -> None:
    """Become the agent: environment, argv, sys.path[0], fresh random state, then its code."""
    request = child.request
    env = request.get("env")
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    module: str | None = request.get("module")
    script: str = request.get("script") or ""

    sys.argv = list(request["argv"])
    if not _safe_path() and sys.path:
        if module is not None:
            sys.path[0] = os.getcwd()
        else:
            sys.path[0] = os.path.dirname(os.path.realpath(script))
    _reseed()
    import runpy

    if module is not None:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return
    if not os.path.exists(script):
        program = request.get("program", "python")
        sys.stderr.write(
            f"{program}: can't open file {os.path.abspath(script)!r}: "
            "[Errno 2] No such file or directory\n"
        )
        sys.stderr.flush()
        raise SystemExit(2)
    runpy.run_path(script, run_name="__main__")


def _safe_path() -> bool:
    """-I or -P (3.11+): the interpreter put no script folder or cwd first on sys.path."""
    return bool(sys.flags.isolated or getattr(sys.flags, "safe_path", False))


def _reseed() -> None:
    """Children of one server would otherwise draw the same numbers: `random` reseeds itself
    at fork (os.register_at_fork), numpy's global generator does not."""
    if "random" in sys.modules:
        sys.modules["random"].seed()
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        with contextlib.suppress(Exception):  # an unusual numpy keeps its state
            numpy_random.seed()


def _trimmed(tb: Any) -> Any:
    """The traceback from the agent's first frame on: without the server's and runpy's."""
    ours = [globals()]
    runpy_module = sys.modules.get("runpy")
    if runpy_module is not None:
        ours.append(vars(runpy_module))
    while tb is not None and tb.tb_next is not None:
        if not any(tb.tb_frame.f_globals is namespace for namespace in ours):
            break
        tb = tb.tb_next
    return tb


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    config = json.loads(sys.argv[2])
    if config.get("path0") is not None and sys.path and not _safe_path():
        sys.path[0] = config["path0"]  # as the agent's own start would have it, not ours
    if not _preload(list(config.get("preload", [])), control):
        sys.exit(1)
    # Objects that exist now are never collected in a child, so its collector does not write
    # to (and copy) the pages it shares with the server.
    gc.collect()
    gc.freeze()
    hello = {
        "pid": os.getpid(),
        "threads": _thread_count(),
        "fork": hasattr(os, "fork"),
        "python": platform.python_version(),
    }
    control.sendall(json.dumps({"hello": hello}).encode() + b"\n")
    if not hello["fork"]:
        sys.exit(0)
    sys.stdout.flush()
    sys.stderr.flush()
    child = Server(control).serve()
    if child is None:
        sys.exit(0)
    _run_and_exit(child)


def _run_and_exit(child: Child) -> None:
    """Run the agent and end as its interpreter would: status, message or traceback."""
    interrupted = False
    try:
        _run_agent(child)
        status = 0
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException as exc:
        # The default hook prints the exception's own traceback, so it is trimmed there.
        trimmed = _trimmed(exc.__traceback__)
        sys.excepthook(type(exc), exc.with_traceback(trimmed), trimmed)
        interrupted, status = isinstance(exc, KeyboardInterrupt), 1
    _finish(status, interrupted=interrupted)


def _exit_status(code: object) -> int:
    """What the interpreter makes of SystemExit(code)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code if -(2**31) <= code < 2**31 else 1
    sys.stderr.write(f"{code}\n")
    return 1


def _finish(status: int, *, interrupted: bool) -> None:
    """The interpreter's own shutdown (non-daemon threads joined, atexit handlers, files and
    stdio flushed), then os._exit: tearing the heap down as the interpreter does touches, and
    so copies, every page the child shares with the server, which costs more than most cases.
    Only __del__ of objects still alive at exit is skipped (the interpreter does not promise
    it either)."""
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        with contextlib.suppress(BaseException):
            shutdown()
    atexit._run_exitfuncs()
    _flush_open_files()
    try:
        sys.stdout.flush()
    except Exception:
        status = status or 120  # as the interpreter exits when stdout cannot be flushed
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    if interrupted:  # an uncaught Ctrl+C ends the process by SIGINT, as the interpreter's does
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(status)


def _flush_open_files() -> None:
    """Files the agent opened and did not close, flushed as their finalizers would have. Only
    the child's own objects are visited: gc.get_objects leaves out the frozen server's."""
    files = [obj for obj in gc.get_objects() if isinstance(obj, io.IOBase)]
    # Text layers first: what they flush lands in the buffers flushed after them.
    files.sort(key=lambda obj: not isinstance(obj, io.TextIOBase))
    for obj in files:
        with contextlib.suppress(Exception):
            if not obj.closed:
                obj.flush()


if __name__ == "__main__":
    main()
