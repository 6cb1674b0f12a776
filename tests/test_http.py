"""The HTTP factory against the sandbox: retries, Retry-After, logging, transcript.

Faults come from the sandbox host's fault switch over real HTTPS, so every retry
crosses a real TLS connection.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssopoc import redact
from ssopoc.errors import ServiceUnreachableError
from ssopoc.http import make_client, retry_after_seconds, ssl_context
from ssopoc.sandbox import SandboxHandle
from ssopoc.settings import Retries
from ssopoc.transcript import Transcript

CANARY = "canary-5e6f7a8b9c0d1e2f"
FAST = Retries(attempts=3, wait_initial=0.05, wait_max=5, budget_seconds=30)
PATH = "/no-such-route"  # any non-admin path; faults never touch /_sandbox/*


@pytest.fixture
def base(sandbox: SandboxHandle) -> Iterator[str]:
    url = sandbox.base_urls["keycloak"]
    yield url
    httpx.delete(f"{url}/_sandbox/faults", verify=ssl_context(sandbox.ca_file))


def set_faults(base: str, ca: Path, faults: list[dict[str, Any]]) -> None:
    response = httpx.put(f"{base}/_sandbox/faults", json=faults, verify=ssl_context(ca))
    assert response.status_code == 200


def entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_429_with_retry_after_is_retried_after_the_wait(
    base: str,
    sandbox: SandboxHandle,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    set_faults(
        base, sandbox.ca_file, [{"kind": "status", "status": 429, "retry_after": 1}]
    )
    transcript = Transcript(tmp_path / "t.jsonl")
    with make_client(
        "svc",
        base_url=base,
        retries=FAST,
        ca_file=sandbox.ca_file,
        transcript=transcript,
    ) as client:
        started = time.monotonic()
        response = client.get(PATH)
        waited = time.monotonic() - started
    assert response.status_code != 429
    assert waited >= 0.9  # Retry-After: 1 was honoured (a lower bound only)
    statuses = [e["response"]["status"] for e in entries(transcript.path)]
    assert statuses[0] == 429 and len(statuses) == 2
    # The retry is announced with the request, the refusal and the wait.
    retries = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in retries] == [
        f"GET {base}{PATH}: HTTP 429 (Retry-After: 1); retry 1 in 1.0 s"
    ]


def test_503_is_retried_and_succeeds(
    base: str, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    set_faults(base, sandbox.ca_file, [{"kind": "status", "status": 503, "count": 2}])
    transcript = Transcript(tmp_path / "t.jsonl")
    with make_client(
        "svc",
        base_url=base,
        retries=FAST,
        ca_file=sandbox.ca_file,
        transcript=transcript,
    ) as client:
        response = client.get(PATH)
    assert response.status_code not in (429, 503)
    assert [e["response"]["status"] for e in entries(transcript.path)][:2] == [503, 503]


def test_budget_spent_on_503_returns_the_last_answer(
    base: str, sandbox: SandboxHandle
) -> None:
    set_faults(base, sandbox.ca_file, [{"kind": "status", "status": 503, "count": 5}])
    with make_client(
        "svc", base_url=base, retries=FAST, ca_file=sandbox.ca_file
    ) as client:
        response = client.get(PATH)
    assert response.status_code == 503


def test_dropped_connections_become_a_typed_error_after_the_budget(
    base: str,
    sandbox: SandboxHandle,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    set_faults(base, sandbox.ca_file, [{"kind": "drop", "count": 3}])
    transcript = Transcript(tmp_path / "t.jsonl")
    with (
        make_client(
            "svc",
            base_url=base,
            retries=FAST,
            ca_file=sandbox.ca_file,
            transcript=transcript,
        ) as client,
        pytest.raises(ServiceUnreachableError) as raised,
    ):
        client.get(PATH)
    assert "after 3 attempts" in str(raised.value)
    assert raised.value.next_action
    assert len(entries(transcript.path)) == 3
    assert all("error" in e for e in entries(transcript.path))
    retries = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 2
    assert all(m.startswith(f"GET {base}{PATH}: RemoteProtocolError") for m in retries)


def test_a_post_whose_connection_dropped_is_not_sent_again(
    base: str, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    set_faults(base, sandbox.ca_file, [{"kind": "drop", "count": 1}])
    transcript = Transcript(tmp_path / "t.jsonl")
    with (
        make_client(
            "svc",
            base_url=base,
            retries=FAST,
            ca_file=sandbox.ca_file,
            transcript=transcript,
        ) as client,
        pytest.raises(ServiceUnreachableError),
    ):
        client.post(PATH, json={"create": "user"})
    assert len(entries(transcript.path)) == 1


def test_latency_fault_delays_the_answer(base: str, sandbox: SandboxHandle) -> None:
    set_faults(base, sandbox.ca_file, [{"kind": "latency", "latency_ms": 300}])
    with make_client("svc", base_url=base, ca_file=sandbox.ca_file) as client:
        started = time.monotonic()
        client.get(PATH)
    assert time.monotonic() - started >= 0.3


def test_one_info_line_per_attempt_and_nothing_secret_anywhere(
    base: str, sandbox: SandboxHandle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    redact.register(CANARY)
    set_faults(base, sandbox.ca_file, [{"kind": "status", "status": 503}])
    transcript = Transcript(tmp_path / "t.jsonl")
    caplog.set_level(logging.INFO, logger="ssopoc.http")
    with make_client(
        "svc",
        base_url=base,
        retries=FAST,
        ca_file=sandbox.ca_file,
        transcript=transcript,
    ) as client:
        client.post(
            f"{PATH}?api_key={CANARY}",
            json={"password": "hunter2-long", "note": CANARY},
            headers={"Authorization": f"Bearer {CANARY}"},
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "ssopoc.http"]
    attempts = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(attempts) == 2 and lines[0].startswith("svc POST ")
    assert "api_key=***: HTTP 503; retry 1" in lines[1]
    written = transcript.path.read_text()
    assert CANARY not in written and CANARY not in " ".join(lines)
    assert "hunter2-long" not in written
    first = entries(transcript.path)[0]
    assert first["request"]["headers"]["authorization"] == "***"
    assert first["response"]["tls"] in ("TLSv1.2", "TLSv1.3")
    redact.forget_all()


def test_the_sandbox_certificate_is_refused_without_its_ca(base: str) -> None:
    with (
        make_client("svc", base_url=base, retries=FAST) as client,
        pytest.raises(ServiceUnreachableError),
    ):
        client.get("/_sandbox/health")


def test_retry_after_as_http_date_and_cap() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    response = httpx.Response(429, headers={"Retry-After": later})
    assert 25 <= (retry_after_seconds(response, cap=60) or 0) <= 30
    assert (
        retry_after_seconds(httpx.Response(429, headers={"Retry-After": "900"}), 60)
        == 60
    )
    assert retry_after_seconds(httpx.Response(429), 60) is None
