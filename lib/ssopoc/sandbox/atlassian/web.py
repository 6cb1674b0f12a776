"""The small amount of HTTP plumbing the emulator's JSON routes share."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class HttpProblem(Exception):
    """An error answer of a JSON route: status and body."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(f"{status}: {body}")


@dataclass
class Request:
    """One request, read from the WSGI environment."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @classmethod
    def read(cls, environ: WSGIEnvironment) -> Request:
        """Read method, path, query, headers and body."""
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        return cls(
            method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
            path=str(environ.get("PATH_INFO", "")),
            query=parse_qs(
                str(environ.get("QUERY_STRING", "")), keep_blank_values=True
            ),
            headers=headers,
            body=body,
        )

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """Every value of a query parameter, comma lists split."""
        found: list[str] = []
        for value in self.query.get(name, []):
            found.extend(part for part in value.split(",") if part)
        return found

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; 400 when it is not one."""
        try:
            loaded = json.loads(self.body or b"{}")
        except ValueError:
            raise HttpProblem(400, {"error": "the body is not JSON"}) from None
        if not isinstance(loaded, dict):
            raise HttpProblem(400, {"error": "the body must be a JSON object"})
        return loaded


@dataclass
class Response:
    """A JSON answer."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def send(self, start_response: StartResponse) -> Iterable[bytes]:
        """Write the answer through WSGI."""
        payload = b"" if self.body is None else json.dumps(self.body).encode()
        headers = [("Content-Type", self.content_type), *self.headers.items()]
        headers.append(("Content-Length", str(len(payload))))
        reason = HTTPStatus(self.status).phrase
        start_response(f"{self.status} {reason}", headers)
        return [payload]
