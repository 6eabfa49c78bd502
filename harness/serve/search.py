"""Full-text search over a run: its transcripts (run.jsonl: inputs, tool calls and results, logs,
final outputs) and its results (failure messages, grader evidence, stderr tails).

Case-insensitive for ASCII, substring, streamed: a line is decoded only when its bytes contain
the query, and then matched again without the fields every event has (type, ids, timestamp), so
a query such as "type" or a case id does not match every line of the run.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from harness.serve.lines import complete_lines, decode_object

ENVELOPE = ("type", "case_id", "attempt_id", "timestamp", "call_id")


class _ResultText(msgspec.Struct):
    case_id: str = ""
    attempt_id: str = ""
    stderr_tail: str | None = None
    failures: list[dict[str, object]] = []
    verdicts: list[dict[str, object]] = []


_result_decoder = msgspec.json.Decoder(_ResultText)


def needle_of(query: str) -> bytes:
    """The query as it appears inside a JSON string on disk, lower-cased."""
    return msgspec.json.encode(query)[1:-1].lower()


def matching_keys(trace: Path, results: Path, query: str) -> set[str]:
    """Keys (attempt id, else case id) of the attempts whose transcript or result holds
    `query`."""
    needle = needle_of(query)
    found: set[str] = set()
    for _, line in complete_lines(trace):
        if needle not in line.lower():
            continue
        event = decode_object(line)
        if event is None:
            continue
        key = str(event.get("attempt_id") or event.get("case_id") or "")
        if key in found:
            continue
        body = {name: value for name, value in event.items() if name not in ENVELOPE}
        if needle in msgspec.json.encode(body).lower():
            found.add(key)
    for _, line in complete_lines(results):
        if needle not in line.lower():
            continue
        try:
            text = _result_decoder.decode(line)
        except msgspec.DecodeError:
            continue
        body_bytes = msgspec.json.encode([text.stderr_tail, text.failures, text.verdicts])
        if needle in body_bytes.lower():
            found.add(text.attempt_id or text.case_id)
    return found
