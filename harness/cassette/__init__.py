"""Cassettes: recorded tool interactions (and model calls), and replaying them to an agent.

```
format.py    the JSONL file: Interaction, CassetteHeader, read/load, encode (one line each)
model_entry.py  model lines (`kind: "model"`): the agent's LLM calls, beside its tool calls
matching.py  canonical_args, ReplayCassette (consuming replay, miss explanations, strict checks)
lazy.py      replay from a checked index of the file: entries decoded only when used
keys.py      Matcher: args as replay compares them (redacted, ignored paths dropped)
gateway.py   ToolGateway: answers an attempt's tool calls (replay, record, auto, live)
redact.py    secrets -> keyed-hash markers, before anything reaches disk
secret_rules.py  what counts as a secret (env values, keys, patterns) and its encodings
ignore.py    match.ignore_args paths
recorder.py  staged interactions written atomically when an attempt ends, merged by case
modes.py     per run: the checked live tools and the gateway each attempt gets
```
"""

from harness.cassette.format import (
    CassetteFile,
    CassetteHeader,
    Interaction,
    encode_header,
    encode_interaction,
    load_cassette,
    read_cassette,
)
from harness.cassette.matching import ReplayCassette, ReplayProblem, canonical_args

__all__ = [
    "CassetteFile",
    "CassetteHeader",
    "Interaction",
    "ReplayCassette",
    "ReplayProblem",
    "canonical_args",
    "encode_header",
    "encode_interaction",
    "load_cassette",
    "read_cassette",
]
