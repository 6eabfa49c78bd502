"""What counts as a secret (harness.cassette.redact replaces them).

What is a secret:
  - the value of each environment variable named in `redact.env`, and by default of every one
    whose name has a part KEY, TOKEN, SECRET, PASSWORD, PASSWD or CREDENTIALS (values of at
    least 8 characters; named ones of at least 4: a shorter value is not treated as a secret,
    since hiding every `abc` in every output would hide the output, and cannot be guessed
    back from markers only when the HMAC key is secret). Each is found as it is and in every
    encoding harness writes text in: JSON-escaped (`\"`, `\\`, `\u00e9`), Python-repr
    escaped, and XML/HTML-escaped (`&amp;`, `&quot;`, `&#x27;`), each replaced by the marker
    of the secret itself;
  - the value under an object key named like `api_key`, `password`, `authorization` (the whole
    key, case and `-`/`_` ignored, so `token_count` is left alone), plus `redact.keys`;
  - text matching a pattern: Bearer tokens, `sk-...`, `ghp_...`, AWS key ids, JWTs, private key
    blocks, Slack tokens, plus `redact.patterns` (group 1, when present, is the secret part);
  - each piece of a secret value that holds line breaks (`\n`, `\r\n`, `\r` and the others
    str.splitlines ends lines at), where a reader that cuts text into lines leaves it: the part
    before the first break where a line or a text ends, the part after the last break where
    one begins, each line between as a whole line (see `line_pieces`); each is replaced by
    the marker of the whole secret (a piece's own marker would be easier to guess back).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import msgspec

from harness.config.schema import RedactSpec

KEY_ENV = "HARNESS_REDACTION_KEY"
MARKER_START = "[REDACTED"
MIN_NAMED_SECRET = 4
MIN_GUESSED_SECRET = 8
# A shorter piece of a secret is no secret on its own, as a shorter value is not: a JSON
# credential's `{` and `}` lines would hide every line ending in `{` or starting with `}`.
# What stays shown is at most 3 characters of the secret, beside its line break.
MIN_SECRET_PIECE = MIN_NAMED_SECRET

DEFAULT_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "access_token",
        "refresh_token",
        "id_token",
        "auth_token",
        "session_token",
        "authorization",
        "proxy_authorization",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "private_key",
        "token",
        "x_api_key",
        "cookie",
        "set_cookie",
    }
)
DEFAULT_PATTERNS = (
    r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{8,})",
    r"\b(sk-[A-Za-z0-9_-]{16,})",
    r"\b(gh[pousr]_[A-Za-z0-9]{20,})",
    r"\b(github_pat_[A-Za-z0-9_]{20,})",
    r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b",
    r"(?i)aws_secret_access_key\W{0,4}([A-Za-z0-9/+=]{40})",
    r"\b(eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,})",
    r"\b(xox[abprs]-[A-Za-z0-9-]{10,})",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
)
# Literals each default pattern cannot match without (lower-case ones are searched in the
# case-folded text): a pattern whose literal is absent is skipped. Python's regex scan runs at
# ~40 MB/s a pattern, too slow for an agent that floods its stderr; `in` is ~100x faster.
Hints = dict[str, tuple[tuple[str, ...], bool]]
PATTERN_HINTS: Hints = {
    DEFAULT_PATTERNS[0]: (("bearer",), True),
    DEFAULT_PATTERNS[1]: (("sk-",), False),
    DEFAULT_PATTERNS[2]: (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), False),  # not "gh": "weight"
    DEFAULT_PATTERNS[3]: (("github_pat_",), False),
    DEFAULT_PATTERNS[4]: (("AKIA", "ASIA"), False),
    DEFAULT_PATTERNS[5]: (("aws_secret_access_key",), True),
    DEFAULT_PATTERNS[6]: (("eyJ",), False),
    DEFAULT_PATTERNS[7]: (("xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-"), False),
    DEFAULT_PATTERNS[8]: (("-----BEGIN",), False),
}
_SECRET_NAME_PARTS = frozenset({"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIALS"})
_NAME_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_encoder = msgspec.json.Encoder(order="deterministic")


def normalize_key(key: str) -> str:
    return key.lower().replace("-", "_")


def looks_secret_env_name(name: str) -> bool:
    """`OPENAI_API_KEY`, `GITHUB_TOKEN`, `DB_PASSWORD`: yes. `SSH_AUTH_SOCK`, `PWD`: no."""
    return any(part.upper() in _SECRET_NAME_PARTS for part in _NAME_SPLIT.split(name))


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Raises ValueError with the reason when `pattern` is not a usable regex."""
    try:
        compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None
    if compiled.search(""):
        raise ValueError("the pattern matches the empty string, so it would match everywhere")
    return compiled


def secret_values(
    spec: RedactSpec | None, environ: Mapping[str, str], extra_env: Iterable[str] = ()
) -> list[str]:
    """The environment values that are secrets, longest first (so a longer one wins)."""
    spec = spec or RedactSpec()
    named = {*spec.env, *extra_env}
    found = set()
    for name, value in environ.items():
        if name in named:
            if len(value) >= MIN_NAMED_SECRET:
                found.add(value)
        elif spec.defaults and len(value) >= MIN_GUESSED_SECRET and looks_secret_env_name(name):
            found.add(value)
    # A value inside a marker would make redaction redact its own output.
    return sorted((v for v in found if MARKER_START not in v), key=lambda v: (-len(v), v))


