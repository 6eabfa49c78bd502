"""What msgspec cannot check in a suite or case file: models, retries, budgets, the
regression gate and normalization rules, each problem at its file:line."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec.inspect as mi

from harness.config.schema import (
    Budgets,
    CaseFile,
    MetricGates,
    Normalization,
    Regression,
    RetrySpec,
    SuiteFile,
)
from harness.config.yaml_source import (
    Document,
    Problems,
)
from harness.plan.live_tools import check_live_tools
from harness.plan.model_proxy import check_model_proxy

T = TypeVar("T")

_AT = re.compile(r"(?s)(.*?)(?: - at `(?:key` in `)?(\$[^`]*)`)?")
_SEGMENT = re.compile(r"\.(\w+)|\[(\d+)\]|\[\.\.\.\]")
_ASSERTION_TYPE = re.compile(r"\$\.assertions\[\d+\]\.type")
_KIND_NAMES = {"object": "mapping", "array": "list", "dict": "mapping", "NoneType": "null"}
_HINTS = {"$.agent_command": "; write the command as a list, e.g. [python3, agent.py]"}
_TYPE_INFO: dict[type[Any], mi.Type] = {}
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


def check_suite(document: Document, suite: SuiteFile, problems: Problems) -> None:
    def require(ok: bool, path: str, message: str) -> None:
        if not ok:
            problems.add(document.error(message, path))

    name = suite.suite_name
    require(
        name.strip() not in ("", ".", "..") and not re.search(r"[/\\\x00-\x1f]", name),
        "$.suite_name",
        "must be a plain name, without slashes (it names the output folder)",
    )
    require(bool(suite.agent_command), "$.agent_command", "must name a program to run")
    require(bool(suite.agent_command[:1] != [""]), "$.agent_command[0]", "must not be empty")
    for i, element in enumerate(suite.agent_command):
        require("\x00" not in element, f"$.agent_command[{i}]", "contains a NUL character")
    for i, module in enumerate(suite.preload):
        require(
            _MODULE_NAME.fullmatch(module) is not None,
            f"$.preload[{i}]",
            f"{module!r} is not a module name; write it as in `import`, e.g. pydantic_ai",
        )
    if suite.max_line_bytes is not None:
        require(suite.max_line_bytes > 0, "$.max_line_bytes", "must be greater than 0")
    if suite.kill_grace_ms is not None:
        require(suite.kill_grace_ms >= 0, "$.kill_grace_ms", "must be 0 or more")
    _check_budgets(document, suite.budgets, problems)
    _check_normalization(document, suite.normalization, problems)
    _check_models(document, suite.models, problems)
    check_live_tools(document, suite, problems)
    check_model_proxy(document, suite.model_proxy, problems)
    if suite.runs is not None:
        require(suite.runs >= 0, "$.runs", f"must be 0 or more, got {suite.runs}")
    if suite.retry is not None:
        _check_retry(document, suite.retry, problems)
    if suite.regression is not None:
        _check_regression(document, suite.regression, problems)


def check_case(document: Document, case: CaseFile, problems: Problems) -> None:
    if not case.id.strip():
        problems.add(document.error("must not be empty", "$.id"))
    _check_budgets(document, case.budgets, problems)
    _check_normalization(document, case.normalization, problems)
    if case.models is not None:
        _check_models(document, case.models, problems)


def model_name_problem(name: str) -> str | None:
    """Why `name` cannot be a model name, or None. Names go into attempt ids, paths
    (`attempts/<case>/<model>/`, `{model}` in cassette paths) and the agent's environment."""
    if not name.strip():
        return "a model name must not be empty"
    if name != name.strip() or "," in name or re.search(r"[\x00-\x1f\\]", name):
        return f"model name {name!r}: no comma, backslash, control character or outer space"
    if ".." in name.split("/") or name.startswith("/"):
        return f"model name {name!r} would leave its folder (an absolute path or a .. part)"
    return None


def _check_models(document: Document, models: list[str], problems: Problems) -> None:
    seen: set[str] = set()
    for i, name in enumerate(models):
        if (problem := model_name_problem(name)) is None and name in seen:
            problem = f"model {name!r} is listed twice"
        if problem is not None:
            problems.add(document.error(problem, f"$.models[{i}]"))
        seen.add(name)


def _check_retry(document: Document, retry: RetrySpec, problems: Problems) -> None:
    for name in ("max_retries", "initial_backoff_ms", "max_backoff_ms"):
        value = getattr(retry, name)
        if value is not None and value < 0:
            problems.add(document.error(f"must be 0 or more, got {value}", f"$.retry.{name}"))
    for i, code in enumerate(retry.exit_codes):
        if not 1 <= code <= 255:
            message = f"must be an exit status from 1 to 255, got {code}"
            problems.add(document.error(message, f"$.retry.exit_codes[{i}]"))


def _check_budgets(document: Document, budgets: Budgets | None, problems: Problems) -> None:
    for name in Budgets.__struct_fields__:
        limit = None if budgets is None else getattr(budgets, name)
        # `not limit >= 0` also catches NaN.
        if limit is not None and not limit >= 0:
            problems.add(document.error(f"must be 0 or more, got {limit}", f"$.budgets.{name}"))


def _check_regression(document: Document, regression: Regression, problems: Problems) -> None:
    def fraction(value: float | None, path: str) -> None:
        if value is not None and not 0 <= value <= 1:
            hint = f"; did you mean {value / 100:g}?" if 1 < value <= 100 else ""
            message = f"must be a fraction between 0 and 1, got {value:g}{hint}"
            problems.add(document.error(message, path))

    fraction(regression.min_pass_rate, "$.regression.min_pass_rate")
    fraction(regression.max_pass_rate_drop, "$.regression.max_pass_rate_drop")
    fraction(regression.min_case_pass_rate, "$.regression.min_case_pass_rate")
    for case_id, rate in regression.case_pass_rates.items():
        fraction(rate, f"$.regression.case_pass_rates.{case_id}")
    if regression.significance is not None:
        alpha = regression.significance.alpha
        if not 0 < alpha < 1:
            message = f"must be between 0 and 1 (exclusive), got {alpha:g}"
            problems.add(document.error(message, "$.regression.significance.alpha"))
        fraction(regression.significance.min_drop, "$.regression.significance.min_drop")
    for name in MetricGates.__struct_fields__:
        gate = None if regression.metrics is None else getattr(regression.metrics, name)
        for key in ("max_increase", "max_increase_pct"):
            limit = None if gate is None else getattr(gate, key)
            if limit is not None and not limit >= 0:  # NaN too
                path = f"$.regression.metrics.{name}.{key}"
                problems.add(document.error(f"must be 0 or more, got {limit}", path))


def _check_normalization(
    document: Document, normalization: Normalization | None, problems: Problems
) -> None:
    rules = [] if normalization is None else normalization.replace_text
    for i, rule in enumerate(rules):
        path = f"$.normalization.replace_text[{i}]"
        flags = re.RegexFlag(0)
        for letter in rule.flags or "":
            if letter not in _REGEX_FLAGS:
                message = f"unknown flag {letter!r}; use letters from 'ims'"
                problems.add(document.error(message, f"{path}.flags"))
                break
            flags |= _REGEX_FLAGS[letter]
        try:
            re.compile(rule.pattern, flags)
        except (re.error, RecursionError, OverflowError, ValueError) as exc:
            message = f"invalid regular expression: {exc}; escape special characters with \\"
            problems.add(document.error(message, f"{path}.pattern"))
