"""What replay compares: a call's args as keys (redacted, without `match.ignore_args` paths), for
one entry, a batch (the lazy index) or a case's whole cassette; and the check that a cassette's
redaction markers were made with this run's key."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from harness.cassette.format import CassetteHeader, Interaction
from harness.cassette.ignore import IgnoreArgs
from harness.cassette.matching import (
    ReplayCassette,
    canonical_args,
    decode_canonical,
    encode_canonical,
)
from harness.cassette.recorder import entries_for_case
from harness.cassette.redact import Redactor, contains_marker
from harness.errors import CassetteError


class Matcher:
    """Turns args into what matching compares: redacted, without the ignored paths."""

    def __init__(self, redactor: Redactor | None, ignore: IgnoreArgs | None) -> None:
        self.redactor = redactor
        self.ignore = ignore if ignore else None

    def key(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        if self.redactor is not None:
            args = self.redactor.value(args)
        if self.ignore is not None:
            args = self.ignore.apply(tool, args)
        return args

    def _keyed(self, entry: Interaction, redactor: Redactor | None) -> Interaction:
        args = redactor.value(entry.args) if redactor is not None else entry.args
        if self.ignore is not None:
            args = self.ignore.apply(entry.tool, args)
        return entry if args is entry.args else msgspec.structs.replace(entry, args=args)

    def keyed_entry(self, entry: Interaction) -> Interaction:
        """`entry` as `cassette` keeps it (one entry: the lazy index decodes one at a time)."""
        redactor = self.redactor
        if redactor is not None and redactor.clean([entry.args]):
            redactor = None
        if redactor is None and self.ignore is None:
            return entry
        return self._keyed(entry, redactor)

    def hashes(self, tools: list[str], args: list[bytes]) -> list[int]:
        """hash((tool, canonical args)) of each entry as `cassette` keys it (the lazy index)."""
        return [hash(key) for key in self.keys(tools, args)]

    def keys(self, tools: list[str], args: list[bytes]) -> list[tuple[str, bytes]]:
        """(tool, canonical args) of each entry as `cassette` keys it, from its args' JSON; one
        redaction screen for the whole batch, as `cassette` does for the whole file."""
        redactor = self.redactor
        if redactor is not None and redactor.clean([msgspec.json.decode(a) for a in args]):
            redactor = None
        if redactor is None:
            values = [decode_canonical(a) for a in args]
            if self.ignore is not None:
                values = [self.ignore.apply(t, v) for t, v in zip(tools, values, strict=True)]
            return [(t, encode_canonical(v)) for t, v in zip(tools, values, strict=True)]
        keyed = [
            self._keyed(Interaction(tool=t, args=msgspec.json.decode(a), ok=True), redactor)
            for t, a in zip(tools, args, strict=True)
        ]
        return [(entry.tool, canonical_args(entry.args)) for entry in keyed]

    def cassette(
        self,
        entries: list[Interaction],
        *,
        case_id: str | None,
        strict: bool,
        lines: list[int] | None,
        source: str,
    ) -> ReplayCassette:
        """A replay cassette over the entries `case_id` may use, args compared as keys."""
        chosen = entries_for_case(entries, case_id)
        keyed = [entries[i] for i in chosen]
        # One screen of every recorded args at once (they were redacted when recorded): a
        # large cassette with nothing to redact or ignore is not walked entry by entry.
        redactor = self.redactor
        if redactor is not None and redactor.clean([entry.args for entry in keyed]):
            redactor = None
        if redactor is not None or self.ignore is not None:
            keyed = [self._keyed(entry, redactor) for entry in keyed]
        return ReplayCassette(
            keyed,
            strict=strict,
            lines=None if lines is None else [lines[i] for i in chosen],
            source=source,
        )


def check_redaction_key(
    path: Path,
    header: CassetteHeader | None,
    entries: Iterable[Interaction],
    redactor: Redactor | None,
) -> None:
    """A cassette whose args were redacted under another HMAC key can never match: say so."""
    if header is None or redactor is None or header.redaction_key_id == redactor.key_id:
        return
    if any(contains_marker(entry.args) for entry in entries):
        recorded = "a HARNESS_REDACTION_KEY" if header.redaction_key_id else "the built-in key"
        current = "a different HARNESS_REDACTION_KEY" if redactor.key_id else "the built-in key"
        raise CassetteError(
            f"{path}: its redacted arguments were made with {recorded}, this run uses "
            f"{current}; set the same HARNESS_REDACTION_KEY as when recording, or record again",
            path=str(path),
        )
