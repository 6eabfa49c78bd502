"""`harness serve` is safe by default: GET and HEAD only, a Host allowlist against DNS
rebinding, Sec-Fetch-Site checks, the token, traversal refused before routing, and the
security headers on every answer, errors included. Raw HTTP over a socket where a client
library would tidy the request up (`..` segments, a foreign Host)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.support.serve_runs import Served, ServedRuns, serving

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def served(dashboard_runs: ServedRuns) -> Iterator[Served]:
    with serving(dashboard_runs.out, dashboard_runs.db) as server:
        yield server


def raw(
    served: Served, target: str, *, host: str | None = None, method: str = "GET"
) -> tuple[int, bytes]:
    """(status, head) of one request sent byte for byte as written."""
    request = f"{method} {target} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{served.port}'}\r\n"
    request += "Connection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as conn:
        conn.sendall(request.encode("latin-1"))
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0]
    return int(head.split(b" ", 2)[1]), head.lower()


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_head(served: Served, method: str) -> None:
    response = served.client.request(method, "/api/runs")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_head_answers_without_a_body(served: Served, dashboard_runs: ServedRuns) -> None:
    response = served.client.head(f"/api/runs/{dashboard_runs.first}")
    assert response.status_code == 200 and response.content == b""


@pytest.mark.parametrize(
    "host", ["evil.example:{port}", "127.0.0.1:1", "127.0.0.1.evil.example:{port}", "localhost"]
)
def test_foreign_host_headers_are_refused(served: Served, host: str) -> None:
    status, _ = raw(served, "/api/runs", host=host.format(port=served.port))
    assert status == 421


def test_loopback_names_are_served(served: Served) -> None:
    for host in (
        f"127.0.0.1:{served.port}",
        f"localhost:{served.port}",
        f"LOCALHOST:{served.port}",
    ):
        assert raw(served, "/api/runs", host=host)[0] == 200


@pytest.mark.parametrize(
    "target",
    [
        "/static/../app.py",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/%2E%2E%2Fapp.py",
        "/static/..%2f..%2fetc%2fpasswd",
        "/static/%252e%252e/app.py",
        "/api/runs/..%2f..%2fetc%2fpasswd",
        "/api/runs/%2e%2e",
        "/runs/../../etc/passwd",
        "/static/js/..\\..\\app.py",
        "/static/%00",
        "/static/./js/main.js",
    ],
)
def test_traversal_is_404(served: Served, target: str) -> None:
    assert raw(served, target)[0] == 404


def test_cross_site_reads_are_refused_links_are_not(
    served: Served, dashboard_runs: ServedRuns
) -> None:
    cross = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "cors", "sec-fetch-dest": "empty"}
    refused = served.get("/api/runs", headers=cross)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "cross_site_request"
    assert (
        served.get("/static/js/main.js", headers={**cross, "sec-fetch-dest": "script"}).status_code
        == 403
    )
    link = {
        "sec-fetch-site": "cross-site",
        "sec-fetch-mode": "navigate",
        "sec-fetch-dest": "document",
    }
    assert served.get(f"/runs/{dashboard_runs.first}", headers=link).status_code == 200
    assert served.get("/api/runs", headers=link).status_code == 403  # a page, not the API
    framed = {**link, "sec-fetch-dest": "iframe"}
    assert served.get(f"/runs/{dashboard_runs.first}", headers=framed).status_code == 403
    same = {"sec-fetch-site": "same-origin", "sec-fetch-mode": "cors", "sec-fetch-dest": "empty"}
    assert served.get("/api/runs", headers=same).status_code == 200


@pytest.mark.parametrize(
    "path", ["/", "/api/runs", "/api/nope", "/static/app.css", "/static/none.js"]
)
def test_every_answer_carries_the_security_headers(served: Served, path: str) -> None:
    response = served.get(path)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_refusals_carry_them_too(served: Served) -> None:
    status, head = raw(served, "/api/runs", host="evil.example")
    assert status == 421 and b"content-security-policy: default-src 'self'" in head
    assert b"x-content-type-options: nosniff" in head


def test_pages_and_assets(served: Served, dashboard_runs: ServedRuns) -> None:
    page = served.get(f"/runs/{dashboard_runs.first}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert served.get("/runs/20990101-000000-abcdef").status_code == 404
    script = served.get("/static/js/main.js")
    assert script.headers["content-type"].startswith("text/javascript")
    again = served.get("/static/js/main.js", headers={"if-none-match": script.headers["etag"]})
    assert again.status_code == 304
    licence = served.get("/static/vendor/uplot/LICENSE.txt")
    assert licence.status_code == 200 and "MIT" in licence.text
    assert served.get("/static/nothing.css").json()["error"]["code"] == "not_found"


def test_a_token_guards_everything(dashboard_runs: ServedRuns) -> None:
    with serving(dashboard_runs.out, token=TOKEN) as served:
        refused = served.get("/api/runs")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        assert served.get("/", headers={"authorization": "Bearer wrong-token"}).status_code == 401
        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert served.get("/api/runs", headers=bearer).status_code == 200

        first = served.get(f"/runs/{dashboard_runs.first}?token={TOKEN}&view=attempts")
        assert first.status_code == 303
        assert first.headers["location"] == f"/runs/{dashboard_runs.first}?view=attempts"
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        browser = httpx.Client(base_url=served.url)
        browser.cookies.set("harness_serve_token", TOKEN)
        assert browser.get("/api/runs").status_code == 200
        browser.close()
