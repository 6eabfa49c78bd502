"""A scriptable offline LLM judge for tests: a command (`python3 judge.py`, request on stdin,
answer on stdout) and the same logic as a Python callable (`judge:answer`).

The rubric decides the answer:
    "always pass" / "always fail"      pass true (score 1) / false (score 0)
    "split"                            sample 0, 2, 4... pass; 1, 3, 5... fail
    "abstain"                          pass null
    "mentions <word>"                  pass when <word> is in the output's text
    "crash"                            exit 3 with a message on stderr (command only)
    "garbage"                          print a line that is not JSON (command only)
    "no verdict"                       answer {"score": 0.5} without `pass`
"""

from __future__ import annotations

import json
import sys
from typing import Any


def answer(request: dict[str, Any]) -> dict[str, Any]:
    rubric = request["rubric"]
    rubric = " ".join(rubric) if isinstance(rubric, list) else str(rubric)
    output = request.get("output")
    text = output if isinstance(output, str) else json.dumps(output)
    if "always pass" in rubric:
        return {"pass": True, "score": 1.0, "reason": f"fine (model {request.get('model')})"}
    if "always fail" in rubric:
        return {"pass": False, "score": 0.0, "reason": "not good"}
    if "split" in rubric:
        passed = request["sample"] % 2 == 0
        return {"pass": passed, "score": 1.0 if passed else 0.0, "reason": "torn"}
    if "abstain" in rubric:
        return {"pass": None, "reason": "cannot tell"}
    if "no verdict" in rubric:
        return {"score": 0.5}
    if "mentions" in rubric:
        word = rubric.split("mentions", 1)[1].split()[0]
        found = word in text
        return {"pass": found, "score": 1.0 if found else 0.0, "reason": f"looked for {word}"}
    return {"pass": False, "score": 0.0, "reason": f"unknown rubric {rubric!r}"}


def main() -> None:
    request = json.loads(sys.stdin.readline())
    rubric = str(request["rubric"])
    if "crash" in rubric:
        sys.stderr.write("judge: model endpoint unreachable\n")
        sys.exit(3)
    if "garbage" in rubric:
        print("I think it is fine")
        return
    print(json.dumps(answer(request)))


if __name__ == "__main__":
    main()


def broken(request: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("rate limited")
