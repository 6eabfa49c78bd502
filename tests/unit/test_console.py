"""The console's failure detail (harness.cli.console.clip_lines): whole lines while they fit,
a long first line cut between words, and a count of what was left out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.cli.console import clip_lines


def test_text_that_fits_is_whole() -> None:
    assert clip_lines("a\nb", 3) == "a\nb"


def test_whole_lines_while_they_fit_then_a_count() -> None:
    text = "first line\nsecond line\nthird line"
    assert clip_lines(text, 25) == (
        "first line\nsecond line\n... 1 more line(s): the whole text is in results.jsonl"
    )


def test_a_long_first_line_is_cut_between_words() -> None:
    text = "no recorded interaction for lookup with an argument far too long\nnext"
    assert clip_lines(text, 40) == (
        "no recorded interaction for lookup ...\n"
        "... 1 more line(s): the whole text is in results.jsonl"
    )


words = st.text(alphabet="abcdefgh", min_size=1, max_size=12)
lines = st.lists(words, min_size=1, max_size=12).map(" ".join)


@given(st.lists(lines, min_size=1, max_size=20), st.integers(min_value=20, max_value=400))
def test_every_line_shown_is_whole_or_ends_between_words(texts: list[str], limit: int) -> None:
    clipped = clip_lines("\n".join(texts), limit).split("\n")
    if clipped[-1].startswith("... "):
        clipped.pop()
    assert len("\n".join(clipped)) <= limit
    for index, line in enumerate(clipped):
        if line.endswith(" ..."):
            head = line.removesuffix(" ...")
            assert index == 0 and texts[0].startswith(head)
            assert texts[0][len(head)] == " " or len(head) == limit - 4  # between words
        else:
            assert line == texts[index]
