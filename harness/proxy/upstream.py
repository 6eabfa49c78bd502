"""The providers, reached with httpx: one client per run, the real key added here (the agent
only ever has a placeholder), 429 / 5xx / transport failures retried with tenacity's
exponential backoff and jitter (an upstream's `retry-after` is honoured up to the cap).

httpx and tenacity are imported only when a mode calls upstream (record, auto, live).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from harness.config.model_proxy import ModelRetry
from harness.proxy.shapes import FORWARDED_REQUEST_HEADERS

if TYPE_CHECKING:
    import httpx
    import tenacity

# 529: Anthropic's "overloaded". 408 and 409 are what OpenAI's SDK also retries.
TRANSIENT_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
BODY_CHARS = 300


class UpstreamUnavailable(Exception):
    """The provider could not give an answer, even after the retries."""


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.tries = 1


class Upstream(msgspec.Struct, frozen=True):
    api: str
    base_url: str  # in the SDK's convention: OpenAI's ends with /v1, Anthropic's does not
    key: str | None

    def url(self, path: str, query: str) -> str:
        tail = path[3:] if self.api == "openai" and path.startswith("/v1/") else path
        return self.base_url.rstrip("/") + tail + (f"?{query}" if query else "")

    def auth(self) -> dict[str, str]:
        if not self.key:
            return {}
        if self.api == "anthropic":
            return {"x-api-key": self.key}
        return {"authorization": f"Bearer {self.key}"}

    def key_refused(self, status: int, body: Any, key_env: str) -> str:
        """One line for a 401 / 403 from this upstream: which endpoint, what it said (its
        error code, never its message, which may quote part of the key), what to set."""
        code = _error_code(body)
        answered = f"HTTP {status}" + (f" {code}" if code else "")
        where = f"{self.api} upstream {_without_credentials(self.base_url)}"
        if not self.key:
            return (
                f"{where} refused a call without a key ({answered}): {key_env} is not set; "
                f"set it to record (replay needs no key)"
            )
        wanted = "a valid key" if status == 401 else "a key allowed to use this model and route"
        return f"{where} refused the key in {key_env} ({answered}): set {key_env} to {wanted}"


class UpstreamClient:
    """Sends the agent's requests upstream. `open` yields a response whose body is not read
    yet, so a stream can be passed on as it comes."""

    def __init__(
        self, upstreams: Mapping[str, Upstream], *, timeout_seconds: float, retry: ModelRetry
    ) -> None:
        self.upstreams = dict(upstreams)
        self.timeout_seconds = timeout_seconds
        self.retry = retry
        self._client: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    @contextlib.asynccontextmanager
    async def open(
        self, api: str, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> AsyncIterator[httpx.Response]:
        """The upstream's answer (any status but a transient one), its body still unread.

        Raises:
            UpstreamUnavailable: transient failures outlasted the retries, or no connection.
        """
        upstream = self.upstreams[api]
        sent = {k: v for k, v in headers.items() if k.lower() in FORWARDED_REQUEST_HEADERS}
        sent.update(upstream.auth())
        response = await self._send_with_retries(method, upstream.url(path, query), sent, body, api)
        try:
            yield response
        finally:
            await response.aclose()

    async def _send_with_retries(
        self, method: str, url: str, headers: dict[str, str], body: bytes, api: str
    ) -> httpx.Response:
        try:
            try:
                return await self._send_once(method, url, headers, body)
            except _Transient as first:
                if self.retry.attempts <= 1:
                    raise
                # Retrying is set up only when needed: tenacity's machinery costs a call
                # that goes through at once a tenth of a millisecond.
                await anyio.sleep(self._first_wait(first))
            return await self._retry(method, url, headers, body)
        except _Transient as exc:
            after = f" after {exc.tries} tries" if exc.tries > 1 else ""
            raise UpstreamUnavailable(f"{api} upstream unavailable{after}: {exc}") from None

    async def _retry(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> httpx.Response:
        """Tries 2..attempts: tenacity's exponential backoff with jitter between them."""
        # lazy: replay never retries anything upstream
        import tenacity

        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self.retry.attempts - 1),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Transient),
            # anyio's sleep, so a cancelled attempt stops waiting at once.
            sleep=anyio.sleep,
            reraise=True,
        )
        tries = 1
        try:
            async for attempt in retrying:
                with attempt:
                    tries += 1
                    return await self._send_once(method, url, headers, body)
        except _Transient as exc:
            exc.tries = tries
            raise
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _first_wait(self, error: _Transient) -> float:
        import random  # lazy: only a failing upstream needs jitter

        initial = self.retry.initial_backoff_ms / 1000
        return self._capped(initial + random.uniform(0, initial), error)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        # lazy: replay never retries anything upstream
        import tenacity

        initial = self.retry.initial_backoff_ms / 1000
        # The first wait was ours (_first_wait): tenacity's continue the doubling from there.
        backoff = tenacity.wait_exponential(multiplier=initial * 2) + tenacity.wait_random(
            0, initial
        )
        error = state.outcome.exception() if state.outcome is not None else None
        return self._capped(float(backoff(state)), error)

    def _capped(self, wait: float, error: BaseException | None) -> float:
        """`wait`, or the upstream's retry-after when longer; never past max_backoff_ms."""
        cap = self.retry.max_backoff_ms / 1000
        if isinstance(error, _Transient) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return min(wait, cap)

    async def _send_once(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> httpx.Response:
        # lazy: httpx loads only in the modes that call upstream
        import httpx

        client = self._client
        if client is None:
            timeout = httpx.Timeout(self.timeout_seconds, connect=min(self.timeout_seconds, 30))
            client = self._client = httpx.AsyncClient(timeout=timeout, trust_env=True)
        request = client.build_request(method, url, headers=headers, content=body or None)
        try:
            response = await client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code in TRANSIENT_STATUSES:
            text = (await response.aread())[:BODY_CHARS].decode("utf-8", "replace")
            await response.aclose()
            raise _Transient(f"HTTP {response.status_code}: {text}", _retry_after(response.headers))
        return response


def _error_code(body: Any) -> str | None:
    """`invalid_api_key`, `authentication_error`, ...: OpenAI's error.code (else .type),
    Anthropic's error.type."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("code") or error.get("type")
    return code if isinstance(code, str) and code.isidentifier() else None


def _without_credentials(url: str) -> str:
    import urllib.parse  # lazy: only a refused key needs it

    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after-ms")
    if value is not None:
        with contextlib.suppress(ValueError):
            return float(value) / 1000
    value = headers.get("retry-after")
    if value is not None:
        with contextlib.suppress(ValueError):
            return float(value)
    return None


async def body_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The answer's body as it arrives, decompressed.

    Raises:
        UpstreamUnavailable: the connection broke or timed out mid-answer.
    """
    # lazy: httpx loads only in the modes that call upstream
    import httpx

    try:
        async for chunk in response.aiter_bytes():
            yield chunk
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(f"the answer broke off: {type(exc).__name__}: {exc}") from exc
