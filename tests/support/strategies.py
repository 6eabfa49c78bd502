"""Hypothesis strategies the property tests share: JSON values whose strings hold the characters
line-based readers trip on (U+2028, U+2029, NEL, NUL, quotes, backslashes)."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st

# Line breakers RunLedger's loader trips on, and NUL, appear far more often than by chance.
# Any encodable character: lone surrogates cannot reach a cassette from JSON (see the unit test).
tricky_text = st.text(
    st.one_of(st.characters(codec="utf-8"), st.sampled_from('\u2028\u2029\x85\x00\n\r"\\')),
    max_size=20,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    tricky_text,
)

json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(tricky_text, inner, max_size=4)
    ),
    max_leaves=20,
)

json_args = st.dictionaries(tricky_text, json_values, max_size=5)

PROPS = settings(max_examples=150, deadline=None)
