"""An agent that prints the secret in $PROBE_API_KEY into one surface that harness cuts before
showing: `{"surface": NAME, "pad": N}`, the secret after N dots (so cuts fall anywhere in it).

Surfaces: evidence_json (an object output a grader quotes), evidence_text (a string output),
protocol (a line that is not JSON), task_error, log, stderr (a line longer than 64 KiB, the
secret near the first piece's end, then a short line), tool_args (a call no cassette entry
matches). Stdlib only.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

PIECE = 64 * 1024


def send(message: Any) -> None:
    sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def main() -> None:
    task = json.loads(sys.stdin.readline())["input"]
    surface, pad = task["surface"], int(task["pad"])
    text = "." * pad + os.environ["PROBE_API_KEY"] + "." * 20
    final: dict[str, Any] = {"type": "final_output", "output": {"done": True}}
    if surface == "evidence_json":
        final["output"] = {"note": text}
    elif surface == "evidence_text":
        final["output"] = text
    elif surface == "protocol":
        sys.stdout.write("not json " + text + "\n")
        sys.stdout.flush()
        return
    elif surface == "task_error":
        send({"type": "task_error", "message": text})
        return
    elif surface == "log":
        send({"type": "log", "level": "info", "message": text})
    elif surface == "stderr":
        sys.stderr.write("." * (PIECE - 150) + text + "\n" + text + "\n")
        sys.stderr.flush()
    elif surface == "tool_args":
        send({"type": "tool_call", "name": "lookup", "call_id": "c1", "args": {"q": text}})
        sys.stdin.readline()
    send(final)


if __name__ == "__main__":
    main()
