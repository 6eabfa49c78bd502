"""The tool gateway: answers an agent's tool calls, one gateway per attempt.

```
replay   ReplayGateway   from the case's cassette; a miss fails the case
record   RecordGateway   live tools; the case's cassette is written anew when the attempt ends
auto     AutoGateway     replay what is recorded, call the live tool on a miss, append it
live     LiveGateway     live tools, nothing written
```
Whatever the mode, the agent gets the redacted answer, so it sees the same data when recording
as when replaying. Calls are matched after redaction (on both sides: markers are deterministic,
so equal secrets still match and different ones do not) and without `match.ignore_args` paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from harness.cassette.format import (
    Entry,
    Interaction,
    read_cassette,
    sorted_keys,
)
from harness.cassette.keys import Matcher, check_redaction_key
from harness.cassette.lazy import IndexedCassette, LazyReplayCassette, index_cassette
from harness.cassette.matching import (
    UNUSED_LISTED,
    ReplayCassette,
)
from harness.cassette.model_entry import ModelEntry
from harness.cassette.recorder import CassetteRecorder, entries_for_case
from harness.cassette.redact import Redactor
from harness.config.containment import Project
from harness.errors import CassetteError, CassetteMissError
from harness.kinds import FailureKind
from harness.results import Failure
from harness.storage.atomic import atomic_write

if TYPE_CHECKING:
    from harness.tools.registry import ToolSet

NOT_WRITTEN = FailureKind.CASSETTE_NOT_WRITTEN

# Strict replay's unused entries past the first few, as line ranges, in the attempt's folder.
UNUSED_LISTING = "cassette_unused.txt"


class ToolGateway(Protocol):
    async def answer(self, tool: str, args: dict[str, Any]) -> Interaction: ...

    def model_entries(self) -> list[RecordedModel]:
        """The model entries the case replays, in file order (none in record and live).

        Raises:
            CassetteError: the case names no cassette, or it cannot be read.
        """
        ...

    def stage_model(self, entry: ModelEntry) -> None:
        """Keep a model call to write with the case's tool calls (record and auto)."""
        ...

    def finish(self, *, completed: bool = True, folder: Path | None = None) -> list[Failure]:
        """Called once the attempt is over; `completed`: the agent sent final_output; `folder`:
        the attempt's own, for a listing too long for a failure (strict replay's unused
        entries). Returns problems found (strict replay, a cassette not written) as failures."""
        ...


class RecordedModel(msgspec.Struct, frozen=True):
    """A model entry the case may replay, and where it is (`cassettes/t1.jsonl:4`)."""

    entry: ModelEntry
    where: str


def recorded_models(
    models: list[ModelEntry], lines: list[int] | None, case_id: str | None, source: str
) -> list[RecordedModel]:
    """The model entries `case_id` replays (the rule of entries_for_case), with their places."""
    chosen = entries_for_case(models, case_id)
    return [
        RecordedModel(
            models[i], f"{source}:{lines[i]}" if lines is not None else f"{source} model {i + 1}"
        )
        for i in chosen
    ]


def _models_of(entries: list[Entry]) -> list[ModelEntry]:
    return [entry for entry in entries if isinstance(entry, ModelEntry)]


def _no_cassette() -> CassetteError:
    return CassetteError(
        "the agent called a tool or a model but the case names no cassette; "
        "add `cassette: cassettes/<case>.jsonl` to the case and record it"
    )


