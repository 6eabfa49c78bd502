"""The record, auto and replay gateways (harness.cassette.gateway) over a fake backend: what the
agent sees, what is written and when, merging by case, and matching after redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cassette.format import read_cassette
from harness.cassette.gateway import AutoGateway, RecordGateway, ReplayGateway
from harness.cassette.ignore import IgnoreArgs
from harness.cassette.keys import Matcher
from harness.cassette.recorder import CassetteRecorder, entries_for_case
from harness.cassette.redact import Redactor
from harness.config.schema import Budgets, Case, ToolRetry
from harness.errors import CassetteError, CassetteMissError
from harness.tools.backend import LiveTool, TransientToolError
from harness.tools.fake import FakeBackend
from harness.tools.registry import ToolSet

SECRET = "s3cr3t-Value-99"

ENV = {"SERVICE_TOKEN": SECRET}


def make_case(case_id: str, cassette: Path) -> Case:
    return Case(
        id=case_id,
        input={},
        cassette_path=cassette,
        file=cassette,
        line=1,
        description=None,
        assertions=(),
        budgets=Budgets(),
        normalization=None,
        schemas={},
    )


def setup(tmp_path: Path, *case_ids: str) -> tuple[FakeBackend, ToolSet, CassetteRecorder, Path]:
    fake = FakeBackend({"lookup": lambda args: {"key": args["key"], "token": SECRET}})
    fast = ToolRetry(attempts=3, initial_backoff_ms=1, max_backoff_ms=2)
    tools = ToolSet({"lookup": LiveTool("lookup", fake, retry=fast)})
    path = tmp_path / "shared.jsonl"
    cases = [make_case(case_id, path) for case_id in case_ids]
    recorder = CassetteRecorder(cases, redactor=Redactor(None, ENV), kind_of=tools.kind)
    return fake, tools, recorder, path


def record(tools: ToolSet, recorder: CassetteRecorder, case_id: str, path: Path) -> RecordGateway:
    return RecordGateway(
        tools, Redactor(None, ENV), recorder=recorder, case_id=case_id, cassette_path=path
    )


async def test_the_agent_gets_the_redacted_answer_and_nothing_is_written_early(
    tmp_path: Path,
) -> None:
    _, tools, recorder, path = setup(tmp_path, "a")
    gateway = record(tools, recorder, "a", path)
    answer = await gateway.answer("lookup", {"key": "k"})
    assert answer.result["token"].startswith("[REDACTED:") and SECRET not in str(answer)
    assert not path.exists()
    [failure] = gateway.finish(completed=False)
    assert failure.type == "cassette_not_written" and not path.exists()
    assert gateway.finish(completed=True) == []
    cassette = read_cassette(path)
    assert cassette.header is not None and cassette.header.backend == "fake"
    assert cassette.interactions == [answer]


async def test_an_unreachable_tool_keeps_the_old_cassette(tmp_path: Path) -> None:
    fake, tools, recorder, path = setup(tmp_path, "a")
    path.write_bytes(b"old\n")
    fake.fail_next("lookup", TransientToolError("503"), times=3)
    gateway = record(tools, recorder, "a", path)
    answer = await gateway.answer("lookup", {"key": "k"})
    assert not answer.ok
    [failure] = gateway.finish(completed=True)
    assert failure.type == "tool_transient_error" and path.read_bytes() == b"old\n"


async def test_a_shared_file_is_merged_by_case_in_any_order(tmp_path: Path) -> None:
    _, tools, recorder, path = setup(tmp_path, "a", "b")
    for case_id, key in (("b", "b1"), ("a", "a1"), ("b", "b2")):
        gateway = record(tools, recorder, case_id, path)
        await gateway.answer("lookup", {"key": key})
        assert gateway.finish(completed=True) == []
    entries = read_cassette(path).interactions
    assert [(e.case, e.args["key"]) for e in entries] == [("b", "b2"), ("a", "a1")]
    assert [entries[i].args["key"] for i in entries_for_case(entries, "a")] == ["a1"]


async def test_auto_replays_hits_and_appends_misses(tmp_path: Path) -> None:
    fake, tools, recorder, path = setup(tmp_path, "a")
    first = record(tools, recorder, "a", path)
    await first.answer("lookup", {"key": "one"})
    first.finish(completed=True)
    redactor = Redactor(None, ENV)
    auto = AutoGateway(
        tools,
        redactor,
        recorder=recorder,
        case_id="a",
        cassette_path=path,
        matcher=Matcher(redactor, None),
    )
    await auto.answer("lookup", {"key": "one"})
    await auto.answer("lookup", {"key": "two"})
    assert [args["key"] for _, args in fake.calls] == ["one", "two"]  # "one" was replayed
    auto.finish(completed=True)
    assert [e.args["key"] for e in read_cassette(path).interactions] == ["one", "two"]


async def test_redacted_args_match_the_same_secret_only(tmp_path: Path) -> None:
    _, tools, recorder, path = setup(tmp_path, "a")
    gateway = record(tools, recorder, "a", path)
    await gateway.answer("lookup", {"key": "k", "password": "A", "request_id": 7})
    gateway.finish(completed=True)

    def replay() -> ReplayGateway:
        matcher = Matcher(Redactor(None, ENV), IgnoreArgs(["$.request_id"]))
        return ReplayGateway(path, strict=False, case_id="a", matcher=matcher)

    assert (await replay().answer("lookup", {"key": "k", "password": "A", "request_id": 8})).ok
    with pytest.raises(CassetteMissError):
        await replay().answer("lookup", {"key": "k", "password": "B", "request_id": 7})


async def test_a_cassette_redacted_under_another_key_says_so(tmp_path: Path) -> None:
    keyed = {**ENV, "HARNESS_REDACTION_KEY": "pepper"}
    fake = FakeBackend({"lookup": 1})
    tools = ToolSet({"lookup": LiveTool("lookup", fake)})
    path = tmp_path / "c.jsonl"
    recorder = CassetteRecorder([], redactor=Redactor(None, keyed), kind_of=tools.kind)
    gateway = RecordGateway(
        tools, Redactor(None, keyed), recorder=recorder, case_id="a", cassette_path=path
    )
    await gateway.answer("lookup", {"password": "A"})
    gateway.finish(completed=True)
    replay = ReplayGateway(path, strict=False, matcher=Matcher(Redactor(None, ENV), None))
    with pytest.raises(CassetteError, match="HARNESS_REDACTION_KEY"):
        await replay.answer("lookup", {"password": "A"})
