"""A judge command for Vally's LLM graders, offline: it reads one request on stdin and scores by
keywords, so tests know the answer. `prompt`/`panel`: 5 when the output says GOOD, 1 when it
says BAD, else 3 (on scale_1_5; the top or bottom of the other scales). The model `broken`
crashes (a panel leaves it out). `pairwise`: the side whose output says GOOD wins."""

from __future__ import annotations

import json
import sys
from typing import Any


def rate(request: dict[str, Any]) -> dict[str, Any]:
    output = request.get("output") or ""
    top = {"binary": 1, "scale_1_5": 5, "scale_1_10": 10}[request.get("scoring", "scale_1_5")]
    bottom = 0 if top == 1 else 1
    if "GOOD" in output:
        score = top
    elif "BAD" in output:
        score = bottom
    else:
        score = (top + bottom) // 2 if top > 1 else 0
    rubric = request.get("rubric") or []
    return {"score": score, "reasoning": f"checked {len(rubric)} criteria for {request['model']}"}


def compare(request: dict[str, Any]) -> dict[str, Any]:
    a = "GOOD" in request["a"]["output"]
    b = "GOOD" in request["b"]["output"]
    if a == b:
        return {"winner": "tie", "magnitude": "equal"}
    return {"winner": "A" if a else "B", "magnitude": "much-better"}


def main() -> None:
    request = json.loads(sys.stdin.readline())
    if request.get("model") == "broken":
        print("judge model unavailable", file=sys.stderr)
        sys.exit(1)
    answer = compare(request) if request["grader"] == "pairwise" else rate(request)
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