class ReplayGateway:
    """Answers from a cassette loaded at the first call, so a case that calls no tool needs
    no cassette file."""

    def __init__(
        self,
        cassette_path: Path | None,
        *,
        strict: bool,
        case_id: str | None = None,
        matcher: Matcher | None = None,
        project: Project | None = None,
    ) -> None:
        self.cassette_path = cassette_path
        self.strict = strict
        self.case_id = case_id
        self.project = project
        self.matcher = matcher or Matcher(None, None)
        self._cassette: ReplayCassette | None = None
        self._file: IndexedCassette | None = None
        self.sha256: str | None = None

    async def answer(self, tool: str, args: dict[str, Any]) -> Interaction:
        if self._cassette is None:
            self._cassette = self._load()
        return self._cassette.answer(tool, self.matcher.key(tool, args))

    def model_entries(self) -> list[RecordedModel]:
        cassette = self._read()
        return recorded_models(
            cassette.models, cassette.model_lines, self.case_id, str(cassette.path)
        )

    def stage_model(self, entry: ModelEntry) -> None:
        pass  # replay writes nothing

    def _read(self) -> IndexedCassette:
        if self._file is None:
            if self.cassette_path is None:
                raise _no_cassette()
            cassette = index_cassette(self.cassette_path, self.project, self.matcher.hashes)
            check_redaction_key(
                self.cassette_path, cassette.header, cassette.interactions(), self.matcher.redactor
            )
            self.sha256 = cassette.sha256
            self._file = cassette
        return self._file

    def _load(self) -> ReplayCassette:
        cassette = self._read()
        return LazyReplayCassette(
            cassette,
            cassette.for_case(self.case_id),
            self.matcher.keyed_entry,
            self.matcher.keys,
            strict=self.strict,
            source=str(cassette.path),
        )

    def finish(self, *, completed: bool = True, folder: Path | None = None) -> list[Failure]:
        if self._cassette is None:
            if self.strict and self.cassette_path is not None and self.cassette_path.exists():
                # Strict replay: a recorded cassette the agent never touched is unused.
                self._cassette = self._load()
            else:
                return []
        failures = [
            Failure(type=problem.kind, message=problem.message)
            for problem in self._cassette.problems()
        ]
        if not failures:  # not strict, or nothing to say
            return failures
        unused = len(self._cassette.unused())
        if unused > UNUSED_LISTED and folder is not None:
            last = failures[-1]
            failures[-1] = Failure(type=last.type, message=last.message + self._listed(folder))
        return failures

    def _listed(self, folder: Path) -> str:
        """Every unused entry, as line ranges, written to the attempt's folder; said where."""
        assert self._cassette is not None
        listing = folder / UNUSED_LISTING
        text = "".join(f"{span}\n" for span in self._cassette.unused_ranges())
        try:
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write(listing, text.encode())
        except OSError as exc:
            return f"; they could not be listed in {listing} ({exc.strerror or exc})"
        return f"; every one is listed in {listing}"


class LiveGateway:
    """Calls the live tools; the agent gets the redacted answer; nothing is written."""

    def __init__(self, tools: ToolSet, redactor: Redactor) -> None:
        self.tools = tools
        self.redactor = redactor
        self.unavailable: list[str] = []
        self.sha256: str | None = None

    async def answer(self, tool: str, args: dict[str, Any]) -> Interaction:
        live = await self.tools.call(tool, args)
        if live.unavailable and live.error:
            self.unavailable.append(live.error)
        redact = self.redactor
        return Interaction(
            tool=tool,
            args=redact.value(args),
            ok=live.ok,
            # Keys in the order the cassette stores them: an agent that writes a result into
            # its model prompt then sends the same text when recording as when replaying.
            result=sorted_keys(redact.value(live.result)),
            error=None if live.error is None else redact.text(live.error),
        )

    def model_entries(self) -> list[RecordedModel]:
        return []  # live and record call the provider every time

    def stage_model(self, entry: ModelEntry) -> None:
        pass  # live writes nothing

    def finish(self, *, completed: bool = True, folder: Path | None = None) -> list[Failure]:
        if self.unavailable:
            # The agent was answered with an outage, not the tool's answer: the attempt says
            # nothing about the agent, so it is an infrastructure failure the pool retries.
            message = f"a live tool could not be reached: {self.unavailable[0]}"
            return [Failure(type=FailureKind.TOOL_TRANSIENT_ERROR, message=message)]
        return []


