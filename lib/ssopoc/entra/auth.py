"""Client-credentials tokens from msal, attached to Graph requests by `httpx.Auth`.

msal (unmodified) is given the workbook's own httpx client as `http_client`, so its
calls go through the same TLS trust, retries, log lines and redacted transcript as
every other call (microsoft.md §1.5 [C]: `httpx.Client` satisfies msal's
interface). In sandbox mode the authority is the emulator's
`https://127.0.0.1:<port>/<tenant>` and instance discovery is off (§1.2 [C]: msal
would otherwise ask login.microsoftonline.com about an unknown host).

Each access token is registered with the redactor the moment it arrives, so it
never reaches a log, a transcript or an output; the token response itself is
never kept.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

import httpx
import msal

from ssopoc import redact
from ssopoc.entra.errors import EntraTokenError, token_error

log = logging.getLogger(__name__)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class MsalAuth(httpx.Auth):
    """Bearer tokens for Graph from msal's `ConfidentialClientApplication`.

    Raises `EntraTokenError` when the token endpoint refuses (bad secret, unknown
    client, wrong scope) or cannot be used (discovery failed).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        authority: str,
        http_client: httpx.Client,
        *,
        instance_discovery: bool = True,
        scope: str = GRAPH_SCOPE,
    ) -> None:
        redact.register(client_secret)
        self.client_id = client_id
        self.authority = authority
        self.scope = scope
        self._secret = client_secret
        self._http = http_client
        self._instance_discovery = instance_discovery
        self._app: msal.ConfidentialClientApplication | None = None

    def _application(self) -> Any:
        # msal fetches the discovery document when built, so build it lazily.
        if self._app is None:
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._secret,
                    authority=self.authority,
                    http_client=self._http,
                    instance_discovery=self._instance_discovery,
                )
            except ValueError as error:
                raise EntraTokenError(
                    f"msal could not use the authority {self.authority}: {error}",
                    [],
                    next_action="check live.entra_authority and live.entra_tenant_id",
                ) from error
        return self._app

    def token(self) -> str:
        """An access token (msal's cache first); registered with the redactor."""
        application = self._application()
        try:
            result = application.acquire_token_for_client(scopes=[self.scope])
        except msal.exceptions.MsalServiceError as error:
            raise EntraTokenError(
                f"the token endpoint failed: {error}",
                [],
                next_action="retry later; the identity platform answered 5xx",
            ) from error
        token = result.get("access_token")
        if not token:
            raise token_error(result)
        redact.register(token)
        if result.get("token_source") != "cache":
            log.info("entra token acquired for client %s", self.client_id)
        return str(token)

    def forget(self) -> None:
        """Drop cached tokens, so the next request gets a fresh one."""
        if self._app is not None:
            self._app.remove_tokens_for_client()

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Send with a token; on a 401 for an expired token, retry once afresh."""
        request.headers["Authorization"] = f"Bearer {self.token()}"
        response = yield request
        if response.status_code == 401:
            response.read()
            if "InvalidAuthenticationToken" in response.text:
                self.forget()
                request.headers["Authorization"] = f"Bearer {self.token()}"
                yield request
