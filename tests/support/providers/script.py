"""What the stand-in model answers: a script of rules, each a list of turns, chosen from the
request alone so that the same request always gets the same reply (recordings are stable, and
parallel attempts cannot disturb each other's conversations).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import msgspec

from tests.support.providers.conversation import Conversation


class ToolCallSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One function call the model asks for: the tool's name and its JSON arguments."""

    name: str
    arguments: dict[str, Any] = {}


class ErrorSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """An error reply in the provider's own shape. `type` defaults to what the provider sends
    for that status (invalid_request_error for 400, rate_limit_error for an Anthropic 429...)."""

    status: int
    message: str
    type: str | None = None
    code: str | None = None
    param: str | None = None
    retry_after: str | None = None


class Turn(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One model turn: text, tool calls (after the text, if both), or an error.

    `text` may hold the placeholders {prompt} (the first user message), {tool_results} (the
    outputs of the tool calls that answered the previous turn, joined with " | ") and {turn}.
    """

    text: str | None = None
    tool_calls: list[ToolCallSpec] = []
    error: ErrorSpec | None = None

    def __post_init__(self) -> None:
        if self.error is None and self.text is None and not self.tool_calls:
            raise ValueError("a turn needs text, tool_calls or error")
        if self.error is not None and (self.text is not None or self.tool_calls):
            raise ValueError("an error turn has neither text nor tool_calls")


class FailFirst(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Answer each distinct request with this error `times` times before serving it: how the
    tests see a client (or harness's proxy) retry a 429 or a 5xx."""

    times: int = 1
    status: int = 429
    retry_after: str | None = "0"


class Rule(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Conversations whose first user message contains `match` get `turns`, one per model turn
    already in the history (the last turn repeats once they run out)."""

    match: str
    turns: list[Turn]
    fail_first: FailFirst | None = None

    def __post_init__(self) -> None:
        if not self.turns:
            raise ValueError(f"rule {self.match!r} has no turns")


class Script(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The whole behaviour of a stand-in: rules, the reply when none matches, and the wire
    options (how streams are split into writes, gzip, pacing, accepted keys)."""

    rules: list[Rule] = []
    default: Turn = Turn(text="You said: {prompt}")
    # split: writes cut inside events and inside UTF-8 characters; events: one write per event
    chunking: Literal["split", "events"] = "split"
    # gzip is always used for JSON bodies when the client accepts it; streams only with this
    gzip_streams: bool = False
    event_delay_ms: float = 0.0
    # when set, a request with any other key gets the provider's 401
    api_keys: list[str] | None = None

    def rule_for(self, conversation: Conversation) -> Rule | None:
        """The first rule whose `match` is in the conversation's first user message."""
        for rule in self.rules:
            if rule.match in conversation.prompt:
                return rule
        return None

    def turn_for(self, conversation: Conversation) -> Turn:
        """The turn that answers this conversation, placeholders filled in."""
        rule = self.rule_for(conversation)
        if rule is None:
            return render(self.default, conversation)
        return render(rule.turns[min(conversation.turn, len(rule.turns) - 1)], conversation)


def render(turn: Turn, conversation: Conversation) -> Turn:
    """The turn with {prompt}, {tool_results} and {turn} replaced in its text."""
    if turn.text is None:
        return turn
    text = (
        turn.text.replace("{prompt}", conversation.prompt)
        .replace("{tool_results}", " | ".join(conversation.tool_results))
        .replace("{turn}", str(conversation.turn))
    )
    return msgspec.structs.replace(turn, text=text)


def load_script(source: Path | str | bytes | dict[str, Any]) -> Script:
    """A Script from a JSON file, JSON text, or an already parsed object.

    Raises:
        msgspec.ValidationError: the script does not have the shape above (with its $.path).
    """
    if isinstance(source, dict):
        return msgspec.convert(source, Script)
    if isinstance(source, Path):
        source = source.read_bytes()
    return msgspec.json.decode(source, type=Script)
