"""The tool gateway: answers an agent's tool calls. Replay answers from the case's cassette."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from harness.cassette.format import Interaction, read_cassette
from harness.cassette.matching import ReplayCassette
from harness.errors import CassetteError
from harness.results import Failure


class ToolGateway(Protocol):
    async def answer(self, tool: str, args: dict[str, Any]) -> Interaction: ...

    def finish(self) -> list[Failure]:
        """Problems found once the attempt is over (strict replay), as failures."""
        ...


class ReplayGateway:
    """Answers from a cassette loaded at the first call, so a case that calls no tool needs
    no cassette file."""

    def __init__(self, cassette_path: Path | None, *, strict: bool) -> None:
        self.cassette_path = cassette_path
        self.strict = strict
        self._cassette: ReplayCassette | None = None
        self.sha256: str | None = None

    async def answer(self, tool: str, args: dict[str, Any]) -> Interaction:
        if self._cassette is None:
            self._cassette = self._load()
        return self._cassette.answer(tool, args)

    def _load(self) -> ReplayCassette:
        if self.cassette_path is None:
            raise CassetteError(
                "the agent called a tool but the case names no cassette; "
                "add `cassette: cassettes/<case>.jsonl` to the case and record it"
            )
        cassette = read_cassette(self.cassette_path)
        self.sha256 = cassette.sha256
        return ReplayCassette.from_file(cassette, strict=self.strict)

    def finish(self) -> list[Failure]:
        if self._cassette is None:
            if self.strict and self.cassette_path is not None and self.cassette_path.exists():
                # Strict replay: a recorded cassette the agent never touched is unused.
                self._cassette = self._load()
            else:
                return []
        return [
            Failure(type=problem.kind, message=problem.message)
            for problem in self._cassette.problems()
        ]
