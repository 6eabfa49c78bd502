"""Secret redaction, applied to everything before it reaches disk or the agent's recorded view.

A secret is replaced by `[REDACTED:<16 hex>]`, the start of an HMAC-SHA256 of the secret. The
marker is deterministic, so a redacted argument still matches exactly: an incoming call is
redacted the same way before matching, and only the same secret gives the same marker (unlike
RunLedger, where every redacted value matched every other). The HMAC key is
`HARNESS_REDACTION_KEY` when set, else a fixed built-in key: set it when a secret is short
enough to guess, and set the same key where the cassettes are replayed.

What counts as a secret, and the encodings it is looked for in: harness.cassette.secret_rules.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from harness.cassette.secret_rules import (
    DEFAULT_KEYS,
    DEFAULT_PATTERNS,
    KEY_ENV,
    MARKER_START,
    PATTERN_HINTS,
    compile_pattern,
    encode_json,
    encodings,
    key_id,
    normalize_key,
    secret_pieces,
    secret_values,
)
from harness.config.schema import RedactSpec

_BUILTIN_KEY = b"harness-redaction-v1"
MARKER_RE = re.compile(r"\[REDACTED(?::[0-9a-f]{16})?\]")
# What of a stream cut into pieces waits for the next one, so a pattern's secret (a bearer
# token, a private key block) up to this long straddling a cut is still redacted whole.
PIECE_OVERLAP = 8 * 1024
# A replacement can make a pattern match that did not before (a `\b` at a new edge), so a text
# is redacted again until nothing changes; real texts settle in one or two rounds.
_MAX_ROUNDS = 4
# Up to this many forms of the secrets, `in` on each beats one scan of their alternation.
_FORMS_TESTED_ONE_BY_ONE = 64


class Redactor:
    """Compiled rules; `value()` returns a redacted copy of any JSON-like value."""

    def __init__(
        self,
        spec: RedactSpec | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        extra_env: Iterable[str] = (),
    ) -> None:
        """Args:
        spec: the suite's `redact:` settings (None: the defaults).
        environ: where secrets and the HMAC key are read (default os.environ).
        extra_env: more variable names whose values are secrets (HTTP header variables).
        """
        spec = spec or RedactSpec()
        environ = os.environ if environ is None else environ
        key = environ.get(KEY_ENV)
        self._key = key.encode() if key else _BUILTIN_KEY
        self.key_id = key_id(environ)
        self.keys = frozenset(normalize_key(k) for k in spec.keys) | (
            DEFAULT_KEYS if spec.defaults else frozenset()
        )
        self.secrets = secret_values(spec, environ, extra_env)
        patterns = [*(DEFAULT_PATTERNS if spec.defaults else ()), *spec.patterns]
        self._passes: list[re.Pattern[str]] = [compile_pattern(p) for p in patterns]
        # Before the pieces join: a quote is an edge to them, so JSON shows them as its strings do.
        self._screenable = not any(_EDGE_SENSITIVE.search(p.pattern) for p in self._passes)
        # Each encoding of a secret -> the secret, whose marker replaces it.
        self._encoded: dict[str, str] = {}
        for secret in reversed(self.secrets):  # a longer secret's form wins a tie
            self._encoded.update(dict.fromkeys(encodings(secret), secret))
        self.longest = max(map(len, self._encoded), default=0)
        # Forms that span a line break: a stream redacted line by line must see them whole.
        self._spanning_forms = sorted((form for form in self._encoded if "\n" in form), key=len)
        self._spanning = _literal_regex(self._spanning_forms)
        self._literal = _literal_regex(list(self._encoded))
        if self._literal is not None:
            self._passes.insert(0, self._literal)
        self._keys_re = _keys_regex(self.keys)
        self._screen = _Screen(self._passes)  # the pieces have their own test (see clean())
        # What a line-based reader leaves of a secret with line breaks, each piece's secret.
        self._pieces, self._piece_secret, self._hints = secret_pieces(self.secrets)
        if self._pieces is not None:
            self._passes.insert(1, self._pieces)  # after the whole secrets, before patterns
        self._any = _union(self._passes)

    def marker(self, secret: str) -> str:
        digest = hmac.new(self._key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return f"[REDACTED:{digest.hexdigest()[:16]}]"

    def text(self, text: str) -> str:
        """`text` with every secret in it replaced by its marker. Idempotent."""
        # Most strings hold no secret: substring tests settle that for most rules.
        if not self._may_hold_secret(text):
            return text
        for _ in range(_MAX_ROUNDS):
            redacted = self._round(text)
            if redacted == text:
                break
            text = redacted
        return text

    def _may_hold_secret(self, text: str) -> bool:
        """False when no rule can match `text`: each default pattern's literal and each
        secret's forms are looked for with `in` (C speed, ~100x a regex scan) before any
        pattern runs; the other patterns are searched."""
        lowered: str | None = None
        for pattern in self._passes:
            if pattern is self._literal and len(self._encoded) <= _FORMS_TESTED_ONE_BY_ONE:
                if any(form in text for form in self._encoded):
                    return True
                continue
            hint = self._hints.get(pattern.pattern)
            if hint is not None:
                literals, folded = hint
                if folded and lowered is None:
                    lowered = text.casefold()
                haystack = lowered if folded else text
                assert haystack is not None
                if not any(literal in haystack for literal in literals):
                    continue
            if pattern.search(text) is not None:
                return True
        return False

    def value(self, value: Any, *, keys: bool = True) -> Any:
        """A redacted copy of a JSON-like value: strings, object keys and, unless `keys` is
        false, the values under secret-named keys. A value with nothing to redact is returned
        as it is."""
        if not isinstance(value, str) and self.clean(value, keys=keys):
            return value
        return self.walk(value, keys=keys)

    def clean(self, value: Any, *, keys: bool = True) -> bool:
        """True when `value` (JSON-like, or a msgspec struct) certainly holds nothing to redact.

        One C-speed encode and one regex scan of the whole value instead of a Python walk of
        every string: with no backslash in the JSON, every string of the value stands in it
        verbatim between quotes, so a rule that finds nothing there finds nothing in any
        string. False means "not proven": the caller walks the value.
        """
        if not self._screenable:
            return False
        try:
            encoded = _screen_encoder.encode(value)
        except (TypeError, ValueError):
            return False
        if b"\\" in encoded or not encoded.isascii():
            return False  # escapes or case rules beyond ASCII: the walk decides
        text = encoded.decode("ascii")
        lowered = text.lower()  # ASCII: what IGNORECASE and casefold() match
        if keys and self._keys_re is not None and self._keys_re.search(lowered):
            return False
        pieces = self._piece_secret  # not in the screen: an `in` each beats a regex of them all
        if self._screen.rules_out(text, lowered) and not (
            pieces and any(p in text for p in pieces)
        ):
            return True
        for pattern in self._passes:
            hint = self._hints.get(pattern.pattern)
            if hint is not None:  # a substring test is ~100x cheaper than the regex scan
                literals, folded = hint
                haystack = lowered if folded else text
                if not any(literal in haystack for literal in literals):
                    continue
            if pattern.search(text) is not None:
                return False
        return True

    def walk(self, value: Any, *, keys: bool = True) -> Any:
        """A redacted copy of a JSON-like value, made by visiting every string and key in it:
        what `value()` returns whenever `clean()` cannot prove there is nothing to redact."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                self.text(k) if isinstance(k, str) else k: self._entry(k, v)
                if keys
                else self.walk(v, keys=False)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.walk(item, keys=keys) for item in value]
        return value

    def line(self, data: bytes) -> bytes:
        """One line of a byte stream (an agent's stderr); undecodable bytes pass through."""
        text = data.decode("utf-8", "surrogateescape")
        redacted = self.text(text)
        return data if redacted == text else redacted.encode("utf-8", "surrogateescape")

    def lines(self, data: bytes) -> bytes:
        """Lines of a byte stream: secrets that span lines first, then each line (so a
        pattern's `^` and `$` keep meaning a line's start and end)."""
        text = data.decode("utf-8", "surrogateescape")
        if not self._may_hold_secret(text):  # one look at the whole chunk, not one a line
            return data
        if self._spanning is not None:
            text = self._spanning.sub(self._replace, text)
        redacted = "".join(self.text(line) for line in _LINE_END.split(text))
        return redacted.encode("utf-8", "surrogateescape")

    def held(self, data: bytes) -> int:
        """How many bytes at the end of `data` must wait for more: the longest end that begins
        a secret spanning a line break (none at all when no secret does)."""
        if not self._spanning_forms:
            return 0
        text = data[-self.longest * 4 :].decode("utf-8", "surrogateescape")
        for size in range(min(self.longest, len(text)), 0, -1):
            end = text[-size:]
            if any(len(form) > size and form.startswith(end) for form in self._spanning_forms):
                return len(end.encode("utf-8", "surrogateescape"))
        return 0

    def split_point(self, data: bytes) -> int:
        """Where a line too long to hold whole may be cut, redacted piece by piece: the last
        `PIECE_OVERLAP` characters wait for the next piece (an environment secret is shorter,
        so one that starts before the cut ends in `data`), and the cut moves past any secret
        found across it."""
        text = data.decode("utf-8", "surrogateescape")
        window = max(self.longest, PIECE_OVERLAP)
        cut = max(len(text) - window, 0)
        start = max(cut - window, 0)
        if not self._may_hold_secret(text[start:]):
            return len(text[:cut].encode("utf-8", "surrogateescape"))
        for found in self._finds(text, start):
            if found.start() >= cut:
                break
            cut = max(cut, found.end())
        return len(text[:cut].encode("utf-8", "surrogateescape"))

    def _finds(self, text: str, start: int) -> list[re.Match[str]]:
        passes = self._passes if self._any is None else [self._any]
        found = [match for pattern in passes for match in pattern.finditer(text, start)]
        return sorted(found, key=lambda match: match.start())

    def _entry(self, key: Any, value: Any) -> Any:
        if isinstance(key, str) and normalize_key(key) in self.keys and value is not None:
            if isinstance(value, str) and MARKER_RE.fullmatch(value):
                return value
            if isinstance(value, bool):
                return value  # a flag, not a secret
            if isinstance(value, str | int | float):
                return self.marker(value if isinstance(value, str) else encode_json(value))
            # A secret-named object or list: redact inside it rather than hide its shape.
        return self.walk(value)

    def _round(self, text: str) -> str:
        lowered: str | None = None
        for pattern in self._passes:
            hint = self._hints.get(pattern.pattern)
            if hint is not None:
                literals, folded = hint
                if folded and lowered is None:
                    lowered = text.casefold()  # what re.IGNORECASE matches, ſ and K too
                haystack = lowered if folded else text
                assert haystack is not None
                if not any(literal in haystack for literal in literals):
                    continue
            if MARKER_START in text:
                # Markers are never redacted again: a user pattern could match their hex.
                parts = MARKER_RE.split(text)
                markers = MARKER_RE.findall(text)
                done = [self._sub(pattern, part) for part in parts]
                text = "".join(_interleave(done, markers))
            else:
                text = self._sub(pattern, text)
        return text

    def _sub(self, pattern: re.Pattern[str], text: str) -> str:
        if not text:
            return text
        return pattern.sub(self._replace, text)

    def _replace(self, found: re.Match[str]) -> str:
        if found.re is self._literal or found.re is self._spanning:
            return self.marker(self._encoded[found.group(0)])
        if found.re is self._pieces:
            return self.marker(self._piece_secret[found.group(0)])
        if found.re.groups and found.group(1) is not None:
            start, end = found.span(1)
            whole_start = found.start()
            whole = found.group(0)
            secret = found.group(1)
            return whole[: start - whole_start] + self.marker(secret) + whole[end - whole_start :]
        return self.marker(found.group(0))


