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
    assets = load_assets()
    shell = assets["index.html"]

    def page(request: Request) -> Response:
        status = 200
        run_id = request.path_params.get("run_id")
        if run_id is not None and state.index.get(run_id) is None:
            status = 404  # the page says so too, from the API's answer
        return Response(
            shell.body, status, media_type=shell.media_type, headers={"cache-control": "no-cache"}
        )

    def static(request: Request) -> Response:
        asset = assets.get(request.path_params["name"])
        if asset is None:
            error = ApiError(404, "not_found", "no such file")
            return Response(error.body(), 404, media_type="application/json")
        headers = {"etag": asset.etag, "cache-control": "no-cache"}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)

    def tail(request: Request) -> Response:
        params = request.query_params
        try:
            etag = routes.tail_etag(state, request.path_params["run_id"], params)
        except ApiError as error:
            return Response(error.body(), error.status, media_type="application/json")
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"etag": etag, "cache-control": "no-cache"})
        response = _api(lambda r: routes.tail(state, r.path_params["run_id"], r.query_params))(
            request
        )
        if response.status_code == 200:
            response.headers["etag"] = etag
        return response

    def not_found(request: Request) -> Any:
        raise ApiError(404, "not_found", f"no route {request.url.path}")

    def api_index(request: Request) -> Any:
        return {"harness": __version__, "routes": list(API_ROUTES), "methods": ["GET", "HEAD"]}

    run = "/api/runs/{run_id}"
    table = [
        Route("/api", _api(api_index)),
        Route("/api/runs", _api(lambda r: routes.runs_list(state, r.query_params))),
        Route(run, _api(lambda r: routes.run_detail(state, r.path_params["run_id"]))),
        Route(
            run + "/outcomes",
            _api(lambda r: routes.outcomes(state, r.path_params["run_id"], r.query_params)),
        ),
        Route(
            run + "/matrix",
            _api(lambda r: routes.matrix(state, r.path_params["run_id"], r.query_params)),
        ),
        Route(
            run + "/attempts/{attempt:path}",
            _api(
                lambda r: routes.attempt(state, r.path_params["run_id"], r.path_params["attempt"])
            ),
        ),
        Route(run + "/tail", tail),
        Route(
            "/api/cases/{case:path}/history",
            _api(lambda r: across.case_history(state, r.path_params["case"], r.query_params)),
        ),
        Route("/api/compare", _api(lambda r: across.compare_runs(state, r.query_params))),
        Route("/api/{rest:path}", _api(not_found)),
        Route("/static/{name:path}", static),
        Route("/", page),
        Route("/runs/{run_id}", page),
        Route("/runs/{run_id}/attempts/{attempt:path}", page),
        Route("/compare", page),
        Route("/cases/{case:path}", page),
    ]
    app = Starlette(routes=table)
    app.add_exception_handler(404, _not_found_handler)
    hosts = allowed_hosts(host, port, extra_hosts)
    return Guard(app, hosts=hosts, token=token)


async def _not_found_handler(request: Request, exc: Exception) -> Response:
    error = ApiError(404, "not_found", "no such page")
    return Response(error.body(), 404, media_type="application/json")


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("harness serve: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.WARNING)
