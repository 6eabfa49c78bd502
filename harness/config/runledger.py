"""RunLedger's suite layout and rules: `suite.yaml` beside a folder of case files, paths relative
to the suite folder, case settings merged over the suite's.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

import msgspec

from harness.config.containment import (
    PROJECT_ROOT_ENV,
    Containment,
    PathOutsideProject,
    Project,
)
from harness.config.files import not_a_file
from harness.config.schema import (
    REGRESSION_ALIASES,
    Budgets,
    CallOrderAssertion,
    Case,
    CaseFile,
    GraderSpec,
    JsonSchemaAssertion,
    MustCallAssertion,
    Normalization,
    RecordMode,
    Suite,
    SuiteFile,
)
from harness.config.yaml_source import (
    MAX_DEPTH,
    Document,
    Problems,
    config_error,
    decode_text,
    display_path,
    parse_yaml,
    read_bytes,
    read_yaml,
)
from harness.errors import ConfigError
from harness.protocol.codec import DEFAULT_MAX_LINE_BYTES

SUITE_FILE_NAMES = ("suite.yaml", "suite.yml")
CASE_FILE_SUFFIXES = (".yaml", ".yml")
DEFAULT_KILL_GRACE_MS = 2000


class Layout(msgspec.Struct, frozen=True):  # a Struct: cheaper to define than a dataclass
    """One suite's files: the suite document, read, and its case files, sorted by name."""

    dir: Path
    suite: Document
    case_files: list[Path]
    project: Project


def find_suite_file(path: Path) -> Path:
    """`path` itself when it is a file, else the suite file in that folder."""
    shown = display_path(path)
    try:
        is_folder = stat.S_ISDIR(path.stat().st_mode)
        path = Path(os.path.abspath(path))
    except FileNotFoundError:
        raise config_error(shown, "no such suite folder or file") from None
    except (OSError, ValueError) as exc:
        raise config_error(shown, f"cannot open: {getattr(exc, 'strerror', None) or exc}") from None
    if not is_folder:
        return path
    found = [path / name for name in SUITE_FILE_NAMES if os.path.lexists(path / name)]
    if not found:
        raise config_error(shown, "no suite.yaml in this folder; pass a suite folder or its file")
    if len(found) > 1:
        raise config_error(shown, "both suite.yaml and suite.yml exist; keep one")
    return found[0]


def read_layout(suite_file: Path, problems: Problems, project_root: Path | None = None) -> Layout:
    """Read the suite file (raising if it is unreadable) and find its case files; the project
    is `project_root` when given, else the suite's (harness.config.containment)."""
    suite = _rename_aliases(read_yaml(suite_file), problems)
    folder = suite_file.parent
    project = _project(folder, project_root or os.environ.get(PROJECT_ROOT_ENV) or None)
    return Layout(folder, suite, _case_files(suite, folder, project, problems), project)


def _project(suite_dir: Path, root: str | Path | None) -> Project:
    if root is None:
        return Project.of_suite(suite_dir)
    try:
        return Project.at(Path(root), suite_dir)
    except PathOutsideProject as exc:
        raise config_error(display_path(suite_dir), str(exc)) from None


def _rename_aliases(suite: Document, problems: Problems) -> Document:
    """RunLedger's older `regression` key names -> the current ones, lines kept."""
    regression = suite.value.get("regression") if isinstance(suite.value, dict) else None
    if not isinstance(regression, dict) or not regression.keys() & REGRESSION_ALIASES.keys():
        return suite
    renamed, lines = {}, dict(suite.lines)
    for key, item in regression.items():
        new = REGRESSION_ALIASES.get(key, key)
        if new != key and new in regression:
            message = f"old name of `{new}`, which is also given; keep only `{new}`"
            problems.add(suite.error(message, f"$.regression.{key}"))
            continue
        lines[f"$.regression.{new}"] = suite.line_of(f"$.regression.{key}")
        renamed[new] = item
    return msgspec.structs.replace(suite, value={**suite.value, "regression": renamed}, lines=lines)


def _case_files(suite: Document, folder: Path, project: Project, problems: Problems) -> list[Path]:
    cases_path = suite.value.get("cases_path") if isinstance(suite.value, dict) else None
    if not isinstance(cases_path, str):
        return []  # converting the suite reports the missing or mistyped key
    cases_dir = _resolve(folder, cases_path)
    if project.outside(cases_dir):
        problems.add(suite.error(project.escape_message("cases folder", cases_dir), "$.cases_path"))
        return []
    shown = display_path(cases_dir)
    try:
        with os.scandir(cases_dir) as entries:
            names = sorted(
                entry.name
                for entry in entries
                # Dot files are editor lock and backup files, not cases.
                if entry.name.lower().endswith(CASE_FILE_SUFFIXES) and entry.name[0] != "."
            )
    except FileNotFoundError:
        names, problem = [], f"folder {shown} not found; create it or fix cases_path"
    except NotADirectoryError:
        names, problem = [], f"{shown} is not a folder; point cases_path at the case files' folder"
    except (OSError, ValueError) as exc:
        names, problem = [], f"cannot list {shown}: {getattr(exc, 'strerror', None) or exc}"
    else:
        problem = f"no case files (*.yaml, *.yml) in {shown}; add one file per case"
    if not names:
        problems.add(suite.error(problem, "$.cases_path"))
    containment = Containment(project)
    inside = []
    for path in (cases_dir / name for name in names):
        if containment.outside(path):  # a case file that is a link leading out
            problems.add(suite.error(project.escape_message("case file", path), "$.cases_path"))
        else:
            inside.append(path)
    return inside


