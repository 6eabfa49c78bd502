"""`harness serve [DIR]`: the dashboard and the Results API over the runs under DIR and the
history database, read-only. Needs the `serve` extra (starlette, uvicorn)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.cli import flags

DEFAULT_OUTPUT_DIR = Path("harness_out")  # harness.execute.options's, without its imports
INSTALL_HINT = "harness serve needs the serve extra: pip install 'harness[serve]'"


def serve_command(
    folder: Annotated[
        Path | None,
        typer.Argument(
            help="Runs to serve: an output dir (default harness_out), a suite or a run folder."
        ),
    ] = None,
    port: Annotated[
        int, typer.Option("--port", help="Port (default 3200; busy: the next free one).")
    ] = 3200,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to bind (default 127.0.0.1; others need --token)."),
    ] = "127.0.0.1",
    open_browser: flags.OpenBrowser = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", help="Require this token (Bearer header, or ?token= once in a browser)."
        ),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host", help="Another Host header name to accept (a proxy's; repeatable)."
        ),
    ] = None,
    db: flags.Db = flags.DEFAULT_DB,
) -> None:
    """Serve a dashboard and a read-only Results API. Exit 130 on Ctrl+C, 2 on bad options."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.errors import UsageError

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    # lazy: imports starlette, which only this command needs
    from harness.serve.app import build_app, configure_logging
    from harness.serve.server import PortsBusy, bind, is_loopback, serve, url_of
    from harness.storage.history import resolve_db

    root = folder if folder is not None else DEFAULT_OUTPUT_DIR
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder (runs are written under harness_out by default)")
    if not is_loopback(host) and not token:
        raise UsageError(
            f"--host {host} is not loopback: add --token T (anyone reaching it could read all runs)"
        )
    if token is not None and len(token) < 8:
        raise UsageError("--token must be at least 8 characters")
    if not 0 <= port <= 65535:
        raise UsageError("--port must be 0 to 65535")
    try:
        sock = bind(host, port)
    except PortsBusy as exc:
        raise UsageError(f"{exc}; pick another with --port") from None
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    url = url_of(sock, host)
    # Bound to every interface: the URL printed names this machine, so its name is served.
    names = (socket.gethostname(), socket.getfqdn()) if host in ("0.0.0.0", "::") else ()
    app = build_app(
        root,
        # The default history is at the project root of the runs served, as `run` writes it.
        db_path=None if db == ":memory:" else Path(resolve_db(db, root.absolute())),
        host=host,
        port=sock.getsockname()[1],
        token=token,
        extra_hosts=(*names, *(allow_host or ())),
    )
    configure_logging()
    link = f"{url}/?token={token}" if token else f"{url}/"
    should_open = open_browser if open_browser is not None else _interactive()

    def ready() -> None:
        print(f"harness serve: {link}  (runs under {root}; Ctrl+C to stop)", flush=True)
        if should_open:
            # lazy: only an interactive serve opens a browser
            import webbrowser

            webbrowser.open(link)

    serve(app, sock, on_ready=ready)


def _interactive() -> bool:
    return sys.stdout.isatty() and os.environ.get("CI", "").lower() not in ("true", "1", "yes")
