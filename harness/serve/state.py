"""What the server holds while it runs, and the API's errors and request helpers: the run index,
the runs looked at, the history database's path, and a memo of run cards.

Errors are JSON with a stable `code` (what clients branch on) and a human `message`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from harness.serve.cards import SUMMARY_FILE, Run, Runs
from harness.serve.index import RUN_FILE, RunIndex, RunRef

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 500


class ApiError(Exception):
    """An answer other than 200: `status`, a stable `code`, a message, and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def body(self) -> bytes:
        error: dict[str, Any] = {"status": self.status, "code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return msgspec.json.encode({"error": error})


def bad_parameter(name: str, message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", f"{name}: {message}", field=name)


def int_param(params: Any, name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise bad_parameter(name, "expected an integer") from None
    if not low <= value <= high:
        raise bad_parameter(name, f"expected {low} to {high}")
    return value


def page_param(params: Any) -> tuple[int, int]:
    """(page, per_page) from `page` (from 1) and `per_page` (1 to MAX_PER_PAGE)."""
    per_page = int_param(params, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    return int_param(params, "page", 1, 1, 1_000_000), per_page


def paged(items: list[Any], total: int, page: tuple[int, int], **extra: Any) -> dict[str, Any]:
    number, size = page
    pages = max(1, -(-total // size))
    return {
        "items": items,
        "page": number,
        "per_page": size,
        "total": total,
        "pages": pages,
        **extra,
    }


@dataclass
class ServeState:
    index: RunIndex
    db_path: Path | None
    runs: Runs = field(default_factory=Runs)
    _cards: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ref(self, run_id: str) -> RunRef:
        ref = self.index.get(run_id)
        if ref is None:
            raise ApiError(404, "run_not_found", f"no run {run_id!r} under the served folder")
        return ref

    def run(self, run_id: str) -> Run:
        return self.runs.of(self.ref(run_id))

    def card(self, ref: RunRef) -> dict[str, Any]:
        """The run's card, recomputed only when one of its files changed."""
        signature = tuple(
            _stamp(ref.path / name) for name in (RUN_FILE, SUMMARY_FILE, "results.jsonl")
        )
        with self._lock:
            known = self._cards.get(ref.run_id)
        if known is not None and known[0] == signature and not known[1]["live"]:
            return known[1]
        card = self.runs.of(ref).card()
        with self._lock:
            self._cards[ref.run_id] = (signature, card)
        return card


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns
