"""Python tools: `module:function` (called with the args as keyword arguments) and RunLedger's
`tool_module`, whose `TOOLS` dict maps a name to `callable(args)` or an object with `.call(args)`.

Modules are looked up beside suite.yaml first, then on sys.path, so `tool_module: tools` works
from any cwd and with the console script (RunLedger needed PYTHONPATH). Sync functions run in a
worker thread so a slow one cannot stall other attempts, and the timeout can give up on it.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import inspect
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

from harness.tools.backend import ToolFailure, TransientToolError, describe_exception
from harness.tools.stderr import running_tool

# Raised by a tool, these mean "try again": the network blinked.
TRANSIENT_EXCEPTIONS = (ConnectionError, TimeoutError)


def import_suite_module(name: str, suite_dir: Path) -> ModuleType:
    """Import `name`, preferring a module file beside the suite.

    The suite folder stays first on sys.path so the module's own sibling imports work. A
    module of the same name already loaded from elsewhere (another suite's `tools.py`) is
    replaced, so two suites in one process each get their own.

    Raises:
        ImportError: with the reason; any exception the module raised while importing.
    """
    folder = str(suite_dir)
    local = _local_file(name, suite_dir)
    if local is not None:
        loaded = sys.modules.get(name)
        if loaded is not None and _same_file(getattr(loaded, "__file__", None), local):
            return loaded
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
    importlib.invalidate_caches()
    return importlib.import_module(name)


def _local_file(name: str, suite_dir: Path) -> Path | None:
    base = suite_dir.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _same_file(loaded: str | None, local: Path) -> bool:
    if loaded is None:
        return False
    with contextlib.suppress(OSError):
        return os.path.samefile(loaded, local)
    return False


def load_function(reference: str, suite_dir: Path) -> Callable[..., Any]:
    """`tools:get_weather` (or `pkg.mod:Class.method`) -> the callable.

    Raises:
        ValueError: the reference is malformed or names nothing callable, with the reason.
        ImportError: the module cannot be imported.
    """
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{reference!r} is not `module:function`")
    target: Any = import_suite_module(module_name, suite_dir)
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no {attribute!r}") from None
    if not callable(target):
        raise ValueError(f"{reference!r} is a {type(target).__name__}, not a function")
    return target  # type: ignore[no-any-return]


def load_tool_module(name: str, suite_dir: Path) -> Mapping[str, Any]:
    """RunLedger's `tool_module`: its `TOOLS` dict.

    Raises:
        ValueError: the module has no TOOLS dict.
        ImportError: the module cannot be imported.
    """
    module = import_suite_module(name, suite_dir)
    tools = getattr(module, "TOOLS", None)
    if not isinstance(tools, Mapping):
        raise ValueError(f"module {name!r} has no TOOLS dict (name -> callable(args))")
    return tools


class PythonBackend:
    """Calls a Python callable. `style` is "kwargs" (`function:`) or "args" (RunLedger's)."""

    kind = "python"

    def __init__(self, function: Any, *, style: str = "kwargs") -> None:
        if style == "args" and not callable(function) and callable(getattr(function, "call", None)):
            function = function.call
        self.function = function
        self.style = style
        # An object whose __call__ is async counts as an async function too.
        call = type(function).__call__ if not inspect.isroutine(function) else None
        self.is_async = inspect.iscoroutinefunction(function) or (
            call is not None and inspect.iscoroutinefunction(call)
        )

    async def call(self, tool: str, args: dict[str, Any]) -> Any:
        try:
            with running_tool(tool):  # its prints and warnings show as [tool NAME] lines
                if self.is_async:
                    return await self._invoke(args)
                return await _in_daemon_thread(self._invoke_sync, args)
        except TRANSIENT_EXCEPTIONS as exc:
            raise TransientToolError(describe_exception(exc)) from exc
        except (ToolFailure, TransientToolError):
            raise
        except Exception as exc:
            raise ToolFailure(describe_exception(exc)) from exc

    async def _invoke(self, args: dict[str, Any]) -> Any:
        if self.style == "args":
            return await self.function(dict(args))
        return await self.function(**args)

    def _invoke_sync(self, args: dict[str, Any]) -> Any:
        result = self.function(dict(args)) if self.style == "args" else self.function(**args)
        if inspect.isawaitable(result):
            raise ToolFailure("a sync tool returned an awaitable; declare it `async def`")
        return result


async def _in_daemon_thread(function: Any, args: dict[str, Any]) -> Any:
    """Run a sync tool in a thread of its own. On timeout the thread cannot be stopped, only
    left behind; a daemon thread is, so a tool that hangs for ever cannot keep harness from
    exiting (anyio's worker threads are joined at exit: the run would wait for the tool).
    The thread runs in a copy of this task's context, as anyio's worker threads do: the tool
    whose stderr it writes and the run's redaction are known there."""
    token = anyio.lowlevel.current_token()
    done = anyio.Event()
    outcome: list[Any] = []

    def work() -> None:
        try:
            outcome.append((True, function(args)))
        except BaseException as exc:
            outcome.append((False, exc))
        with contextlib.suppress(RuntimeError):  # the run (its event loop) is already over
            anyio.from_thread.run_sync(done.set, token=token)

    context = contextvars.copy_context()
    threading.Thread(
        target=context.run, args=(work,), name="harness python tool", daemon=True
    ).start()
    await done.wait()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value
