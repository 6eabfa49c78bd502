"""Load a suite: read its layout, convert each YAML document to its schema struct (a msgspec
`$.path` error becomes file:line), check the values msgspec cannot, then resolve a `Suite`.
"""

from __future__ import annotations

import contextlib
import functools
import re
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

from harness.config import runledger
from harness.config.schema import (
    Budgets,
    CaseFile,
    MetricGates,
    Normalization,
    RecordMode,
    Regression,
    RetrySpec,
    Suite,
    SuiteFile,
    parse_mode,
)
from harness.config.yaml_source import (
    Document,
    Problems,
    config_error,
    display_path,
    read_yaml,
)
from harness.errors import ConfigError
from harness.grading import loading as grading
from harness.plan.live_tools import bad_backend, check_live_tools

T = TypeVar("T")

_AT = re.compile(r"(?s)(.*?)(?: - at `(?:key` in `)?(\$[^`]*)`)?")
_SEGMENT = re.compile(r"\.(\w+)|\[(\d+)\]|\[\.\.\.\]")
_ASSERTION_TYPE = re.compile(r"\$\.assertions\[\d+\]\.type")
_KIND_NAMES = {"object": "mapping", "array": "list", "dict": "mapping", "NoneType": "null"}
_HINTS = {"$.agent_command": "; write the command as a list, e.g. [python3, agent.py]"}
_TYPE_INFO: dict[type[Any], mi.Type] = {}
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


def load_suite(
    path: str | Path, *, mode: str | None = None, allow_ineffective: bool = False
) -> Suite:
    """Load, check and resolve a suite, reporting every problem found in one error.

    Args:
        path: the suite folder, or its `suite.yaml` (or `suite.yml`) file.
        mode: overrides the suite's `mode`, as the CLI's `--mode` does.
        allow_ineffective: run assertions that can never fail instead of refusing them.

    Returns:
        The resolved suite: paths absolute, case settings merged over the suite's.

    Raises:
        ConfigError: the one problem found; `ConfigErrors` when there are several.
    """
    problems = Problems()
    layout = runledger.read_layout(runledger.find_suite_file(Path(path)), problems)
    shown = [display_path(case_file) for case_file in layout.case_files]
    problems.file_order = [layout.suite.shown, *shown]
    suite_kind, case_kind = grading.file_kinds()
    suite_document = grading.flatten_config(layout.suite)
    strict = grading.specs_forbid_unknown_fields()
    suite = convert(suite_document, suite_kind, problems, strict_kind=strict)
    registry = None if suite is None else frozenset(suite.tool_registry)
    prepare = functools.partial(
        grading.prepare_file,
        base_dir=layout.dir,
        problems=problems,
        tool_registry=registry,
        allow_ineffective=allow_ineffective,
    )
    if suite is not None:
        check_suite(layout.suite, suite, problems)
        suite = prepare(suite_document, suite)
    documents = [
        document
        for case_file, case_shown in zip(layout.case_files, shown, strict=True)
        if (document := problems.attempt(functools.partial(read_yaml, case_file, case_shown)))
        is not None
    ]
    cases: list[tuple[Document, CaseFile]] = []
    for document in map(grading.flatten_config, documents):
        if (case := convert(document, case_kind, problems, strict_kind=strict)) is not None:
            check_case(document, case, problems)
            cases.append((document, prepare(document, case)))
    _check_unique_ids(documents, problems)
    if suite is not None:
        _check_case_refs(layout.suite, suite, {case.id for _, case in cases}, problems)
    record_mode = _record_mode(layout.suite, suite, mode, problems)
    if suite is None:
        problems.check()  # raises: why the suite is None was recorded
        raise AssertionError("unreachable")
    # A bad mode is recorded already; resolving anyway finds the other problems too.
    resolved = runledger.resolve(layout, suite, cases, record_mode or RecordMode.replay, problems)
    resolved = grading.attach_case_settings(resolved, suite, layout.suite, cases, problems)
    problems.check()
    return resolved


def _check_unique_ids(documents: list[Document], problems: Problems) -> None:
    # On the raw values, so a case that fails to convert still claims its id.
    first: dict[str, Document] = {}
    for document in documents:
        case_id = document.value.get("id") if isinstance(document.value, dict) else None
        if (
            isinstance(case_id, str)
            and (other := first.setdefault(case_id, document)) is not document
        ):
            where = f"{other.shown}:{other.line_of('$.id')}"
            message = f"duplicate case id {case_id!r}, also used in {where}; ids must be unique"
            problems.add(document.error(message, "$.id"))