def _resolve(folder: Path, relative: str) -> Path:
    return Path(os.path.abspath(folder / relative))


def resolve(
    layout: Layout,
    suite: SuiteFile,
    cases: list[tuple[Document, CaseFile]],
    mode: RecordMode,
    problems: Problems,
) -> Suite:
    """The checked specs -> a `Suite`; problems found on the way are recorded, not raised."""
    project = layout.project
    resolver = _Resolver(layout, suite, problems, project)
    resolved = [resolver.case(document, case) for document, case in cases]
    digest = hashlib.sha256(layout.suite.raw)
    for document, _ in cases:
        digest.update(document.raw)
    return Suite(
        name=suite.suite_name,
        dir=layout.dir,
        file=layout.suite.path,
        agent_command=tuple(resolver.command_element(element) for element in suite.agent_command),
        mode=mode,
        tool_registry=resolver.registry,
        tool_module=suite.tool_module,
        cases=tuple(resolved),
        regression=suite.regression,
        baseline_path=resolver.contained(layout.suite, "$.baseline_path", suite.baseline_path),
        # Not contained: harness only makes a new run folder under it, as under --output-dir.
        output_dir=resolver.optional_path(suite.output_dir),
        agent_cwd=resolver.agent_cwd(suite.agent_cwd),
        agent_env=suite.agent_env,
        agent_env_allow=None if suite.agent_env_allow is None else tuple(suite.agent_env_allow),
        max_line_bytes=_default(suite.max_line_bytes, DEFAULT_MAX_LINE_BYTES),
        kill_grace_ms=_default(suite.kill_grace_ms, DEFAULT_KILL_GRACE_MS),
        strict=suite.strict,
        agent_reuse=suite.agent_reuse,
        output_type=suite.output_type,
        preload=tuple(suite.preload),
        description=suite.description,
        config_hash=digest.hexdigest(),
        models=tuple(suite.models),
        runs=_default(suite.runs, 1),
        retry=suite.retry,
        quarantine=frozenset(suite.quarantine),
        tools=suite.tools,
        mcp_servers=suite.mcp_servers,
        redact=suite.redact,
        match=suite.match,
        model_proxy=suite.model_proxy,
        project=project,
    )


def _default(value: int | None, default: int) -> int:
    return default if value is None else value


# What a path field names, in the messages about it.
_PATH_KINDS = {
    "cassette": "cassette",
    "schema_path": "schema",
    "baseline_path": "baseline",
}


