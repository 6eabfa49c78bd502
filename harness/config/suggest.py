""" "Did you mean": the valid name closest to a misspelt one, for error messages."""

from __future__ import annotations

from collections.abc import Iterable


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """`did you mean 'budgets'? ` when one of `choices` is close to `word` (case aside), else
    "". Meant to stand before the list of valid names: `unknown key; {hint}valid keys: ...`."""
    if not isinstance(word, str) or not word:
        return ""
    # lazy: only a config error pays for difflib, never a run's start-up
    import difflib

    by_folded = {choice.casefold(): choice for choice in choices}
    close = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=0.6)
    return f"did you mean {by_folded[close[0]]!r}? " if close else ""
