"""run.json and history.json as the reports read them back (`harness report`, `harness grade`,
`harness serve`): typed, so a damaged file is one error naming it and the field, exit 2.

Only what a reader looks at is checked; a run.json from an older harness, without the newer
keys, still reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from harness.config.files import read_regular
from harness.errors import ConfigError
from harness.gate.stored import DAMAGED, convert_stored


class StoredGrading(msgspec.Struct, frozen=True):
    grader_plugins: list[str] = []


class StoredRun(msgspec.Struct, frozen=True):
    """run.json."""

    run_id: str | None = None
    suite: str | None = None
    suite_path: str | None = None
    suite_file: str | None = None
    started_at: str | None = None
    mode: str | None = None
    exit_code: int | None = None
    case_sources: dict[str, tuple[str, int]] = {}
    grading: StoredGrading = StoredGrading()


class StoredEvent(msgspec.Struct, frozen=True):
    """A line of run.jsonl or a transcript: what every reader of events relies on. The rest
    of an event is its type's own (any JSON: the agent's output, a tool's args)."""

    type: str
    case_id: str | None = None
    attempt_id: str | None = None


class StoredHistory(msgspec.Struct, frozen=True):
    """history.json: the suite's last runs, for the HTML chart."""

    runs: list[dict[str, Any]] = []


def read_document(path: Path, kind: type[Any] | None = None) -> Any:
    """The JSON object in `path` (checked as `kind` when given); None when there is no file.

    Raises:
        ConfigError: unreadable, not JSON, or a field of the wrong type (exit 2).
    """
    try:
        value = msgspec.json.decode(read_regular(path))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"not valid JSON ({exc}); {DAMAGED}") from None
    except RecursionError:
        raise ConfigError(str(path), f"JSON nested too deeply; {DAMAGED}") from None
    if kind is not None:
        convert_stored(value, kind, path)
    elif not isinstance(value, dict):
        raise ConfigError(str(path), f"expected a JSON object; {DAMAGED}")
    return value
