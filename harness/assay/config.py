"""Assay V1 `eval.yaml` -> an `AssayConfig`: what Assay 5.4's parser accepts (configVersion or
version, suite, model, settings, string or mapping input, legacy `expected` forms) and what its
V1 reference promised (json_match, exact_match, five more trace assertions, `tool_name`,
`description`, a string `context`). Every problem is `file:line: field: what; what to do`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import msgspec

from harness.assay import expected as legacy
from harness.config.containment import Project
from harness.config.schema import GraderSpec
from harness.config.suggest import did_you_mean
from harness.config.yaml_source import Document, Problems, display_path, read_yaml
from harness.errors import ConfigError
from harness.grading import output
from harness.grading.assay import metrics
from harness.grading.assay.schema import (
    AssayFile,
    AssayJsonSchema,
    InputFile,
    JudgeCriteria,
    Ref,
    TestFile,
    ToolCollisionDetect,
    ToolDescriptionIntegrity,
)
from harness.grading.preparation import Preparation
from harness.grading.prepare import prepare_spec, prepare_specs
from harness.plan.convert import convert

MAX_CONFIG_BYTES = 1024 * 1024  # Assay's limit
SETTINGS_KEYS = (
    "parallel",
    "timeout_seconds",
    "cache",
    "seed",
    "judge",
    "thresholding",
    "on_error",
    "bail_on_first_failure",
)
# The V1 reference's names for two settings: accepted, said once.
SETTINGS_ALIASES = {"timeout": "timeout_seconds", "concurrency": "parallel"}
ON_ERROR = ("block", "allow")


class AssayConfigError(ConfigError):
    """A config problem; `reason` is Assay's reason code (E_MISSING_CONFIG or E_CFG_PARSE)."""

    reason = "E_CFG_PARSE"


@dataclasses.dataclass(frozen=True)
class AssayTest:
    id: str
    prompt: str
    line: int
    expected: GraderSpec | None  # the output check; None when the test omits it
    metric: str  # Assay's metric name for `expected` (details.metrics key)
    assertions: tuple[GraderSpec, ...]
    context: tuple[str, ...] = ()
    on_error: str | None = None
    tags: tuple[str, ...] = ()
    description: str | None = None


@dataclasses.dataclass(frozen=True)
class AssayConfig:
    path: Path
    raw: bytes
    version: int
    suite: str
    model: str
    settings: dict[str, Any]
    tests: tuple[AssayTest, ...]
    warnings: tuple[str, ...] = ()

    @property
    def on_error(self) -> str:
        return str(self.settings.get("on_error") or "block")


def load_assay_config(
    path: Path, *, deny_deprecations: bool = False, allow_ineffective: bool = False
) -> AssayConfig:
    """Read and check `path`; AssayConfigError (exit 2) with every problem found."""
    shown = display_path(path)
    if not path.exists():
        error = AssayConfigError(shown, "config file not found; pass --config PATH")
        error.reason = "E_MISSING_CONFIG"
        raise error
    if path.is_file() and path.stat().st_size > MAX_CONFIG_BYTES:
        raise AssayConfigError(shown, f"is larger than {MAX_CONFIG_BYTES} bytes (Assay's limit)")
    try:
        document = read_yaml(path)
    except ConfigError as exc:
        raise AssayConfigError(exc.path, exc.message, line=exc.line, field=exc.field) from None
    loader = _Loader(document, deny_deprecations, allow_ineffective)
    config = loader.load()
    if loader.problems.errors:
        try:
            loader.problems.check()
        except ConfigError as exc:
            raise AssayConfigError(None, str(exc)) from None
    assert config is not None
    return config


