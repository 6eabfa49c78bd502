"""Every way an attempt can fail, and the one table that says what each means.

A failure's `type` in results.jsonl is a `FailureKind`. The table decides, for each kind:
- its status: `error` (the attempt could not be judged) or `fail` (the agent did something
  wrong), as RunLedger's summary writes it; the first failure of an attempt decides;
- whether it is infrastructure: the machinery's fault, never a trial (it shrinks n and counts
  neither as a pass nor as a fail). `ALWAYS`, `NEVER`, or `WHEN_DETAILS` for kinds where the
  failure's details decide (a spawn errno, a signal from outside, a retryable task_error: see
  harness.execute.retry);
- whether another try can help.

`WHEN_DETAILS` kinds are infrastructure in these cases only:
- `spawn_error`: the agent never ran, so it is never a trial. Retryable for a transient errno
  (EAGAIN, ENOMEM, EMFILE, ENFILE, ETXTBSY, EINTR); not for ENOENT, EACCES or ENOEXEC, which no
  retry can fix (the attempt still ends as `infra_error`).
- `agent_exited` by a signal from outside: SIGKILL (the OOM killer), SIGTERM, SIGHUP, SIGINT,
  SIGQUIT, SIGUSR1/2. Not SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGSYS, SIGTRAP, SIGPIPE,
  SIGXCPU or SIGXFSZ, which an agent brings on itself. Or with an exit status listed in the
  suite's `retry.exit_codes` (say 75 for "rate-limited, try later").
- `task_error` whose `data` has `"retryable": true`: the agent's own "transient, retry me".
Anything else (a failed assertion, a budget, a cassette miss, a protocol error, a crash) is the
agent's outcome and is never retried: flakiness is data for pass^k, not noise to re-roll.

errors.py's exceptions carry a kind; the attempt, retry, regrade and the reports read this
table. Adding a kind is one line here (and an exception class if code raises it).
"""

from __future__ import annotations

import enum
import errno
import signal
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal, NamedTuple, Protocol

Status = Literal["pass", "fail", "error", "ungraded"]
Outcome = Literal["passed", "failed", "budget_exceeded", "infra_error"]


class FailureKind(enum.StrEnum):
    # The agent's own outcome: status fail.
    AGENT_ERROR = "agent_error"
    BUDGET_EXCEEDED = "budget_exceeded"
    CASSETTE_MISMATCH = "cassette_mismatch"
    CASSETTE_UNUSED = "cassette_unused"
    CASSETTE_OUT_OF_ORDER = "cassette_out_of_order"
    CASSETTE_OVERUSED = "cassette_overused"
    TOOL_NOT_ALLOWED = "tool_not_allowed"
    ASSERTION_FAILED = "assertion_failed"
    JUDGE_UNCERTAIN = "judge_uncertain"
    SCORE_BELOW_THRESHOLD = "score_below_threshold"
    MODEL_MISS = "model_miss"  # a model call the cassette does not hold
    # The attempt could not be judged: status error.
    SPAWN_ERROR = "spawn_error"
    PROTOCOL_ERROR = "protocol_error"
    AGENT_EXITED = "agent_exited"
    TASK_ERROR = "task_error"
    CASSETTE_ERROR = "cassette_error"
    CASSETTE_NOT_WRITTEN = "cassette_not_written"
    TOOL_TRANSIENT_ERROR = "tool_transient_error"
    GRADER_ERROR = "grader_error"
    WORKSPACE_ERROR = "workspace_error"
    INTERNAL_ERROR = "internal_error"
    FORK_SERVER_LOST = "fork_server_lost"
    # The model provider could not answer (429 / 5xx past the retries, a refused key, a broken
    # stream) while recording or live: nothing was stored, and the attempt may be tried again.
    MODEL_UPSTREAM_ERROR = "model_upstream_error"
    # The provider refused the invoker's key (HTTP 401 / 403) while recording or live: the
    # machinery's fault, but no retry fixes a key: the invoker has to set another.
    MODEL_KEY_REFUSED = "model_key_refused"


class Infrastructure(enum.Enum):
    NEVER = "never"
    WHEN_DETAILS = "when_details"  # harness.execute.retry reads the failure's details
    ALWAYS = "always"


class KindRule(NamedTuple):
    status: Literal["fail", "error"]
    infrastructure: Infrastructure
    retryable: bool = False  # for ALWAYS: whether trying the attempt again can help
    # Counts wherever it appears among the failures, not only first: the agent was handed a
    # fake result, so whatever it did next is not its outcome.
    taints: bool = False


_FAIL = KindRule("fail", Infrastructure.NEVER)
_ERROR = KindRule("error", Infrastructure.NEVER)

