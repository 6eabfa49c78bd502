"""The model proxy: the agent's own LLM calls go through harness, recorded in the case's
cassette beside its tool calls and replayed from it (docs/model-cassettes.md).

```
settings.py   a run's resolved `model_proxy:` (upstreams, keys, matching, timing, prices)
server.py     the endpoint on 127.0.0.1:0: routes by each process's key, sessions per attempt
wire.py       HTTP/1.1 on a connection (h11): read a request, write an answer or a stream
session.py    one attempt's calls: replay, record, auto, live; usage, budgets, failures
exchange.py   one request and answer: forward upstream (streams passed on event by event)
              or replay a recorded entry
replay.py     which recorded entry answers a request; a miss's nearest entry and paths
normalize.py  what a request is matched on: volatile fields dropped, redacted, canonical
sse.py        server-sent events read from bytes and written back exactly; chaos splits
usage.py      token usage from the providers' answers; cost from the suite's prices
upstream.py   the providers through httpx, the real key added, tenacity retries
shapes.py     the routes served, provider-shaped errors, the header allow-lists
```
Nothing here is imported by a suite without `model_proxy:`.
"""
