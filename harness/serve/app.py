"""The ASGI application: the API's routes as JSON, the pages (one HTML shell whose script reads
the URL, so every view is a deep link), and the static assets held in memory.

Handlers are plain functions: Starlette runs them in its worker threads, so streaming a big
results.jsonl never stalls the event loop. Every error is JSON with a stable code.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import Callable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from harness._version import __version__
from harness.serve import across, routes
from harness.serve.index import RunIndex
from harness.serve.security import Guard, allowed_hosts
from harness.serve.state import ApiError, ServeState

log = logging.getLogger("harness.serve")
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",
}
API_ROUTES = (
    "/api/runs",
    "/api/runs/{id}",
    "/api/runs/{id}/outcomes",
    "/api/runs/{id}/matrix?metric=pass_rate",
    "/api/runs/{id}/attempts/{attempt}",
    "/api/runs/{id}/tail?offset=0",
    "/api/cases/{id}/history",
    "/api/compare?base=&head=",
)


class Asset(msgspec.Struct, frozen=True):
    body: bytes
    media_type: str
    etag: str


def load_assets() -> dict[str, Asset]:
    """Every file under harness/serve/static, by its path below it."""
    assets: dict[str, Asset] = {}

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            name = f"{prefix}{entry.name}"
            if entry.is_dir():
                walk(entry, name + "/")
            elif not entry.name.startswith("."):
                body = entry.read_bytes()
                media = TYPES.get(Path(entry.name).suffix, "application/octet-stream")
                digest = hashlib.sha256(body).hexdigest()[:20]
                assets[name] = Asset(body, media, f'"{digest}"')

    walk(resources.files("harness.serve").joinpath("static"), "")
    return assets


def _json(value: Any, request: Request, status: int = 200) -> Response:
    body = msgspec.json.encode(value)
    etag = '"' + hashlib.sha256(body).hexdigest()[:24] + '"'
    headers = {"etag": etag, "cache-control": "no-cache"}
    if status == 200 and request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, status, headers=headers, media_type="application/json")


def _api(handler: Callable[[Request], Any]) -> Callable[[Request], Response]:
    def endpoint(request: Request) -> Response:
        try:
            return _json(handler(request), request)
        except ApiError as error:
            return Response(error.body(), error.status, media_type="application/json")
        except Exception:  # a bug: say so without a traceback to the client
            log.exception("error serving %s", request.url.path)
            failure = ApiError(500, "internal_error", "the server failed; see its stderr")
            return Response(failure.body(), 500, media_type="application/json")

    return endpoint


class Pages:
    """The handlers that are not plain JSON: the HTML shell, static assets and the live tail."""

    def __init__(self, state: ServeState, assets: dict[str, Asset]) -> None:
        self.state = state
        self.assets = assets
        self.shell = assets["index.html"]

    def page(self, request: Request) -> Response:
        run_id = request.path_params.get("run_id")
        # An unknown run is a 404 for crawlers and link checkers; the page says so from the API.
        status = 404 if run_id is not None and self.state.index.get(run_id) is None else 200
        headers = {"cache-control": "no-cache"}
        return Response(self.shell.body, status, media_type=self.shell.media_type, headers=headers)

    def static(self, request: Request) -> Response:
        asset = self.assets.get(request.path_params["name"])
        if asset is None:
            error = ApiError(404, "not_found", "no such file")
            return Response(error.body(), 404, media_type="application/json")
        headers = {"etag": asset.etag, "cache-control": "no-cache"}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)

    def tail(self, request: Request) -> Response:
        """The tail answers 304 from its ETag alone, before reading a byte of results.jsonl."""
        run_id, params = request.path_params["run_id"], request.query_params
        try:
            etag = routes.tail_etag(self.state, run_id, params)
        except ApiError as error:
            return Response(error.body(), error.status, media_type="application/json")
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"etag": etag, "cache-control": "no-cache"})
        response = _api(lambda r: routes.tail(self.state, run_id, params))(request)
        if response.status_code == 200:
            response.headers["etag"] = etag
        return response


def _not_found(request: Request) -> Any:
    raise ApiError(404, "not_found", f"no route {request.url.path}")


def _api_index(request: Request) -> Any:
    return {"harness": __version__, "routes": list(API_ROUTES), "methods": ["GET", "HEAD"]}


def route_table(state: ServeState, pages: Pages) -> list[Route]:
    def run(r: Request) -> str:
        return str(r.path_params["run_id"])

    one = "/api/runs/{run_id}"
    return [
        Route("/api", _api(_api_index)),
        Route("/api/runs", _api(lambda r: routes.runs_list(state, r.query_params))),
        Route(one, _api(lambda r: routes.run_detail(state, run(r)))),
        Route(one + "/outcomes", _api(lambda r: routes.outcomes(state, run(r), r.query_params))),
        Route(one + "/matrix", _api(lambda r: routes.matrix(state, run(r), r.query_params))),
        Route(
            one + "/attempts/{attempt:path}",
            _api(lambda r: routes.attempt(state, run(r), r.path_params["attempt"])),
        ),
        Route(one + "/tail", pages.tail),
        Route(
            "/api/cases/{case:path}/history",
            _api(lambda r: across.case_history(state, r.path_params["case"], r.query_params)),
        ),
        Route("/api/compare", _api(lambda r: across.compare_runs(state, r.query_params))),
        Route("/api/{rest:path}", _api(_not_found)),
        Route("/static/{name:path}", pages.static),
        Route("/", pages.page),
        Route("/runs/{run_id}", pages.page),
        Route("/runs/{run_id}/attempts/{attempt:path}", pages.page),
        Route("/compare", pages.page),
        Route("/cases/{case:path}", pages.page),
    ]


def build_app(
    root: Path,
    *,
    db_path: Path | None,
    host: str = "127.0.0.1",
    port: int = 3200,
    token: str | None = None,
    extra_hosts: tuple[str, ...] = (),
) -> Guard:
    """The whole server: the guard in front of the Starlette app."""
    state = ServeState(RunIndex(root), db_path)
    app = Starlette(routes=route_table(state, Pages(state, load_assets())))
    app.add_exception_handler(404, _not_found_handler)
    return Guard(app, hosts=allowed_hosts(host, port, extra_hosts), token=token)


async def _not_found_handler(request: Request, exc: Exception) -> Response:
    error = ApiError(404, "not_found", "no such page")
    return Response(error.body(), 404, media_type="application/json")


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("harness serve: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.WARNING)
