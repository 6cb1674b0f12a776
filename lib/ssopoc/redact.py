"""Redaction of secrets from logs, transcripts and anything else a run writes.

Two nets catch a secret. The first knows the *shape* of secret-bearing fields:
header names such as `Authorization`, JSON or form keys such as `client_secret`,
`access_token` or `password`, and key/value pairs such as Graph's synchronization
secrets (`{"key": "SecretToken", "value": ...}`). The second knows the *values*:
every secret the settings loaded, every token the library obtained, is registered
here and replaced wherever it appears, in any text.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-atlassian-token",
        "www-authenticate-token",
    }
)

# Key names whose values are secrets, in JSON bodies, forms and query strings.
_SECRET_KEY = re.compile(
    r"(secret|password|passwd|token|api[_-]?key|apikey|credential|assertion"
    r"|authorization|private[_-]?key|client[_-]?key)",
    re.IGNORECASE,
)
# Keys that look secret by name but hold harmless metadata.
_HARMLESS_KEYS = frozenset(
    {"token_type", "tokentype", "token_endpoint", "expires_in", "ext_expires_in"}
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/=]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")

_lock = threading.Lock()
_known: set[str] = set()


def is_secret_key(name: str) -> bool:
    """Tell whether a field, header or parameter name carries a secret by its name."""
    lowered = name.lower()
    if lowered in _HARMLESS_KEYS:
        return False
    return lowered in SECRET_HEADERS or bool(_SECRET_KEY.search(lowered))


def register(*values: str | None) -> None:
    """Add secret values that must never be written anywhere.

    Values shorter than 6 characters are refused as too short to redact safely
    (they would mangle ordinary words); the settings reject such secrets earlier.
    """
    with _lock:
        for value in values:
            if value and len(value) >= 6:
                _known.add(value)
                quoted = urllib.parse.quote(value, safe="")
                if quoted != value:
                    _known.add(quoted)


def known_values() -> frozenset[str]:
    """Return every registered secret value (for the runner's leak scan)."""
    with _lock:
        return frozenset(_known)


def forget_all() -> None:
    """Drop every registered value (tests use this between cases)."""
    with _lock:
        _known.clear()


def text(value: str) -> str:
    """Mask registered secret values, bearer/basic credentials and JWTs in text."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in value:
            value = value.replace(secret, MASK)
    value = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", value)
    return _JWT.sub(MASK, value)


def headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return headers as a dict with secret-bearing ones masked."""
    out: dict[str, str] = {}
    for name, value in items:
        out[name] = MASK if name.lower() in SECRET_HEADERS else text(value)
    return out


def data(value: Any) -> Any:
    """Return a copy of a JSON-like value with secrets masked, by key and by value."""
    if isinstance(value, Mapping):
        key_name = value.get("key") if isinstance(value.get("key"), str) else None
        out: dict[str, Any] = {}
        for key, item in value.items():
            if (
                isinstance(key, str) and is_secret_key(key) and item not in (None, "")
            ) or (key == "value" and key_name and is_secret_key(key_name)):
                out[key] = MASK
            else:
                out[key] = data(item)
        return out
    if isinstance(value, list | tuple):
        return [data(item) for item in value]
    if isinstance(value, str):
        return text(value)
    return value


def form(body: str) -> str:
    """Mask secret fields in an `application/x-www-form-urlencoded` body."""
    pairs = urllib.parse.parse_qsl(body, keep_blank_values=True)
    masked = [(k, MASK if is_secret_key(k) else text(v)) for k, v in pairs]
    return urllib.parse.urlencode(masked, safe="*")


def url(value: str) -> str:
    """Mask secret query parameters and registered values in a URL."""
    parts = urllib.parse.urlsplit(value)
    if parts.query:
        parts = parts._replace(query=form(parts.query))
    return text(urllib.parse.urlunsplit(parts))


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in every record it passes.

    It renders the message with its arguments first, so that a secret passed as
    an argument is caught as well as one written into the format string.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = text(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