def key_id(environ: Mapping[str, str] | None = None) -> str | None:
    """A short id of the HMAC key in use (None for the built-in one), stored in cassette
    headers so replay can tell a cassette recorded under another key."""
    key = (environ if environ is not None else os.environ).get(KEY_ENV)
    return hashlib.sha256(key.encode()).hexdigest()[:8] if key else None


def encode_json(value: Any) -> str:
    return _encoder.encode(value).decode()


def encodings(secret: str) -> set[str]:
    """`secret` as harness may write it: raw, JSON-escaped (UTF-8 and ASCII-only), repr-escaped
    and XML/HTML-escaped (with and without quotes)."""
    try:
        encoded = _encoder.encode(secret).decode()[1:-1]
    except UnicodeEncodeError:  # a lone surrogate (an environment value that is not UTF-8)
        encoded = secret
    forms = {
        secret,
        encoded,
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
        html.escape(secret, quote=False),
        html.escape(secret),
        html.escape(secret).replace("&#x27;", "&apos;"),  # XML's own name for '
        html.escape(secret).replace("&#x27;", "&#39;"),
    }
    return {form for form in forms if form}


class Piece(NamedTuple):
    """A piece of a secret cut at its line breaks: `text` is a secret where it stands at the
    start of a line or a text (`at_start`) and at the end of one (`at_end`)."""

    text: str
    at_start: bool
    at_end: bool


# Where str.splitlines ends a line (a live tool's stderr is cut there); a byte stream's lines
# end at \n only, and keep any other break inside a line.
LINE_BREAKS = "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_BREAK_CLASS = "".join(f"\\u{ord(c):04x}" for c in LINE_BREAKS)  # as a class body, escaped
_LINE_CUTS = (re.compile(rf"\r\n|[{_BREAK_CLASS}]"), re.compile(r"\r?\n"))


# A line or a text begins or ends at the text's own edges, a line break (raw, or escaped as
# JSON and repr write it), or a quote (a JSON or repr string inside a larger text: its quotes
# are its edges).
_NOT_EDGE = f"[^{_BREAK_CLASS}\"']"
_ESCAPED_BREAKS = sorted({f for c in LINE_BREAKS for f in encodings(c) if f.startswith("\\")})
# By width: the escapes of one width make one lookaround (a lookbehind has a single width).
_ESCAPED_BY_WIDTH = [
    "|".join(re.escape(f) for f in _ESCAPED_BREAKS if len(f) == width)
    for width in sorted({len(form) for form in _ESCAPED_BREAKS})
]
_EDGE_AFTER = "(?:" + "|".join([f"(?!{_NOT_EDGE})", *(f"(?={e})" for e in _ESCAPED_BY_WIDTH)]) + ")"


def _began_at_edge(literal: str) -> str:
    """Asserted just after `literal`: an edge stood before it. The literal leads the pattern
    (so the regex engine scans for its characters, ~100x faster than trying a lookbehind at
    every position) and is repeated inside each lookbehind."""
    behind = [f"(?<!{_NOT_EDGE}{literal})"]
    behind += [f"(?<=(?:{escaped}){literal})" for escaped in _ESCAPED_BY_WIDTH]
    return "(?:" + "|".join(behind) + ")"


def secret_pieces(secrets: list[str]) -> tuple[re.Pattern[str] | None, dict[str, str], Hints]:
    """A pattern finding the pieces of `secrets` (None when none holds a line break), the
    secret each piece's text is cut from (a longer secret's wins), and PATTERN_HINTS with the
    pieces' literals as the pattern's hint."""
    placed = {piece: secret for secret in reversed(secrets) for piece in line_pieces(secret)}
    secret_of = {piece.text: secret for piece, secret in placed.items()}
    pattern = pieces_regex(placed)
    if pattern is None:
        return None, secret_of, PATTERN_HINTS
    return pattern, secret_of, {**PATTERN_HINTS, pattern.pattern: (tuple(secret_of), False)}


def line_pieces(secret: str) -> set[Piece]:
    """The pieces of `secret` that a line-based reader leaves (none when it holds no line
    break), each in every encoding of `encodings`. Anchored to the edges of lines, a piece is
    redacted where the reader leaves it, not wherever its characters happen to stand."""
    pieces: set[Piece] = set()
    for cut in _LINE_CUTS:
        parts = cut.split(secret)
        if len(parts) < 2:
            continue
        placed = [(parts[0], False, True), (parts[-1], True, False)]
        placed += [(part, True, True) for part in parts[1:-1]]
        for part, at_start, at_end in placed:
            if len(part) >= MIN_SECRET_PIECE:
                pieces.update(Piece(form, at_start, at_end) for form in encodings(part))
    return pieces


def pieces_regex(pieces: Iterable[Piece]) -> re.Pattern[str] | None:
    """Any of `pieces` where it stands at its edges, the longest first."""
    ordered = sorted(pieces, key=lambda piece: (-len(piece.text), piece))
    anchored = []
    for text, at_start, at_end in ordered:
        literal = re.escape(text)
        before = _began_at_edge(literal) if at_start else ""
        anchored.append(literal + before + (_EDGE_AFTER if at_end else ""))
    return re.compile("|".join(anchored)) if anchored else None
