"""The guard's pure parts: which paths count as traversal, which Host values are served."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.serve.security import allowed_hosts, traversal

segments = st.text(alphabet=st.characters(blacklist_characters="/\\\x00%"), min_size=1, max_size=8)


def scope(path: str, raw: str | None = None) -> dict[str, object]:
    return {"path": path, "raw_path": (raw or path).encode("latin-1", "replace")}


@given(before=st.lists(segments, max_size=3), after=st.lists(segments, max_size=3),
       dots=st.sampled_from(["..", "."]))  # fmt: skip
def test_dot_segments_anywhere_are_traversal(
    before: list[str], after: list[str], dots: str
) -> None:
    path = "/" + "/".join([*before, dots, *after])
    assert traversal(scope(path))


@given(parts=st.lists(segments.filter(lambda s: s not in (".", "..")), min_size=1, max_size=4))
def test_plain_paths_are_not(parts: list[str]) -> None:
    assert not traversal(scope("/" + "/".join(parts)))


def test_encoded_forms_are_traversal() -> None:
    for raw in (
        "/static/%2e%2e/x",
        "/static/%2E%2E%2Fx",
        "/a%2fb",
        "/a%5cb",
        "/a%00",
        "/a%252e%252e",
    ):
        decoded = raw.replace("%252e", "%2e")
        assert traversal(scope(decoded, raw)), raw
    assert traversal(scope("/static/js\\..\\x"))


def test_hosts() -> None:
    hosts = allowed_hosts("127.0.0.1", 3200)
    assert {"127.0.0.1:3200", "localhost:3200", "[::1]:3200"} <= hosts
    assert "localhost" not in hosts and "evil.example:3200" not in hosts
    assert "localhost" in allowed_hosts("127.0.0.1", 80)
    assert "box.lan:8080" in allowed_hosts("0.0.0.0", 8080, ["box.lan"])
    assert "0.0.0.0:8080" not in allowed_hosts("0.0.0.0", 8080)
    assert "[::1]:9000" in allowed_hosts("::1", 9000)
