"""An in-memory backend for tests and benchmarks: scripted answers and failures, every call kept.

```python
fake = FakeBackend({"weather": {"temp": 21}})
fake.fail_next("weather", TransientToolError("503"), times=2)   # then the answer
```
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import anyio

Answer = Any | Callable[[dict[str, Any]], Any]


class FakeBackend:
    kind = "fake"

    def __init__(self, answers: Mapping[str, Answer] | None = None, *, delay: float = 0) -> None:
        """Args:
        answers: per tool, a value or a function of the args.
        delay: seconds each call takes (to exercise timeouts).
        """
        self.answers = dict(answers or {})
        self.delay = delay
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._failures: dict[str, list[BaseException]] = {}

    def fail_next(self, tool: str, error: BaseException, *, times: int = 1) -> None:
        """The next `times` calls of `tool` raise `error` (a ToolFailure, TransientToolError...)."""
        self._failures.setdefault(tool, []).extend([error] * times)

    async def call(self, tool: str, args: dict[str, Any]) -> Any:
        self.calls.append((tool, args))
        if self.delay:
            await anyio.sleep(self.delay)
        pending = self._failures.get(tool)
        if pending:
            raise pending.pop(0)
        answer = self.answers.get(tool)
        return answer(args) if callable(answer) else answer