# Anchors and lookarounds see a string's edges, which differ inside the whole value's JSON; a
# rule with any of them (or a `^` that may negate a class) keeps the per-string walk.
_EDGE_SENSITIVE = re.compile(r"\^|\$|\\[AZz]|\(\?<?[=!]")
_screen_encoder = msgspec.json.Encoder()


_LINE_END = re.compile("(?<=\n)")


class _Screen:
    """Every hinted pattern's literals in one scan of the text and one of its folded form, the
    other patterns in one regex: when all three find nothing, no pattern can match. (A loop of
    `in` tests, one per literal, costs several times as much on the short values of tool
    calls, which are screened several times an attempt.)"""

    def __init__(self, passes: list[re.Pattern[str]]) -> None:
        exact: list[str] = []
        folded: list[str] = []
        others: list[re.Pattern[str]] = []
        for pattern in passes:
            hint = PATTERN_HINTS.get(pattern.pattern)
            if hint is None:
                others.append(pattern)
            else:
                literals, fold = hint
                (folded if fold else exact).extend(literals)
        self._exact = _literal_regex(exact)
        self._folded = _literal_regex(folded)
        self._others = _union(others) if others else None
        # Patterns that cannot be combined: this screen proves nothing, every pattern runs.
        self._usable = not others or self._others is not None

    def rules_out(self, text: str, lowered: str) -> bool:
        """True when no pass can match `text` (`lowered` is its ASCII lower case)."""
        if not self._usable:
            return False
        if self._exact is not None and self._exact.search(text):
            return False
        if self._folded is not None and self._folded.search(lowered):
            return False
        return self._others is None or self._others.search(text) is None