RULES: dict[FailureKind, KindRule] = {
    FailureKind.AGENT_ERROR: _FAIL,
    FailureKind.BUDGET_EXCEEDED: _FAIL,
    FailureKind.CASSETTE_MISMATCH: _FAIL,
    FailureKind.CASSETTE_UNUSED: _FAIL,
    FailureKind.CASSETTE_OUT_OF_ORDER: _FAIL,
    FailureKind.CASSETTE_OVERUSED: _FAIL,
    FailureKind.TOOL_NOT_ALLOWED: _FAIL,
    FailureKind.ASSERTION_FAILED: _FAIL,
    FailureKind.JUDGE_UNCERTAIN: _FAIL,
    FailureKind.SCORE_BELOW_THRESHOLD: _FAIL,
    FailureKind.MODEL_MISS: _FAIL,
    FailureKind.SPAWN_ERROR: KindRule("error", Infrastructure.WHEN_DETAILS),
    FailureKind.PROTOCOL_ERROR: _ERROR,
    FailureKind.AGENT_EXITED: KindRule("error", Infrastructure.WHEN_DETAILS),
    FailureKind.TASK_ERROR: KindRule("error", Infrastructure.WHEN_DETAILS),
    FailureKind.CASSETTE_ERROR: _ERROR,
    FailureKind.CASSETTE_NOT_WRITTEN: _ERROR,
    FailureKind.TOOL_TRANSIENT_ERROR: KindRule(
        "error", Infrastructure.ALWAYS, retryable=True, taints=True
    ),
    # A grader or judge that could not run says nothing about the agent; trying the agent
    # again would not make the grader run.
    FailureKind.GRADER_ERROR: KindRule("error", Infrastructure.ALWAYS, taints=True),
    FailureKind.WORKSPACE_ERROR: KindRule("error", Infrastructure.ALWAYS),
    FailureKind.INTERNAL_ERROR: KindRule("error", Infrastructure.ALWAYS),
    # The fork server (agent_reuse: fork) died under the agent: its exit status is lost, and
    # a fresh child on a restarted server (or a spawned agent) can do what it could not.
    FailureKind.FORK_SERVER_LOST: KindRule("error", Infrastructure.ALWAYS, retryable=True),
    FailureKind.MODEL_UPSTREAM_ERROR: KindRule(
        "error", Infrastructure.ALWAYS, retryable=True, taints=True
    ),
    FailureKind.MODEL_KEY_REFUSED: KindRule("error", Infrastructure.ALWAYS, taints=True),
}

# Kinds written by other tools or older versions of harness are the agent's failures.
_UNKNOWN = _FAIL


def rule_of(kind: str) -> KindRule:
    """The rule of a failure type as stored (any string: unknown ones are failures)."""
    try:
        return RULES[FailureKind(kind)]
    except ValueError:
        return _UNKNOWN


def status_of(failures: Sequence[FailureLike]) -> Literal["pass", "fail", "error"]:
    """An attempt's status from its failures in order: the first one decides."""
    if not failures:
        return "pass"
    return rule_of(failures[0].type).status


TRANSIENT_SPAWN_ERRNOS = frozenset(
    {errno.EAGAIN, errno.ENOMEM, errno.EMFILE, errno.ENFILE, errno.ETXTBSY, errno.EINTR}
)
# Signals that reach an agent from outside: the kernel's OOM killer, an operator, a dying
# parent. Faults (SIGSEGV, SIGABRT, ...) are the agent's own doing and count as its failure.
EXTERNAL_SIGNALS = frozenset(
    int(sig)
    for sig in (
        signal.SIGKILL,
        signal.SIGTERM,
        signal.SIGHUP,
        signal.SIGINT,
        signal.SIGQUIT,
        signal.SIGUSR1,
        signal.SIGUSR2,
    )
)


class FailureLike(Protocol):
    """What the rules read of a failure (harness.results.Failure)."""

    @property
    def type(self) -> str: ...

    @property
    def details(self) -> Mapping[str, Any] | None: ...


class InfraFailure(NamedTuple):
    """Why an attempt's end is the machinery's fault, and whether trying again can help."""

    reason: str
    retryable: bool


def infra_failure(
    failures: Sequence[FailureLike], retry_exit_codes: Collection[int] = ()
) -> InfraFailure | None:
    """The infrastructure failure that ended an attempt, or None if the outcome is the
    agent's. The first failure is the one that ended the attempt; a kind that `taints` counts
    wherever it is listed."""
    if not failures:
        return None
    for failure in failures:
        rule = rule_of(failure.type)
        if rule.taints:
            return InfraFailure(_TAINT_REASONS[FailureKind(failure.type)], rule.retryable)
    first = failures[0]
    rule = rule_of(first.type)
    if rule.infrastructure is Infrastructure.ALWAYS:
        return InfraFailure(first.type, rule.retryable)
    if rule.infrastructure is Infrastructure.NEVER:
        return None
    return _from_details(first.type, first.details or {}, retry_exit_codes)


_TAINT_REASONS = {
    FailureKind.TOOL_TRANSIENT_ERROR: "live tool transient error",
    FailureKind.GRADER_ERROR: "grader error",
    FailureKind.MODEL_UPSTREAM_ERROR: "model upstream error",
    FailureKind.MODEL_KEY_REFUSED: "model provider refused the key",
}


def _from_details(
    kind: str, details: Mapping[str, Any], retry_exit_codes: Collection[int]
) -> InfraFailure | None:
    if kind == FailureKind.SPAWN_ERROR:
        code = details.get("errno")
        transient = isinstance(code, int) and code in TRANSIENT_SPAWN_ERRNOS
        name = errno.errorcode.get(code, str(code)) if isinstance(code, int) else "unknown"
        return InfraFailure(f"spawn failure ({name})", retryable=transient)
    if kind == FailureKind.AGENT_EXITED:
        status = details.get("exit_code")
        if isinstance(status, int) and status < 0 and -status in EXTERNAL_SIGNALS:
            return InfraFailure(f"agent killed by {_signal_name(-status)}", retryable=True)
        if isinstance(status, int) and status > 0 and status in retry_exit_codes:
            return InfraFailure(f"agent exit status {status} (retry.exit_codes)", retryable=True)
        return None
    if kind == FailureKind.TASK_ERROR:
        data = details.get("data")
        if isinstance(data, dict) and data.get("retryable") is True:
            return InfraFailure("agent task_error marked retryable", retryable=True)
    return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def outcome_of(failures: Sequence[FailureLike], infra: InfraFailure | None) -> Outcome:
    """passed, failed, budget_exceeded or infra_error (see harness.results)."""
    if not failures:
        return "passed"
    if infra is not None:
        return "infra_error"
    if any(f.type == FailureKind.BUDGET_EXCEEDED for f in failures):
        return "budget_exceeded"
    return "failed"
