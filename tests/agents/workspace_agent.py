"""A test agent that works on files in its cwd (the attempt's workspace), then answers.

Task input: {"write": {path: text}, "symlink": {path: target}, "call": [name, args],
"answer": any}. Paths are relative to the cwd. The final output is
{"answer": ..., "cwd": <cwd>, "listing": [names in the cwd]}. Stdlib only.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def send(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    task = json.loads(sys.stdin.readline())
    spec = task.get("input") or {}
    for name, text in (spec.get("write") or {}).items():
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for name, target in (spec.get("symlink") or {}).items():
        os.symlink(target, name)
    if spec.get("call"):
        tool, args = spec["call"]
        send({"type": "tool_call", "name": tool, "call_id": "c1", "args": args})
        sys.stdin.readline()
    listing = sorted(os.listdir("."))
    send(
        {
            "type": "final_output",
            "output": {"answer": spec.get("answer"), "cwd": os.getcwd(), "listing": listing},
        }
    )


if __name__ == "__main__":
    main()