def _literal_regex(forms: list[str]) -> re.Pattern[str] | None:
    """Any of `forms`, the longest first."""
    ordered = sorted(forms, key=lambda form: (-len(form), form))
    return re.compile("|".join(map(re.escape, ordered))) if ordered else None


def _keys_regex(keys: frozenset[str]) -> re.Pattern[str] | None:
    """Matches `"<key>":` in the lower-cased JSON for every key that `normalize_key` maps into
    `keys` (lower case already). Only used on ASCII text, where `str.lower()` does what
    IGNORECASE would, at a fifth of the cost: an IGNORECASE alternation loses the regex
    engine's scan for the leading quote."""
    if not keys:
        return None
    forms = sorted(re.escape(key).replace("_", "[-_]") for key in keys)
    return re.compile('"(?:' + "|".join(forms) + ')":')


_GLOBAL_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


def _union(passes: list[re.Pattern[str]]) -> re.Pattern[str] | None:
    """One regex matching wherever any pass would (leading `(?i)` flags scoped to their part);
    None when they cannot be combined, and then every pass runs on every text."""
    if not passes:
        return None
    parts = []
    for compiled in passes:
        flags = _GLOBAL_FLAGS.match(compiled.pattern)
        if flags is None:
            parts.append(f"(?:{compiled.pattern})")
        else:
            parts.append(f"(?{flags[1]}:{compiled.pattern[flags.end() :]})")
    try:
        return re.compile("|".join(parts))
    except (re.error, RecursionError, OverflowError):
        return None


def _interleave(parts: list[str], markers: list[str]) -> list[str]:
    out = [parts[0]]
    for marker, part in zip(markers, parts[1:], strict=True):
        out += [marker, part]
    return out


def contains_marker(value: Any) -> bool:
    """True if any string in a JSON-like value holds a redaction marker."""
    if isinstance(value, str):
        return MARKER_START in value and MARKER_RE.search(value) is not None
    if isinstance(value, dict):
        return any(contains_marker(k) or contains_marker(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_marker(item) for item in value)
    return False
