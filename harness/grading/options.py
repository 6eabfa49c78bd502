"""Grading flags checked once per command, and recorded in run.json so a later
`harness grade` loads the same plugins."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from harness.errors import UsageError
from harness.grading.catalogue import load_plugin
from harness.grading.engine import GradeOptions


def check_grade_options(options: GradeOptions, plugins: Sequence[str] = ()) -> None:
    """Load `--grader-plugin` modules and check the numeric flags; UsageError otherwise."""
    for module in plugins:
        load_plugin(module)
    threshold = options.threshold
    if threshold is not None and not (math.isfinite(threshold) and 0 <= threshold <= 1):
        hint = f"; did you mean {threshold / 100:g}?" if 1 < threshold <= 100 else ""
        raise UsageError(f"--threshold must be a fraction between 0 and 1, got {threshold:g}{hint}")
    samples = options.judge.samples
    if samples is not None and samples < 1:
        raise UsageError(f"--judge-samples must be 1 or more, got {samples}")


def grading_header(options: GradeOptions, plugins: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "skip_grade": options.skip,
        "threshold": options.threshold,
        "judge_model": options.judge.model,
        "judge_samples": options.judge.samples,
        "grader_plugins": list(plugins),
    }