class _Loader:
    def __init__(self, document: Document, deny: bool, allow_ineffective: bool) -> None:
        self.document = document
        self.deny = deny
        self.allow_ineffective = allow_ineffective
        self.problems = Problems()
        self.warnings: list[str] = []

    def error(self, message: str, path: str = "$") -> None:
        self.problems.add(self.document.error(message, path))

    def load(self) -> AssayConfig | None:
        value = self.document.value
        if not isinstance(value, dict):
            self.error("expected a mapping with the keys suite, model and tests")
            return None
        value = self._top_level(dict(value))

        converted = convert(
            msgspec.structs.replace(self.document, value=value), AssayFile, self.problems
        )
        if converted is None:
            return None
        if not converted.tests:
            self.error("must list at least one test", "$.tests")
        tests = tuple(self._test(i, test) for i, test in enumerate(converted.tests))
        self._check_ids(converted.tests)
        suite = converted.suite
        if suite is None:
            suite = self.document.path.stem
            self.warnings.append(
                f"no `suite:` (Assay 5.4 requires one, its V1 reference omits it); using {suite!r}"
            )
        version = converted.configVersion
        if version not in (0, 1):
            self.error(f"only 0 or 1, got {version}", "$.configVersion")
        return AssayConfig(
            path=self.document.path,
            raw=self.document.raw,
            version=version,
            suite=suite,
            model=converted.model,
            settings=self.settings,
            tests=tests,
            warnings=tuple(self.warnings),
        )

    def _top_level(self, value: dict[str, Any]) -> dict[str, Any]:
        if "version" in value:
            if "configVersion" in value:
                self.error("give configVersion or its alias version, not both", "$.version")
            else:
                value["configVersion"] = value.pop("version")
                self._move("$.version", "$.configVersion")
        if "policies" in value:
            self.error(
                "the v0 `policies:` list is no longer read; inline each policy into the test's"
                " `expected:` or `assertions:` (`assay migrate` does this)",
                "$.policies",
            )
            value.pop("policies")
        self.settings = self._settings(value.pop("settings", None) or {})
        rewriter = legacy.Rewriter(self.document)
        tests = value.get("tests")
        if isinstance(tests, list):
            value["tests"] = [self._rewrite(rewriter, i, t) for i, t in enumerate(tests)]
        for where, message in rewriter.errors:
            self.error(message, where)
        self.document = msgspec.structs.replace(self.document, lines=rewriter.lines)
        return value

    def _rewrite(self, rewriter: legacy.Rewriter, i: int, test: Any) -> Any:
        if not isinstance(test, dict):
            return test
        test = dict(test)
        if "expected" in test:
            test["expected"] = rewriter.expected(test["expected"], f"$.tests[{i}].expected")
        if "assertions" in test:
            test["assertions"] = rewriter.assertions(test["assertions"], f"$.tests[{i}].assertions")
        return test

    def _move(self, old: str, new: str) -> None:
        lines = dict(self.document.lines)
        for path, line in self.document.lines.items():
            if path == old or path.startswith((old + ".", old + "[")):
                lines[new + path[len(old) :]] = line
        self.document = msgspec.structs.replace(self.document, lines=lines)

    def _settings(self, settings: Any) -> dict[str, Any]:
        if not isinstance(settings, dict):
            self.error("must be a mapping", "$.settings")
            return {}
        kept: dict[str, Any] = {}
        for key, item in settings.items():
            path = f"$.settings.{key}"
            if key in SETTINGS_ALIASES:
                real = SETTINGS_ALIASES[key]
                note = f"the V1 reference's name for `{real}`"
                if self.deny:
                    self.error(f"deprecated: {note}; write `{real}`", path)
                self.warnings.append(f"settings.{key}: {note}; read as {real}")
                kept.setdefault(real, item)
            elif key in SETTINGS_KEYS:
                kept[key] = item
            elif self.deny:
                hint = did_you_mean(key, SETTINGS_KEYS)
                valid = ", ".join(SETTINGS_KEYS)
                self.error(f"unknown settings key; {hint}valid keys: {valid}", path)
            else:
                self.warnings.append(f"Ignored unknown config fields: settings.{key}")
        if kept.get("on_error", "block") not in ON_ERROR:
            self.error(f"must be block or allow, got {kept['on_error']!r}", "$.settings.on_error")
        return kept

    def _test(self, i: int, test: TestFile) -> AssayTest:
        path = f"$.tests[{i}]"
        base = self.document.path.parent
        project = Project.of_suite(base)
        expected, metric = None, "must_contain"
        if test.expected is not None:
            metric = str(type(test.expected).__struct_config__.tag)
            where = Preparation(self.document, f"{path}.expected", base, project, self.problems)
            spec = _as_grader(test.expected, where)
            if spec is not None:
                expected = prepare_spec(where, spec, allow_ineffective=self.allow_ineffective)
                self._policy_warning(expected, f"{path}.expected")
        elif not test.assertions and not self.allow_ineffective:
            self.error(
                "this test has no `expected:` and no `assertions:`, so it passes for any response;"
                " add a check, or pass --allow-ineffective-assertions",
                f"{path}.id",
            )
        assertions = prepare_specs(
            self.document,
            list(test.assertions or []),
            base_dir=base,
            project=project,
            problems=self.problems,
            allow_ineffective=self.allow_ineffective,
            prefix=f"{path}.assertions",
        )
        if test.on_error is not None and test.on_error not in ON_ERROR:
            self.error(f"must be block or allow, got {test.on_error!r}", f"{path}.on_error")
        prompt, context = (test.input, ()) if isinstance(test.input, str) else _input(test.input)
        return AssayTest(
            id=test.id,
            prompt=prompt,
            line=self.document.line_of(path),
            expected=expected,
            metric=metric,
            assertions=tuple(assertions),
            context=context,
            on_error=test.on_error,
            tags=tuple(test.tags),
            description=test.description,
        )

    def _policy_warning(self, spec: GraderSpec, path: str) -> None:
        if getattr(spec, "policy", None) and isinstance(
            spec, metrics.ArgsValid | metrics.SequenceValid
        ):
            if self.deny:
                self.error("deprecated policy file usage; inline the policy", f"{path}.policy")
            self.warnings.append(f"Deprecated policy file usage at {path.removeprefix('$.')}")

    def _check_ids(self, tests: list[TestFile]) -> None:
        # Assay does not notice duplicates; two rows under one id make every report ambiguous.
        seen: dict[str, int] = {}
        for i, test in enumerate(tests):
            if test.id in seen:
                first = seen[test.id]
                message = f"duplicate test id {test.id!r} (also tests[{first}]); ids must be unique"
                self.error(message, f"$.tests[{i}].id")
            seen.setdefault(test.id, i)


