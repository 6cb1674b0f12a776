"""The transcript: every HTTP exchange of a notebook, redacted, as JSON Lines.

One file per notebook (`transcript-<notebook>.jsonl` in the run folder). Each line is
one attempt: a retried call shows up once per attempt, with its outcome.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from ssopoc import redact

BODY_LIMIT = 8_000


class Transcript:
    """An append-only JSON Lines file of redacted HTTP exchanges."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, entry: dict[str, Any]) -> None:
        """Append one entry, redacted once more as a last net, and flush it."""
        line = redact.text(json.dumps(redact.data(entry), default=str))
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def exchange(
        self,
        service: str,
        request: httpx.Request,
        response: httpx.Response | None,
        elapsed_ms: float,
        error: BaseException | None = None,
    ) -> None:
        """Record one request and its response (or the error that replaced it)."""
        entry: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "service": service,
            "request": {
                "method": request.method,
                "url": redact.url(str(request.url)),
                "headers": redact.headers(request.headers.multi_items()),
                "body": body(request.headers.get("content-type"), request.content),
            },
            "elapsed_ms": round(elapsed_ms, 1),
        }
        if response is not None:
            entry["response"] = {
                "status": response.status_code,
                "tls": response.extensions.get("tls_version"),
                "headers": redact.headers(response.headers.multi_items()),
                "body": body(response.headers.get("content-type"), response.content),
            }
        if error is not None:
            entry["error"] = f"{type(error).__name__}: {redact.text(str(error))}"
        self.write(entry)


def body(content_type: str | None, content: bytes) -> Any:
    """Decode a body for the transcript: JSON as data, forms and text redacted."""
    if not content:
        return None
    kind = (content_type or "").split(";")[0].strip().lower()
    text = content[:BODY_LIMIT].decode("utf-8", errors="replace")
    if kind.endswith("json"):
        try:
            return redact.data(json.loads(content))
        except ValueError:
            return redact.text(text)
    if kind == "application/x-www-form-urlencoded":
        return redact.form(text)
    if kind.startswith("text/") or kind.endswith("xml"):
        return redact.text(text)
    return f"<{len(content)} bytes of {kind or 'unknown type'}>"
