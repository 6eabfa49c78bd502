"""A local stand-in for the OpenAI and Anthropic APIs, the only upstream tests have (the machine
has no network). It speaks each provider's wire format as the official SDKs parse it:

- OpenAI (base URL `http://127.0.0.1:P/v1`): `POST /v1/chat/completions` and `POST /v1/responses`,
  each streamed or not, and `GET /v1/models`. Errors are `{"error": {message, type, param, code}}`
  with an `x-request-id` header.
- Anthropic (base URL `http://127.0.0.1:Q`): `POST /v1/messages`, streamed or not, and
  `POST /v1/messages/count_tokens`. Errors are `{"type": "error", "error": {type, message}}`
  with a `request-id` header.
- Streams are framed as each provider frames them: chat completions as `data:` lines ending with
  `data: [DONE]`; the Responses API as typed `event:` + `data:` pairs (response.created ...
  response.completed); Anthropic as message_start, ping, content_block_start/delta/stop,
  message_delta (with usage), message_stop. Usage is in every non-streamed body and at the end
  of every stream (for chat completions only with `stream_options.include_usage`, as OpenAI does).
- By default every body and stream is written in pieces cut inside events and inside UTF-8
  characters (`chunking: "events"` writes one event per write). JSON bodies are gzipped when the
  client sends `Accept-Encoding: gzip`; streams too with `gzip_streams: true`.
- A request without a key gets the provider's 401 (and with `api_keys` set, any other key does);
  an Anthropic request without `anthropic-version` gets 400; a malformed body gets the provider's
  400; an unknown route gets its 404. Ids, request ids and `created` are derived from the request
  bytes, so the same request always gets the same bytes back.

Replies are scripted, and chosen from the request alone (never from arrival order, so parallel
attempts cannot disturb each other). A script is JSON:

    {"rules": [
       {"match": "weather in Oslo",                     # substring of the first user message
        "turns": [                                      # one per model turn in the history
          {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
          {"text": "Oslo: {tool_results}. Ha det bra!"}]},
       {"match": "busy", "fail_first": {"times": 2, "status": 429, "retry_after": "0"},
        "turns": [{"text": "served after two 429s"}]},
       {"match": "refuse", "turns": [{"error": {"status": 400, "message": "bad tool schema"}}]}],
     "default": {"text": "You said: {prompt}"}}

The turn index is how many model turns the request's history already holds (assistant messages;
for the Responses API, runs of assistant items, or what `previous_response_id` names); the last
turn repeats when they run out. `text` may use {prompt}, {tool_results} (the outputs that
answered the previous turn, joined by " | ") and {turn}. `fail_first` answers each distinct
request with that status (and `retry-after`) `times` times before serving it.

In pytest (async):

    async with serve_providers(load_script(path)) as providers:
        client = openai.AsyncOpenAI(base_url=providers.openai_base_url, api_key="sk-test")
        ...
        assert providers.received[-1].status == 200

In synchronous tests, `with running_providers(script) as providers:` serves from a thread.
`providers.upstream_env()` gives HARNESS_UPSTREAM_OPENAI_BASE_URL and
HARNESS_UPSTREAM_ANTHROPIC_BASE_URL for harness's model proxy; `client_env()` gives
OPENAI_BASE_URL and ANTHROPIC_BASE_URL for an SDK talking to it directly.

From a shell (bench scripts, manual tries), from the repo root:

    python -m tests.support.providers [--script script.json]

prints `OPENAI_BASE_URL=...` and `ANTHROPIC_BASE_URL=...` (one line each, then a blank line)
and serves until interrupted (SIGINT or SIGTERM).
"""

from tests.support.providers.conversation import Conversation
from tests.support.providers.script import (
    ErrorSpec,
    FailFirst,
    Rule,
    Script,
    ToolCallSpec,
    Turn,
    load_script,
)
from tests.support.providers.server import (
    Providers,
    running_providers,
    serve_providers,
    split_writes,
)
from tests.support.providers.standin import Received, StandIn

__all__ = [
    "Conversation",
    "ErrorSpec",
    "FailFirst",
    "Providers",
    "Received",
    "Rule",
    "Script",
    "StandIn",
    "ToolCallSpec",
    "Turn",
    "load_script",
    "running_providers",
    "serve_providers",
    "split_writes",
]
