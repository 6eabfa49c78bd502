"""Live tools for unit tests."""

from __future__ import annotations

from harness.config.schema import ToolRetry

# Three tries a few milliseconds apart: retries without slowing the tests down.
FAST_RETRY = ToolRetry(attempts=3, initial_backoff_ms=1, max_backoff_ms=5)
