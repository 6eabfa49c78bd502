"""A test agent for sweeps: its outcome is a function of the model and the trial it is given.

The task input holds one string of letters per model, `{"outcomes": {"model-a": "PPF", ...}}`;
trial t plays letter t-1 (a plain run, with no model or trial, plays `outcomes["*"][0]`).
Or, like a sampled model, `{"pass_rates": {"model-a": 0.7, ...}}`: the trial passes when
random.Random("<model>:<seed>").random() < rate, so the outcome follows from model and seed.

    P  pass: final_output {"answer": ..., "model", "trial", "seed"} (+ usage)
    F  fail: final_output without "answer" (the suite's required_fields assertion fails)
    B  budget: a usage message with tokens_out 1000 (over the suite's max_tokens_out)
    E  infrastructure, every try: task_error with data {"retryable": true}
    R  retryable task_error on the first two tries of this attempt, then P
    K  SIGKILL itself on the first try (as the OOM killer would), then P
    X  exit 75 on the first try (the suite lists 75 in retry.exit_codes), then P
    S  sleep 30 s, then P (for interrupt tests)

Before playing, it checks that task_start and the HARNESS_MODEL / HARNESS_TRIAL / HARNESS_SEED
environment agree, and that the seed is the documented one (sha256 of "<case id>\\0<trial>",
first 4 bytes big-endian, low 31 bits). A mismatch is a plain failure (no "answer"), so a test
expecting exact statistics notices. Tries are counted in files under `input.state_dir`.
Stdlib only; extra argv (`--marker x`) is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any


def send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def expected_seed(task_id: str, trial: int) -> int:
    digest = hashlib.sha256(f"{task_id}\x00{trial}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF


def check_identity(task: dict[str, Any]) -> str | None:
    model, trial, seed = task.get("model"), task.get("trial"), task.get("seed")
    env = (os.environ.get("HARNESS_MODEL"), os.environ.get("HARNESS_TRIAL"))
    if env != (model, None if trial is None else str(trial)):
        return f"env {env} disagrees with task_start {(model, trial)}"
    if trial is not None:
        if seed != expected_seed(task["task_id"], trial):
            return f"seed {seed} is not the documented one for trial {trial}"
        if os.environ.get("HARNESS_SEED") != str(seed):
            return "HARNESS_SEED disagrees with task_start"
    return None


def count_try(task: dict[str, Any]) -> int:
    """This attempt's try number, counted in a file (retries start a new process)."""
    state_dir = task["input"].get("state_dir")
    if not state_dir:
        return 1
    name = f"{task['task_id']}-{task.get('model')}-{task.get('trial')}".replace("/", "_")
    path = Path(state_dir) / name
    tries = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(tries))
    return tries


def main() -> None:
    task = json.loads(sys.stdin.readline())
    model, trial = task.get("model"), task.get("trial")
    rates = task["input"].get("pass_rates")
    if rates is not None:
        draw = random.Random(f"{model}:{task.get('seed')}").random()
        letter = "P" if draw < rates.get(model, 0.0) else "F"
    else:
        letters = task["input"]["outcomes"].get(model if model is not None else "*", "")
        index = (trial or 1) - 1
        letter = letters[index] if index < len(letters) else "F"
    tries = count_try(task)
    sys.stderr.write(f"sweep_agent: {model} trial {trial} try {tries} plays {letter}\n")
    sys.stderr.flush()
    problem = check_identity(task)
    if problem is not None:
        send({"type": "log", "level": "error", "message": problem})
        letter = "F"
    if letter == "E" or (letter == "R" and tries <= 2):
        send({"type": "task_error", "message": "rate limited", "data": {"retryable": True}})
        return
    if letter == "K" and tries == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    if letter == "X" and tries == 1:
        os._exit(75)
    if letter == "S":
        time.sleep(30)
    if letter == "B":
        send({"type": "usage", "tokens_in": 10, "tokens_out": 1000})
        time.sleep(5)  # the runner stops us at the usage message
    output: dict[str, Any] = {"model": model, "trial": trial, "seed": task.get("seed")}
    if letter != "F":
        output["answer"] = 42
    usage = {"tokens_in": 100, "tokens_out": 10 if model != "big" else 20, "cost_usd": 0.25}
    send({"type": "final_output", "output": output, "usage": usage})


if __name__ == "__main__":
    main()
