"""The one exception tree of harness and the exit codes it maps to.

```
HarnessError
|-- ConfigError            2   bad suite/case/cassette input: path, line, field, hint
|-- UsageError             2   bad flag combination
|-- InfrastructureError    3   the run could not go on (disk full, output dir unwritable)
`-- AttemptError               ends one attempt; recorded in its result, the run goes on
    |-- SpawnError             the agent could not be started
    |-- AgentProtocolError     bad JSON / unknown type / oversized line: line no + excerpt
    |-- AgentCrashedError      the agent exited before final_output: exit status + stderr tail
    |-- CassetteError          the cassette is missing or unreadable
    |-- CassetteMissError      the call is not in the cassette: nearest interactions + diff
    |-- ToolNotAllowedError    the tool is not in tool_registry
    |-- ModelMissError         a model call the cassette lacks: nearest request + paths
    |-- ModelUpstreamError     the model provider could not answer (record / live)
    |-- ModelKeyRefusedError   the model provider refused the invoker's key (401 / 403)
    `-- BudgetExceededError    kind, limit, used
```
An AttemptError's `kind` is its failure type; harness.kinds says what each kind means (error or
fail, infrastructure or not). Only `harness.cli` turns an error into an exit code and a line on
stderr.
"""

from __future__ import annotations

import errno
from pathlib import Path

from harness.kinds import FailureKind

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_INFRA = 3
EXIT_INTERRUPTED = 130


class HarnessError(Exception):
    """Base of every error harness raises on purpose."""

    exit_code = EXIT_INFRA


class ConfigError(HarnessError):
    """Bad user input: a suite, case, cassette or baseline file, found before anything runs."""

    exit_code = EXIT_CONFIG

    def __init__(
        self,
        path: str | None,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.message = message
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class ConfigErrors(ConfigError):
    """Several config problems found in one pass; each is rendered on its own line."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.path, first.message, line=first.line, field=first.field)

    def render(self) -> str:
        if not hasattr(self, "errors"):
            return super().render()
        return "\n".join(error.render() for error in self.errors)


class UsageError(HarnessError):
    """A bad flag or flag combination."""

    exit_code = EXIT_CONFIG


class InfrastructureError(HarnessError):
    """The run itself cannot go on: the output directory is unwritable, the disk is full."""

    exit_code = EXIT_INFRA


def disk_error(path: Path, exc: OSError) -> InfrastructureError:
    """A write that failed (a full disk, a file-size limit, a quota) as the error that ends the
    run: exit 3, one line naming the file."""
    if exc.errno == errno.ENOSPC:
        return InfrastructureError(f"{path}: disk full; results written so far are kept")
    if exc.errno in (errno.EFBIG, errno.EDQUOT):  # a file size limit (ulimit -f) or a quota
        return InfrastructureError(
            f"{path}: cannot write: {exc.strerror}; results written so far are kept"
        )
    return InfrastructureError(f"{path}: cannot write: {exc.strerror or exc}")


class AttemptError(HarnessError):
    """Ends one attempt. `kind` is the failure type written to results and summaries."""

    kind = FailureKind.AGENT_ERROR

    def __init__(self, message: str, **details: object) -> None:
        self.message = message
        self.details = details
        super().__init__(message)


class SpawnError(AttemptError):
    kind = FailureKind.SPAWN_ERROR


class ForkServerLostError(AttemptError):
    """The fork server that started the agent died (agent_reuse: fork)."""

    kind = FailureKind.FORK_SERVER_LOST


class AgentProtocolError(AttemptError):
    kind = FailureKind.PROTOCOL_ERROR


class AgentCrashedError(AttemptError):
    kind = FailureKind.AGENT_EXITED


class TaskError(AttemptError):
    kind = FailureKind.TASK_ERROR


class CassetteError(AttemptError):
    kind = FailureKind.CASSETTE_ERROR


class CassetteMissError(AttemptError):
    kind = FailureKind.CASSETTE_MISMATCH


class ToolNotAllowedError(AttemptError):
    kind = FailureKind.TOOL_NOT_ALLOWED


class ModelMissError(AttemptError):
    kind = FailureKind.MODEL_MISS


class ModelUpstreamError(AttemptError):
    kind = FailureKind.MODEL_UPSTREAM_ERROR


class ModelKeyRefusedError(AttemptError):
    kind = FailureKind.MODEL_KEY_REFUSED


class BudgetExceededError(AttemptError):
    kind = FailureKind.BUDGET_EXCEEDED

    def __init__(self, budget: str, limit: float, used: float) -> None:
        self.budget = budget
        self.limit = limit
        self.used = used
        super().__init__(
            f"Budget exceeded: {budget} limit={_num(limit)} actual={_num(used)}",
            field=budget,
            limit=limit,
            actual=used,
        )


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
