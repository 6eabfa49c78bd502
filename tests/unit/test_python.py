"""Python tools (harness.tools.python): functions sync and async, RunLedger's tool objects, the
module beside each suite, and bad function references."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from harness.tools.backend import ToolFailure, TransientToolError
from harness.tools.python import PythonBackend, import_suite_module, load_function


def _tools_module(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mytools.py").write_text(body, encoding="utf-8")
    return folder


async def test_python_functions_sync_and_async_get_keyword_args(tmp_path: Path) -> None:
    suite = _tools_module(
        tmp_path,
        "async def add(a, b):\n    return a + b\n\ndef neg(x):\n    return -x\n"
        "def boom(**_):\n    raise ValueError('bad city')\n"
        "def flaky(**_):\n    raise ConnectionError('reset')\n",
    )
    add = PythonBackend(load_function("mytools:add", suite))
    assert add.is_async and await add.call("add", {"a": 2, "b": 3}) == 5
    assert await PythonBackend(load_function("mytools:neg", suite)).call("neg", {"x": 4}) == -4
    with pytest.raises(ToolFailure, match="ValueError: bad city"):
        await PythonBackend(load_function("mytools:boom", suite)).call("boom", {})
    with pytest.raises(TransientToolError, match="ConnectionError: reset"):
        await PythonBackend(load_function("mytools:flaky", suite)).call("flaky", {})


async def test_runledger_tools_get_the_args_dict_or_have_a_call_method() -> None:
    class Search:
        def call(self, args: dict[str, Any]) -> list[str]:
            return [args["q"]]

    assert await PythonBackend(Search(), style="args").call("s", {"q": "x"}) == ["x"]
    assert await PythonBackend(lambda args: args, style="args").call("s", {"q": 1}) == {"q": 1}


def test_a_module_beside_each_suite_wins_over_one_loaded_earlier(tmp_path: Path) -> None:
    first = _tools_module(tmp_path / "one", "NAME = 'one'\n")
    second = _tools_module(tmp_path / "two", "NAME = 'two'\n")
    assert import_suite_module("mytools", first).NAME == "one"
    assert import_suite_module("mytools", second).NAME == "two"
    assert import_suite_module("mytools", second).NAME == "two"
    sys.modules.pop("mytools", None)


def test_a_bad_function_reference_says_what_is_wrong(tmp_path: Path) -> None:
    suite = _tools_module(tmp_path, "X = 1\n")
    with pytest.raises(ValueError, match="not `module:function`"):
        load_function("mytools", suite)
    with pytest.raises(ValueError, match="has no 'nope'"):
        load_function("mytools:nope", suite)
    with pytest.raises(ValueError, match="is a int, not a function"):
        load_function("mytools:X", suite)
    sys.modules.pop("mytools", None)