def _check_case_refs(
    document: Document, suite: SuiteFile, known: set[str], problems: Problems
) -> None:
    """Case ids named by the gate settings must exist: a typo would silently gate nothing."""
    regression = suite.regression or Regression()
    named = [(f"$.quarantine[{i}]", case_id) for i, case_id in enumerate(suite.quarantine)]
    named += [
        (f"$.regression.expected_failures[{i}]", case_id)
        for i, case_id in enumerate(regression.expected_failures)
    ]
    named += [(f"$.regression.case_pass_rates.{key}", key) for key in regression.case_pass_rates]
    for path, case_id in named:
        if case_id not in known:
            message = f"unknown case id {case_id!r}; known: {', '.join(sorted(known)) or 'none'}"
            problems.add(document.error(message, path))


def _record_mode(
    document: Document, suite: SuiteFile | None, override: str | None, problems: Problems
) -> RecordMode | None:
    declared = None
    if suite is not None:
        try:
            declared = parse_mode(suite.mode)
        except ValueError as exc:
            problems.add(document.error(str(exc), "$.mode"))
    if override is None:
        return declared
    try:
        return parse_mode(override)
    except ValueError as exc:
        problems.add(config_error(None, f"{exc} (from --mode)", field="mode"))
        return None


# Conversion ---------------------------------------------------------------------------------


def convert(
    document: Document, kind: type[T], problems: Problems, *, strict_kind: bool = False
) -> T | None:
    """The document as a `kind` struct, or None after recording what is wrong with it.

    Unknown keys are found first, all of them, by walking the struct's type; msgspec then
    reports the first remaining problem, whose `$.path` is mapped back to a line.

    `strict_kind`: every struct inside `kind` forbids unknown fields, so a document msgspec
    accepts as it is has no unknown key either, and the walk (its type info alone costs ~30 ms
    a run) is needed only to explain a document msgspec rejects.
    """
    if strict_kind and isinstance(document.value, dict):
        with contextlib.suppress(msgspec.ValidationError):
            return msgspec.convert(document.value, kind)
    info = _type_info(kind)
    if not isinstance(document.value, dict):
        problems.add(document.error(_not_a_mapping(document.value, info)))
        return None
    unknown: list[ConfigError] = []
    value = _prune(document, document.value, info, "$", unknown)
    for error in unknown:
        problems.add(error)
    try:
        result = msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        problems.add(_explain(document, value, str(exc)))
        return None
    # With unknown keys dropped the struct is still worth checking further: more errors found.
    return result


def _type_info(kind: type[Any]) -> mi.Type:
    info = _TYPE_INFO.get(kind)
    if info is None:
        info = _TYPE_INFO[kind] = mi.type_info(kind)
    return info


def _not_a_mapping(value: Any, info: mi.Type) -> str:
    assert isinstance(info, mi.StructType)
    required = ", ".join(field.encode_name for field in info.fields if field.required)
    if value is None:
        return f"the file is empty; expected a mapping with the keys {required}"
    return f"expected a mapping with the keys {required}, got {_kind_of(value)}"


def _prune(
    document: Document, value: Any, info: mi.Type, path: str, unknown: list[ConfigError]
) -> Any:
    """`value` without the keys `info` does not know, each recorded as an error."""
    if isinstance(info, mi.UnionType):
        info = _pick(info, value)
    if isinstance(info, mi.StructType) and isinstance(value, dict):
        fields = {field.encode_name: field.type for field in info.fields}
        kept = {}
        for key, item in value.items():
            if key in fields:
                kept[key] = _prune(document, item, fields[key], f"{path}.{key}", unknown)
            elif key == info.tag_field:
                kept[key] = item
            else:
                valid = ", ".join(_keys(info))
                unknown.append(document.error(f"unknown key; valid keys: {valid}", f"{path}.{key}"))
        return kept
    if isinstance(info, mi.ListType) and isinstance(value, list):
        item_type = info.item_type
        return [
            _prune(document, item, item_type, f"{path}[{i}]", unknown)
            for i, item in enumerate(value)
        ]
    if isinstance(info, mi.DictType) and isinstance(value, dict):
        value_type = info.value_type
        return {
            key: _prune(document, item, value_type, f"{path}.{key}", unknown)
            for key, item in value.items()
        }
    return value


