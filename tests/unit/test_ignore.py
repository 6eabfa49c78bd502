"""ignore_args (harness.cassette.ignore): the paths it parses and the arguments it drops."""

from __future__ import annotations

from harness.cassette.ignore import IgnoreArgs, parse_ignore_path


def test_ignore_args_paths() -> None:
    assert parse_ignore_path("$.a.b[0]") == (None, ("a", "b", 0))
    assert parse_ignore_path("search:$.items[*].ts") == ("search", ("items", "*", "ts"))
    assert parse_ignore_path('$["odd key"]') == (None, ("odd key",))
    ignore = IgnoreArgs(["request_id", "search:$.items[*].ts", "$.list[1]"])
    args = {"request_id": 1, "q": "x", "items": [{"ts": 1, "a": 2}], "list": [0, 1, 2]}
    assert ignore.apply("search", args) == {"q": "x", "items": [{"a": 2}], "list": [0, 2]}
    assert ignore.apply("other", args)["items"] == [{"ts": 1, "a": 2}]
    assert args["request_id"] == 1  # the input is not changed