class RecordGateway(LiveGateway):
    """Live tools, every answer staged; the cassette is written when the attempt ends, only if
    the agent finished and every tool could be reached."""

    append = False

    def __init__(
        self,
        tools: ToolSet,
        redactor: Redactor,
        *,
        recorder: CassetteRecorder,
        case_id: str,
        cassette_path: Path | None,
        project: Project | None = None,
    ) -> None:
        super().__init__(tools, redactor)
        self.recorder = recorder
        self.case_id = case_id
        self.cassette_path = cassette_path
        self.project = project
        self.staged: list[Entry] = []

    async def answer(self, tool: str, args: dict[str, Any]) -> Interaction:
        interaction = await super().answer(tool, args)
        self.staged.append(interaction)
        return interaction

    def stage_model(self, entry: ModelEntry) -> None:
        self.staged.append(entry)

    def finish(self, *, completed: bool = True, folder: Path | None = None) -> list[Failure]:
        path = self.cassette_path
        if not self.staged and (self.append or path is None):
            return []  # nothing new to write
        if path is None:
            return [
                _not_written(
                    f"the case names no cassette, so its {len(self.staged)} recorded call(s) were "
                    "not saved; add `cassette: cassettes/<case>.jsonl` to the case"
                )
            ]
        if self.unavailable:
            # The pool retries an attempt whose first failure is this type.
            message = f"{path} was left as it was: {self.unavailable[0]}"
            return [Failure(type=FailureKind.TOOL_TRANSIENT_ERROR, message=message)]
        if not completed:
            return [
                _not_written(f"{path} was left as it was: the attempt ended before final_output")
            ]
        try:
            self.sha256 = self.recorder.commit(
                self.case_id, path, self.staged, append=self.append, project=self.project
            )
        except CassetteError as exc:
            return [Failure(type=FailureKind.CASSETTE_ERROR, message=exc.message)]
        return []


class AutoGateway(RecordGateway):
    """Replays what the cassette has (VCR's new_episodes); a miss goes to the live tool and
    is appended to the case's entries when the attempt ends."""

    append = True

    def __init__(
        self,
        tools: ToolSet,
        redactor: Redactor,
        *,
        recorder: CassetteRecorder,
        case_id: str,
        cassette_path: Path | None,
        matcher: Matcher,
        project: Project | None = None,
    ) -> None:
        super().__init__(
            tools,
            redactor,
            recorder=recorder,
            case_id=case_id,
            cassette_path=cassette_path,
            project=project,
        )
        self.matcher = matcher
        self._cassette: ReplayCassette | None = None

    async def answer(self, tool: str, args: dict[str, Any]) -> Interaction:
        if self._cassette is None:
            self._cassette = self._load()
        try:
            return self._cassette.answer(tool, self.matcher.key(tool, args))
        except CassetteMissError:
            return await super().answer(tool, args)

    def model_entries(self) -> list[RecordedModel]:
        path = self.cassette_path
        if path is None:
            return []  # every call is a miss, recorded, then reported as not written
        models = _models_of(self.recorder.existing(path) or [])
        return recorded_models(models, None, self.case_id, str(path))

    def _load(self) -> ReplayCassette:
        """The entries recorded so far, as this run sees them (an earlier attempt's included);
        an unreadable file is an error, never overwritten."""
        path = self.cassette_path
        everything = [] if path is None else self.recorder.existing(path, self.project) or []
        entries = [entry for entry in everything if isinstance(entry, Interaction)]
        if path is not None and path.exists():
            cassette = read_cassette(path, self.project)
            check_redaction_key(path, cassette.header, entries, self.matcher.redactor)
            self.sha256 = cassette.sha256
        return self.matcher.cassette(
            entries, case_id=self.case_id, strict=False, lines=None, source=str(path)
        )


def _not_written(message: str) -> Failure:
    return Failure(type=NOT_WRITTEN, message=message)