class _Resolver:
    """Resolves paths against the suite folder and merges each case over the suite."""

    def __init__(
        self, layout: Layout, suite: SuiteFile, problems: Problems, project: Project
    ) -> None:
        self.dir = layout.dir
        self.project = project
        self.containment = Containment(project)
        self.document = layout.suite
        self.problems = problems
        self.registry = frozenset(suite.tool_registry)
        # Loaded once per file however many cases use it: the document, or why it is unusable.
        self.schemas: dict[str, Any] = {}
        self.assertions, self.suite_schemas = self.resolve_assertions(layout.suite, suite)
        self.budgets = suite.budgets or Budgets()
        self.normalization = suite.normalization or Normalization()
        self.models = suite.models

    def case(self, document: Document, case: CaseFile) -> Case:
        assertions, schemas = self.resolve_assertions(document, case)
        normalization = self.normalization.merged(case.normalization)
        return Case(
            id=case.id,
            input=case.input,
            cassette_path=self.contained(document, "$.cassette", case.cassette),
            cassette_line=None if case.cassette is None else document.line_of("$.cassette"),
            file=document.path,
            line=document.line_of("$"),
            description=case.description,
            assertions=(*self.assertions, *assertions),
            budgets=self.budgets.merged(case.budgets),
            normalization=None if normalization.is_empty() else normalization,
            schemas={**self.suite_schemas, **schemas},
            tags=case.tags,
            models=tuple(self.models if case.models is None else case.models),
            project=self.project,
        )

    def optional_path(self, relative: str | None) -> Path | None:
        return None if relative is None else _resolve(self.dir, relative)

    def contained(self, document: Document, json_path: str, relative: str | None) -> Path | None:
        """The resolved path, or None after recording that it is outside the suite's project."""
        target = self.optional_path(relative)
        if target is None:
            return None
        kind = _PATH_KINDS.get(json_path.rpartition(".")[2], "file")
        if self.containment.outside(target):
            self.problems.add(document.error(self.project.escape_message(kind, target), json_path))
            return None
        if (problem := not_a_file(target)) is not None:
            # A FIFO would block harness at its first read, with nothing on the screen.
            self.problems.add(document.error(f"{kind} {display_path(target)} {problem}", json_path))
            return None
        return target

    def agent_cwd(self, relative: str | None) -> Path | None:
        path = self.optional_path(relative)
        if path is not None and not os.path.isdir(path):
            message = f"folder {display_path(path)} not found (relative to the suite folder)"
            self.problems.add(self.document.error(message, "$.agent_cwd"))
        return path

    def command_element(self, element: str) -> str:
        # RunLedger's rule: an element naming an existing path beside the suite becomes
        # absolute, so the agent starts from any cwd; anything else (`python3`) passes through.
        element = element.replace("\\", "/")
        if not element or os.path.isabs(element) or not os.path.exists(self.dir / element):
            return element
        return str(_resolve(self.dir, element))

    def resolve_assertions(
        self, document: Document, spec: SuiteFile | CaseFile
    ) -> tuple[tuple[GraderSpec, ...], dict[str, Any]]:
        resolved: list[GraderSpec] = []
        schemas: dict[str, Any] = {}
        for i, assertion in enumerate(spec.assertions or []):
            path = f"$.assertions[{i}]"
            if isinstance(assertion, JsonSchemaAssertion):
                target = _resolve(self.dir, assertion.schema_path)
                inside = self.contained(document, f"{path}.schema_path", assertion.schema_path)
                schema = (
                    None if inside is None else self.schema(document, path + ".schema_path", target)
                )
                if schema is not None:
                    schemas[str(target)] = schema
                assertion = msgspec.structs.replace(assertion, schema_path=str(target))
            elif isinstance(assertion, MustCallAssertion):
                self.check_registered(document, assertion.tools, f"{path}.tools")
            elif isinstance(assertion, CallOrderAssertion):
                self.check_registered(document, assertion.order, f"{path}.order")
            resolved.append(assertion)
        return tuple(resolved), schemas

    def check_registered(self, document: Document, tools: list[str], path: str) -> None:
        for i, tool in enumerate(tools):
            if tool not in self.registry:
                message = f"tool {tool!r} is not in tool_registry, so this can never pass"
                self.problems.add(document.error(message, f"{path}[{i}]"))

    def schema(self, document: Document, path: str, target: Path) -> Any:
        """The schema document at `target`, or None after recording why it is unusable."""
        key = str(target)
        if key not in self.schemas:
            try:
                is_file = stat.S_ISREG(target.stat().st_mode)
            except (OSError, ValueError):
                is_file = False
            if not is_file:
                # Reported at each reference, so every case naming it gets its own line.
                message = f"schema file {display_path(target)} not found (relative to the suite)"
                self.problems.add(document.error(message, path))
                return None
            try:
                self.schemas[key] = load_json_schema(target)
            except ConfigError as exc:
                self.schemas[key] = exc
        schema = self.schemas[key]
        if isinstance(schema, ConfigError):
            self.problems.add(schema)  # the same error again; Problems drops repeats
            return None
        return schema


def load_json_schema(path: Path) -> Any:
    """A JSON Schema file (JSON, or YAML when not named `*.json`), checked to be valid."""
    shown = display_path(path)
    text = decode_text(read_bytes(path, shown), shown)
    if path.suffix.lower() == ".json":
        schema = _decode_json(text, shown)
    else:
        schema = parse_yaml(text, shown)[0]
    import jsonschema_rs  # ~15 ms: only suites with a schema pay for it

    try:
        jsonschema_rs.validator_for(schema)
    # Any failure of the third-party validator means the same to the user: a bad schema.
    except Exception as exc:
        reason = str(exc).split("\n", 1)[0]
        raise config_error(shown, f"not a valid JSON Schema: {reason}") from None
    return schema


def _decode_json(text: str, shown: str) -> Any:
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        at_byte = str(exc).rpartition("(byte ")[2].rstrip(")")
        line = text.encode()[: int(at_byte)].count(b"\n") + 1 if at_byte.isdigit() else None
        raise config_error(shown, f"invalid JSON: {exc}", line=line) from None
    except RecursionError:
        value, too_deep = None, True
    else:
        too_deep = _deeper_than(value, MAX_DEPTH)
    # The validator is Rust: recursing through a deep enough schema would abort the process.
    if too_deep:
        raise config_error(shown, f"nested more than {MAX_DEPTH} levels deep")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False
