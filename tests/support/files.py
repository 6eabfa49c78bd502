"""Files as harness reads and writes them: suites, case files and cassettes written from dicts;
JSON and JSON Lines read back (checked whole)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


def read_json(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(value, dict), f"{path}: not a JSON object"
    return value


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    # Split on b"\n" only: a raw U+2028 inside a JSON string is not a line break.
    rows = []
    for raw in path.read_bytes().split(b"\n"):
        if raw.strip():
            row = json.loads(raw)
            assert isinstance(row, dict), f"{path}: line is not a JSON object: {raw!r}"
            rows.append(row)
    return rows


def assert_whole_lines(path: Path) -> int:
    """Every line of a JSONL file parses and the file ends with a newline; the line count."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    assert not data or data.endswith(b"\n"), f"{path}: last line cut: {data[-200:]!r}"
    lines = [line for line in data.split(b"\n") if line.strip()]
    for line in lines:
        json.loads(line)
    return len(lines)


def write_suite(
    root: Path,
    suite: dict[str, Any],
    cases: Sequence[dict[str, Any]],
    cassettes: dict[str, Sequence[dict[str, Any]]] | None = None,
) -> Path:
    """Write a suite dir: suite.yaml, cases/<id>.yaml, and cassettes/<name> relative to it."""
    root.mkdir(parents=True, exist_ok=True)
    settings = {"mode": "replay", "cases_path": "cases", "tool_registry": [], **suite}
    (root / "suite.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    (root / "cases").mkdir(exist_ok=True)
    for case in cases:
        # Not allow_unicode: PyYAML then writes U+2028 raw in a quoted scalar and reads it back
        # as a space. Escaped (\L, \P, \N) it round-trips.
        text = yaml.safe_dump(case, sort_keys=False)
        (root / "cases" / f"{case['id']}.yaml").write_text(text, encoding="utf-8")
    for name, entries in (cassettes or {}).items():
        write_cassette(root / name, entries)
    return root


def write_cassette(path: Path, entries: Sequence[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(entry, sort_keys=True, ensure_ascii=False) for entry in entries]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def interaction(tool: str, args: dict[str, Any], result: Any) -> dict[str, Any]:
    return {"tool": tool, "args": args, "ok": True, "result": result, "error": None}
