"""`python -m tests.support.providers [--script FILE]`: serve the stand-in until interrupted,
after printing its base URLs as `NAME=value` lines (then a blank line, so a reader knows the
stand-in is ready)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import anyio
import msgspec

from tests.support.providers.script import Script, load_script
from tests.support.providers.server import serve_providers


async def _serve(script: Script) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with serve_providers(script) as providers:
            for name, url in providers.client_env().items():
                print(f"{name}={url}")
            print(flush=True)
            async for _ in signals:
                return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.providers")
    parser.add_argument("--script", type=Path, help="a JSON script (see the package docstring)")
    args = parser.parse_args(argv)
    try:
        script = load_script(args.script) if args.script else Script()
    except (OSError, msgspec.DecodeError) as exc:  # ValidationError is a DecodeError
        print(f"error: {args.script}: {exc}", file=sys.stderr)
        return 2
    anyio.run(_serve, script)
    return 0


if __name__ == "__main__":
    sys.exit(main())
