"""The one HTTP client factory of the workbook.

Every call to every service, sandbox or live, goes through a client made here:

- timeouts from the `http.timeouts` parameters;
- TLS trust of the system store, plus the sandbox CA in sandbox mode;
- retries with exponential backoff (stamina) on connection failures and on 429 and
  503 answers, honouring `Retry-After` (RFC 9110 §10.2.3);
- one INFO log line per attempt, with detail at DEBUG, and one WARNING line per
  scheduled retry saying what was refused and how long the wait is;
- a redacted transcript entry per attempt.

Retries live in the transport, under the logging and transcript layer, so each
attempt is visible in the log and in the transcript.
"""

from __future__ import annotations

import email.utils
import logging
import ssl
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import stamina
from stamina.instrumentation import RetryDetails, set_on_retry_hooks

from ssopoc import redact
from ssopoc.errors import ServiceUnreachableError
from ssopoc.settings import Retries, Timeouts
from ssopoc.transcript import Transcript

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class _RetryableStatusError(Exception):
    def __init__(self, request: httpx.Request, response: httpx.Response) -> None:
        self.request = request
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


def log_retry(details: RetryDetails) -> None:
    """Say which request is retried, why, and after how long a wait.

    Replaces stamina's own hook, whose line names neither the request nor the cause.
    """
    cause = details.caused_by
    if isinstance(cause, _RetryableStatusError):
        answer = cause.response.headers.get("retry-after")
        why = f"HTTP {cause.response.status_code}" + (
            f" (Retry-After: {answer})" if answer else ""
        )
    else:
        why = type(cause).__name__
    # RetryTransport gives every cause it retries its request (httpx's own
    # errors leave it unset below the client).
    request: httpx.Request = cause.request  # type: ignore[attr-defined]
    target = f"{request.method} {redact.url(str(request.url))}"
    log.warning(
        "%s: %s; retry %d in %.1f s", target, why, details.retry_num, details.wait_for
    )


set_on_retry_hooks([log_retry])


def retry_after_seconds(response: httpx.Response, cap: float) -> float | None:
    """Read `Retry-After` as seconds (delta-seconds or an HTTP date), capped."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), cap)


def tls_version(response: httpx.Response) -> str | None:
    """The TLS version of the connection a response came on, while it is open.

    httpcore's sync stream gives the socket's `_ssl._SSLSocket` as `ssl_object`, the
    async one an `ssl.SSLObject`; both answer `version()`.
    """
    stream: Any = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    version = getattr(ssl_object, "version", None)
    return version() if callable(version) else None


class ObservedTransport(httpx.BaseTransport):
    """Logs one INFO line and writes one transcript entry per attempt."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        service: str,
        transcript: Transcript | None,
    ) -> None:
        self._inner = inner
        self._service = service
        self._transcript = transcript

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        started = time.perf_counter()
        try:
            response = self._inner.handle_request(request)
            response.extensions["tls_version"] = tls_version(response)
            response.read()
        except httpx.TransportError as error:
            elapsed = (time.perf_counter() - started) * 1000
            log.info(
                "%s %s %s -> %s (%.0f ms)",
                self._service,
                request.method,
                redact.url(str(request.url)),
                type(error).__name__,
                elapsed,
            )
            if self._transcript:
                self._transcript.exchange(self._service, request, None, elapsed, error)
            raise
        elapsed = (time.perf_counter() - started) * 1000
        log.info(
            "%s %s %s -> %d (%.0f ms)",
            self._service,
            request.method,
            redact.url(str(request.url)),
            response.status_code,
            elapsed,
        )
        if self._transcript:
            self._transcript.exchange(self._service, request, response, elapsed)
        return response

    def close(self) -> None:
        self._inner.close()


class RetryTransport(httpx.BaseTransport):
    """Retries an attempt on connection failure, 429 or 503, within a budget.

    A connection that failed before the request was sent (`ConnectError`,
    `ConnectTimeout`) is retried for every method. A connection dropped after the
    request went out is retried only for idempotent methods, so a POST is never
    sent twice. When the budget is spent, the last 429/503 answer is returned as
    it is; a transport failure becomes `ServiceUnreachableError`.
    """

    def __init__(self, inner: httpx.BaseTransport, service: str, retries: Retries):
        self._inner = inner
        self._service = service
        self._retries = retries

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        last: httpx.Response | None = None

        def hook(error: Exception) -> bool | float:
            if isinstance(error, _RetryableStatusError):
                wait = retry_after_seconds(error.response, self._retries.wait_max)
                return True if wait is None else max(wait, 0.01)
            if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
                return True
            return isinstance(error, httpx.TransportError) and (
                request.method in IDEMPOTENT
            )

        try:
            for attempt in stamina.retry_context(
                on=hook,
                attempts=self._retries.attempts,
                timeout=self._retries.budget_seconds,
                wait_initial=self._retries.wait_initial,
                wait_max=self._retries.wait_max,
                wait_jitter=min(self._retries.wait_initial, 1.0),
            ):
                with attempt:
                    try:
                        response = self._inner.handle_request(request)
                    except httpx.TransportError as error:
                        error.request = request
                        raise
                    if response.status_code in RETRY_STATUSES:
                        last = response
                        raise _RetryableStatusError(request, response)
                    return response
        except _RetryableStatusError as exhausted:
            return exhausted.response
        except httpx.TransportError as error:
            raise ServiceUnreachableError(
                self._service,
                f"{request.method} {redact.url(str(request.url))} got no answer "
                f"after {self._retries.attempts} attempts ({type(error).__name__})",
                next_action="check that the service is up and reachable, then rerun",
            ) from error
        raise AssertionError(f"retry loop ended without an outcome: {last!r}")

    def close(self) -> None:
        self._inner.close()


def ssl_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """Trust the system store, and also `ca_file` (the sandbox CA) when given."""
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def make_client(
    service: str,
    *,
    base_url: str = "",
    timeouts: Timeouts | None = None,
    retries: Retries | None = None,
    ca_file: Path | None = None,
    transcript: Transcript | None = None,
    auth: httpx.Auth | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Client:
    """Build an `httpx.Client` for one service with the workbook's policies.

    `service` names the service in log lines and transcript entries. Raises
    `ServiceUnreachableError` (from any call) when the retry budget runs out.
    """
    timeouts = timeouts or Timeouts()
    retries = retries or Retries()
    context = ssl_context(ca_file)
    transport: httpx.BaseTransport = httpx.HTTPTransport(verify=context)
    transport = RetryTransport(
        ObservedTransport(transport, service, transcript), service, retries
    )
    return httpx.Client(
        base_url=base_url,
        transport=transport,
        timeout=httpx.Timeout(timeouts.read, connect=timeouts.connect),
        auth=auth,
        headers={"User-Agent": "ssopoc/0.1", **(headers or {})},
        **kwargs,
    )