def _input(value: InputFile) -> tuple[str, tuple[str, ...]]:
    context = value.context
    if context is None:
        return value.prompt, ()
    return value.prompt, (context,) if isinstance(context, str) else tuple(context)


def _as_grader(spec: GraderSpec, where: Preparation) -> GraderSpec | None:
    """The grader an expected spec is run as; None when it cannot run here (recorded)."""
    match spec:
        case AssayJsonSchema(json_schema=text, schema_file=file):
            if text is None and file is None:
                where.error("give the schema as `json_schema` (JSON text) or `schema_file`")
                return None
            return _json_schema(text or "", file, spec, where)
        case JudgeCriteria():
            where.error(
                "expected block is not executable: judge_criteria has no registered"
                " evaluator (use faithfulness or relevance)",
                "type",
            )
        case ToolDescriptionIntegrity() | ToolCollisionDetect():
            tag = spec.__struct_config__.tag
            where.error(
                f"{tag} is not supported by harness (it reads MCP tool-definition"
                " snapshots, which harness does not record)",
                "type",
            )
        case Ref(path=target):
            where.error(
                f"unresolved `$ref` to {target!r} cannot run; inline it (`assay migrate`"
                " resolves it)",
                "path",
            )
        case _:
            return spec
    return None


def _json_schema(
    text: str, file: str | None, spec: GraderSpec, where: Preparation
) -> GraderSpec | None:

    if file is not None:
        return output.JsonMatch(schema_file=file, name="json_schema", weight=spec.weight)
    try:
        schema = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        where.error(f"invalid JSON schema: {exc}", "json_schema")
        return None
    return output.JsonMatch(schema=schema, name="json_schema", weight=spec.weight)
