"""Property tests: key order never matters, cassette lines round-trip any Unicode, any bytes
either load or raise CassetteError, and normalization never mutates its input."""

from __future__ import annotations

import contextlib
import copy
import random
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.attempt.normalization import Normalizer
from harness.cassette.format import Interaction, encode_interaction, load_cassette
from harness.cassette.matching import ReplayCassette, canonical_args
from harness.config.schema import Normalization, ReplaceText
from harness.errors import CassetteError

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


def shuffled(value: Any, rng: random.Random) -> Any:
    """A deep copy with every object's keys in a random order."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: shuffled(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value


@PROPS
@given(json_args, st.randoms(use_true_random=False))
def test_key_order_never_matters(args: dict[str, Any], rng: random.Random) -> None:
    other = shuffled(args, rng)
    assert canonical_args(other) == canonical_args(args)
    cassette = ReplayCassette([Interaction(tool="t", args=args, ok=True, result=1)])
    assert cassette.answer("t", other).result == 1


@PROPS
@given(tricky_text, json_args, json_values, st.one_of(st.none(), tricky_text))
def test_encoded_interactions_load_back(
    tmp_path_factory: Any, tool: str, args: dict[str, Any], result: Any, error: str | None
) -> None:
    entry = Interaction(tool=tool, args=args, ok=error is None, result=result, error=error)
    path: Path = tmp_path_factory.mktemp("c") / "c.jsonl"
    path.write_bytes(encode_interaction(entry) * 2)
    assert load_cassette(path) == [entry, entry]
    # RunLedger's loader splits on str.splitlines(); each entry must stay one line for it.
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2


# Random bytes rarely look like JSON; splicing cassette-like tokens reaches the deeper checks.
TOKENS = [b"{", b"}", b"[", b":", b",", b"\n", b"\xe2\x80\xa8", b"\xff", b"1", b"true", b"{}"]
TOKENS += [b'"tool"', b'"args"', b'"ok"', b'"type"', b'"cassette_header"', b'"format_version"']
cassette_like = st.lists(st.sampled_from(TOKENS), max_size=30).map(b"".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), cassette_like))
def test_any_bytes_load_or_raise_cassette_error(tmp_path_factory: Any, data: bytes) -> None:
    path: Path = tmp_path_factory.mktemp("c") / "c.jsonl"
    path.write_bytes(data)
    with contextlib.suppress(CassetteError):
        load_cassette(path)


paths = st.lists(st.sampled_from(["*", "0", "1", "a", "b", "id"]), min_size=1, max_size=3).map(
    ".".join
)
specs = st.builds(
    Normalization,
    strip_keys=st.lists(st.sampled_from(["a", "b", "id"]), max_size=2),
    strip_paths=st.lists(paths, max_size=2),
    replace_paths=st.dictionaries(paths, json_values, max_size=2),
    replace_text=st.lists(
        st.builds(ReplaceText, pattern=st.sampled_from(["a", "^.", r"\d+", "(?i)B"])), max_size=2
    ),
)
keyed_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "id", "0", "x"]), inner, max_size=3),
    ),
    max_leaves=15,
)


@PROPS
@given(specs, keyed_values)
def test_normalizer_never_mutates_its_input(spec: Normalization, value: Any) -> None:
    before = copy.deepcopy(value)
    spec_before = copy.deepcopy(spec.replace_paths)
    normalizer = Normalizer(spec)
    first = normalizer.apply(value)
    assert value == before
    assert spec.replace_paths == spec_before
    assert normalizer.apply(before) == first  # deterministic
