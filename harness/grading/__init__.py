"""Grading: checks on what an attempt produced (its final output and its tool calls)."""

from harness.grading.assertions import AssertionFailure, grade

__all__ = ["AssertionFailure", "grade"]
