"""The stand-in's behaviour, with no sockets: route a request, check its key, parse it, apply
the script's faults and turns, and build the provider's reply. Every request is kept in
`received` with the status it got, so tests can see what reached "upstream".
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tests.support.providers import anthropic_api, openai_api
from tests.support.providers.conversation import (
    BadRequest,
    Conversation,
    after_reply,
    chat_conversation,
    messages_conversation,
    responses_conversation,
)
from tests.support.providers.openai_responses import responses_reply
from tests.support.providers.script import ErrorSpec, Script
from tests.support.providers.wire import Ids, Reply

Api = Literal["openai", "anthropic"]
_FAULT_MESSAGES = {
    429: "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1.",
    500: "The server had an error while processing your request.",
    503: "The engine is currently overloaded, please try again later.",
    529: "Overloaded",
}


@dataclass
class Received:
    """One request as the stand-in saw it, and the status it answered."""

    api: Api
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[dict[str, Any], Ids, int], Reply]


class StandIn:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: list[Received] = []
        self._seen: Counter[tuple[str, str, bytes]] = Counter()
        self._responses: dict[str, Conversation] = {}
        self._routes: dict[tuple[Api, str, str], Handler] = {
            ("openai", "POST", "/v1/chat/completions"): self._chat,
            ("openai", "POST", "/v1/responses"): self._responses_api,
            ("openai", "GET", "/v1/models"): lambda _b, ids, _s: openai_api.models_reply(ids),
            ("anthropic", "POST", "/v1/messages"): self._messages,
            ("anthropic", "POST", "/v1/messages/count_tokens"): self._count_tokens,
        }

    def handle(
        self, api: Api, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Reply:
        """The reply to one request (never raises for anything a client can send)."""
        received = Received(api, method, target, headers, body)
        self.received.append(received)
        path = target.partition("?")[0]
        seen = self._seen[(api, path, body)]
        self._seen[(api, path, body)] += 1
        ids = Ids(api, path, body, seen)
        reply = self._answer(api, method, path, headers, body, ids, seen)
        received.status = reply.status
        return reply

    def _answer(
        self,
        api: Api,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        ids: Ids,
        seen: int,
    ) -> Reply:
        refusal = self._refuse(api, headers)
        if refusal is not None:
            return error(api, refusal, ids)
        handler = self._routes.get((api, method, path))
        if handler is None:
            message = f"Invalid URL ({method} {path})" if api == "openai" else "Not Found"
            return error(api, ErrorSpec(404, message), ids)
        try:
            parsed = _parse(body) if method == "POST" else {}
            return handler(parsed, ids, seen)
        except BadRequest as exc:
            return error(api, ErrorSpec(400, exc.message, param=exc.param), ids)

    def _refuse(self, api: Api, headers: dict[str, str]) -> ErrorSpec | None:
        """401 for a missing or unknown key; Anthropic's 400 without anthropic-version.

        OpenAI takes `Authorization: Bearer KEY`; Anthropic takes `x-api-key: KEY` or, as the
        `anthropic` SDK 2.x sends its api_key, `Authorization: Bearer KEY`."""
        scheme, _, bearer = headers.get("authorization", "").partition(" ")
        key = bearer if scheme.lower() == "bearer" else ""
        if api == "openai":
            if not key:
                return ErrorSpec(401, "You didn't provide an API key.")
        else:
            key = headers.get("x-api-key", "") or key
            if not key:
                return ErrorSpec(401, "x-api-key header is required")
            if "anthropic-version" not in headers:
                return ErrorSpec(400, "anthropic-version: header is required")
        if self.script.api_keys is not None and key not in self.script.api_keys:
            masked = f"{key[:3]}...{key[-4:]}" if len(key) > 8 else "***"
            return ErrorSpec(401, f"Incorrect API key provided: {masked}.", code="invalid_api_key")
        return None

    def _fault(self, conversation: Conversation, seen: int) -> ErrorSpec | None:
        rule = self.script.rule_for(conversation)
        fail = rule.fail_first if rule is not None else None
        if fail is None or seen >= fail.times:
            return None
        message = _FAULT_MESSAGES.get(fail.status, "Internal server error")
        return ErrorSpec(fail.status, message, retry_after=fail.retry_after)

    def _converse(
        self, api: Api, conversation: Conversation, ids: Ids, seen: int, build: Callable[..., Reply]
    ) -> Reply:
        fault = self._fault(conversation, seen)
        if fault is not None:
            return error(api, fault, ids)
        turn = self.script.turn_for(conversation)
        if turn.error is not None:
            return error(api, turn.error, ids)
        return build(turn, ids)

    def _chat(self, body: dict[str, Any], ids: Ids, seen: int) -> Reply:
        _require_model(body)
        conversation = chat_conversation(body)
        return self._converse(
            "openai", conversation, ids, seen, lambda t, i: openai_api.chat_reply(body, t, i)
        )

    def _responses_api(self, body: dict[str, Any], ids: Ids, seen: int) -> Reply:
        _require_model(body)
        earlier = None
        previous = body.get("previous_response_id")
        if previous is not None:
            earlier = self._responses.get(str(previous))
            if earlier is None:
                raise BadRequest(f"Previous response with id '{previous}' not found.", "previous")
        conversation = responses_conversation(body, earlier)
        reply = self._converse(
            "openai", conversation, ids, seen, lambda t, i: responses_reply(body, t, i)
        )
        if reply.status == 200:
            self._responses[ids.make("resp_", length=48)] = after_reply(conversation)
        return reply

    def _messages(self, body: dict[str, Any], ids: Ids, seen: int) -> Reply:
        _require_model(body)
        if not isinstance(body.get("max_tokens"), int):
            raise BadRequest("max_tokens: Field required")
        conversation = messages_conversation(body)
        return self._converse(
            "anthropic",
            conversation,
            ids,
            seen,
            lambda t, i: anthropic_api.messages_reply(body, t, i),
        )

    def _count_tokens(self, body: dict[str, Any], ids: Ids, _seen: int) -> Reply:
        _require_model(body)
        messages_conversation(body)  # the same checks as /v1/messages
        return anthropic_api.count_tokens_reply(body, ids)


def error(api: Api, spec: ErrorSpec, ids: Ids) -> Reply:
    """An error in the provider's own shape."""
    if api == "openai":
        return openai_api.error_reply(spec, ids)
    return anthropic_api.error_reply(spec, ids)


def _parse(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"We could not parse the JSON body of your request. ({exc})") from None
    if not isinstance(value, dict):
        raise BadRequest("The request body must be a JSON object.")
    return value


def _require_model(body: dict[str, Any]) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("you must provide a model parameter", "model")
