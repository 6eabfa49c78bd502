"""The listening socket and the server loop.

The port defaults to Vally's 3200; a busy port means the next one is tried (up to PORT_TRIES),
and nothing that holds a port is ever disturbed. uvicorn runs the app on the socket bound
here; on Ctrl+C it finishes the requests in flight and re-raises the signal, which the CLI's
boundary turns into exit 130.
"""

from __future__ import annotations

import errno
import ipaddress
import signal
import socket
from collections.abc import Callable
from typing import Any

DEFAULT_PORT = 3200
PORT_TRIES = 20


class PortsBusy(OSError):
    """Every port tried was taken."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int, tries: int = PORT_TRIES) -> socket.socket:
    """A listening socket on `host`, at `port` or the first free port after it. Port 0 takes
    any free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last: OSError | None = None
    for candidate in range(port, port + tries) if port else [0]:
        # IPPROTO_TCP named, not left 0: asyncio sets TCP_NODELAY only on sockets that say TCP,
        # and without it every small answer (headers and body written apart) waited ~40 ms for
        # the client's delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        # SO_REUSEADDR lets a restarted server take its port from TIME_WAIT; on Linux it never
        # lets two servers listen on one port, so a busy port still fails here.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), candidate))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            last = exc
            continue
        sock.set_inheritable(True)
        return sock
    raise PortsBusy(f"ports {port} to {port + tries - 1} on {host} are all taken") from last


def url_of(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    shown = host if host not in ("0.0.0.0", "::") else socket.gethostname()
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def serve(app: Any, sock: socket.socket, on_ready: Callable[[], None] | None = None) -> None:
    """Run `app` on `sock` until Ctrl+C or SIGTERM (uvicorn then re-raises the signal)."""
    # lazy: the serve extra is imported only by `harness serve`
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Inherited "ignore" (a script's background job): uvicorn still stops on Ctrl+C, but
        # the signal it re-raises afterwards would vanish and serve would exit 0 as if it had
        # ended by itself. Python's own handler makes the re-raise a KeyboardInterrupt (130).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if on_ready is not None:
        original = server.startup

        async def startup(sockets: list[socket.socket] | None = None) -> None:
            await original(sockets=sockets)
            if server.started:
                on_ready()

        server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])
