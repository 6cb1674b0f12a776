"""httpx authentication that keeps each key a `SecretStr` until the header is built.

- `BearerAuth`: the SCIM directory API key or the org API key
  (atlassian.md §1.1, §4, [C] UPINTRO, ORGINTRO);
- `BasicAuth`: `<email>:<API token>` for Jira and Confluence (§5, [C] JIRABASIC).
"""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx
from pydantic import SecretStr


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <key>`, read from the secret at send time."""

    def __init__(self, key: SecretStr) -> None:
        self._key = key

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._key.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(key=SecretStr('**********'))"


class BasicAuth(httpx.Auth):
    """`Authorization: Basic base64(email:token)`, read at send time."""

    def __init__(self, email: str, token: SecretStr) -> None:
        self._email = email
        self._token = token

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        pair = f"{self._email}:{self._token.get_secret_value()}".encode()
        request.headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
        yield request

    def __repr__(self) -> str:
        return f"BasicAuth(email={self._email!r}, token=SecretStr('**********'))"