def _pick(union: mi.UnionType, value: Any) -> mi.Type:
    """The member of `union` that `value` is meant to be (a tagged struct chosen by its tag)."""
    members = [member for member in union.types if not isinstance(member, mi.NoneType)]
    if isinstance(value, dict):
        for member in members:
            if isinstance(member, mi.StructType) and (
                member.tag_field is None or value.get(member.tag_field) == member.tag
            ):
                return member
    return members[0] if len(members) == 1 else union


def _keys(info: mi.StructType) -> list[str]:
    names = [field.encode_name for field in info.fields]
    return [info.tag_field, *names] if info.tag_field else names


def _explain(document: Document, value: Any, text: str) -> ConfigError:
    """A msgspec validation message -> a ConfigError at the line of its `$.path`."""
    found = _AT.fullmatch(text)
    assert found is not None  # the pattern matches any text
    message, path = found[1], found[2] or "$"
    if (message.startswith("Invalid value") or message.startswith("Object missing")) and (
        backend := bad_backend(value, path if "missing" not in message else path + ".backend")
    ):
        return document.error(*backend)
    if missing := re.fullmatch(r"Object missing required field `(.+)`", message):
        target = f"{path}.{missing[1]}"
        return document.error("missing required key" + _types_hint(target), target)
    if unknown := re.fullmatch(r"Object contains unknown field `(.+)`", message):
        return document.error("unknown key", f"{path}.{unknown[1]}")
    actual = _sample(_value_at(value, path))
    if expected := re.fullmatch(r"Expected `(.+?)`, got `(.+?)`", message):
        got = _kinds(expected[2])
        if path.endswith("[...]"):  # a dict's value: msgspec does not say which key
            path, actual = _dict_entry(value, path.removesuffix("[...]"), got)
        text = f"expected {_kinds(expected[1])}, got {got}{actual}"
        return document.error(text + (_types_hint(path) or _HINTS.get(path, "")), path)
    if message.startswith("Invalid value") and (hint := _types_hint(path)):
        return document.error(f"unknown type{actual}{hint}", path)
    return document.error(message[:1].lower() + message[1:], path)


def _value_at(value: Any, path: str) -> Any:
    """The value at a msgspec `$.path`, which names struct fields and list indexes only."""
    for name, index in _SEGMENT.findall(path):
        if name and isinstance(value, dict):
            value = value.get(name)
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return None
    return value


def _dict_entry(value: Any, path: str, kind: str) -> tuple[str, str]:
    """The path and sample of the first entry of the dict at `path` whose value is a `kind`."""
    entries = _value_at(value, path)
    for key, item in entries.items() if isinstance(entries, dict) else ():
        if _kind_of(item) == kind:
            return f"{path}.{key}", _sample(item)
    return path, ""


def _types_hint(path: str) -> str:
    """The valid assertion types, when `path` is an assertion's `type`."""
    if _ASSERTION_TYPE.fullmatch(path):
        return f"; valid types: {', '.join(grading.type_names())}"
    return ""


def _kinds(text: str) -> str:
    names = [_KIND_NAMES.get(name, name) for name in text.split(" | ")]
    return " or ".join([name for name in names if name != "null"] or names)


def _kind_of(value: Any) -> str:
    return _KIND_NAMES.get(type(value).__name__, type(value).__name__)


def _sample(value: Any) -> str:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        shown = msgspec.json.encode(value).decode() if not isinstance(value, float) else repr(value)
        return " " + (shown if len(shown) <= 40 else shown[:37] + "...")
    return ""


# Checks msgspec cannot express ----------------------------------------------------------------


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
    if suite.max_line_bytes is not None:
        require(suite.max_line_bytes > 0, "$.max_line_bytes", "must be greater than 0")
    if suite.kill_grace_ms is not None:
        require(suite.kill_grace_ms >= 0, "$.kill_grace_ms", "must be 0 or more")
    _check_budgets(document, suite.budgets, problems)
    _check_normalization(document, suite.normalization, problems)
    _check_models(document, suite.models, problems)
    check_live_tools(document, suite, problems)
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
