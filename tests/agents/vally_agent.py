"""The Python agent of the Vally tests. It follows directives in its prompt, one a line, so each
stimulus of the fixture corpus (tests/fixtures/vally) says what the agent does:

  WRITE <path>: <text>     write a file in the workspace (its cwd)
  CALL <tool> <json args>  call an offered tool; the result goes into the answer
  SKILL                    read every offered skill's SKILL.md and report its activation
  SAY <text>               put the text in the answer
  ASSISTANT <text>         an assistant message (a `log` at level assistant)
  ERRORLOG <text>          an error event (a `log` at level error)
  FLAKY                    answer GOOD on even trials, BAD on odd ones
  USAGE <in> <out>         report token usage
  SLEEP <seconds>          sleep first (timeouts)
  TRANSIENT <dir>          the first try of each trial fails with a retryable task_error
                           (a marker file in <dir> remembers the try)
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from harness.sdk import Agent, run


def solve(agent: Agent) -> Any:
    task = agent.input
    said: list[str] = []
    offered = {name for names in task["mcpServers"].values() for name in names}
    for line in str(task["prompt"]).splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "WRITE":
            path, _, text = rest.partition(": ")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text + "\n")
        elif word == "CALL":
            tool, _, args = rest.partition(" ")
            if tool in offered:
                said.append(json.dumps(agent.call(tool, **json.loads(args or "{}"))))
        elif word == "SKILL":
            for skill in task["skills"]:
                said.append(Path(skill["path"]).read_text().splitlines()[-1])
                agent.log("skill activated", data={"skill": skill["name"]})
        elif word == "SAY":
            said.append(rest)
        elif word == "ASSISTANT":
            agent.log(rest, level="assistant")
        elif word == "ERRORLOG":
            agent.log(rest, level="error")
        elif word == "FLAKY":
            said.append("BAD" if task["trialIndex"] % 2 else "GOOD")
        elif word == "USAGE":
            tokens_in, tokens_out = rest.split()
            agent.usage(tokens_in=int(tokens_in), tokens_out=int(tokens_out))
        elif word == "SLEEP":
            time.sleep(float(rest))
        elif word == "TRANSIENT":
            marker = Path(rest) / f"{task['stimulus']['name']}-{task['model']}-{task['trialIndex']}"
            if not marker.exists():
                marker.write_text("tried")
                # What a rate-limited agent says: transient, retry me (never a trial).
                message = {"type": "task_error", "message": "429", "data": {"retryable": True}}
                print(json.dumps(message), flush=True)
                os._exit(0)
    return " | ".join(said) or f"done in {os.getcwd()}"


if __name__ == "__main__":
    run(solve)
