"""The errors of the Entra client, each carrying Graph's code, message and request id.

- `EntraError` (a `ServiceError`): Graph or the token endpoint answered with an
  error. `code`, `graph_message`, `request_id`, `status` and `next_action`.
  - `EntraTokenError`: the token endpoint refused (`AADSTS...`); `aadsts` holds the
    numbers.
  - `GraphAuthenticationError`: `401 InvalidAuthenticationToken`.
  - `GraphPermissionError`: `403 Authorization_RequestDenied`; `permission` names
    the application permission to grant.
  - `GraphNotFoundError`: `404 Request_ResourceNotFound`.
  - `GraphRequestError`: another `4xx` (bad input, conflicts); `details` as sent.
  - `GraphThrottledError`: `429` after the retry budget; `retry_after` seconds.

Sources: microsoft.md §1.3 (token errors), §2.5 (Graph's envelope and codes).
"""

from __future__ import annotations

from typing import Any

import httpx

from ssopoc.errors import ServiceError

SERVICE = "graph"


class EntraError(ServiceError):
    """Graph or the Microsoft identity platform answered with an error."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        graph_message: str | None = None,
        request_id: str | None = None,
        next_action: str | None = None,
        service: str = SERVICE,
    ) -> None:
        self.graph_message = graph_message
        self.request_id = request_id
        super().__init__(
            service,
            message,
            status=status,
            code=code,
            detail=graph_message,
            next_action=next_action,
        )


class EntraTokenError(EntraError):
    """The token endpoint refused to issue a token."""

    def __init__(self, message: str, aadsts: list[int], **kwargs: Any) -> None:
        self.aadsts = aadsts
        super().__init__(message, service="entra_login", **kwargs)


class GraphAuthenticationError(EntraError):
    """`401 InvalidAuthenticationToken`: the token is missing, expired or bad."""


class GraphPermissionError(EntraError):
    """`403 Authorization_RequestDenied`: the app lacks an application permission."""

    def __init__(self, message: str, permission: str | None, **kwargs: Any) -> None:
        self.permission = permission
        super().__init__(message, **kwargs)


class GraphNotFoundError(EntraError):
    """`404 Request_ResourceNotFound`."""


class GraphRequestError(EntraError):
    """Graph refused the request's content (`400`, `409`, ...)."""

    def __init__(
        self, message: str, details: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        self.details = details
        super().__init__(message, **kwargs)


class GraphThrottledError(EntraError):
    """`429` still, after the client's retry budget."""

    def __init__(self, message: str, retry_after: str | None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


# AADSTS numbers → what a person should do (microsoft.md §1.3, §7).
TOKEN_ACTIONS = {
    7000215: "set ENTRA_CLIENT_SECRET to the secret's Value (not its Secret ID)",
    7000222: "create a new client secret and set ENTRA_CLIENT_SECRET",
    700016: "check live.entra_client_id and live.entra_tenant_id",
    90002: "check live.entra_tenant_id",
    1002012: "request the scope https://graph.microsoft.com/.default",
    70011: "request the scope https://graph.microsoft.com/.default",
    500011: "request the scope https://graph.microsoft.com/.default",
}


def token_error(result: dict[str, Any]) -> EntraTokenError:
    """An `EntraTokenError` from msal's error dictionary (never the secret)."""
    codes = [int(c) for c in result.get("error_codes") or []]
    description = str(result.get("error_description") or "").split("\r\n")[0]
    action = next((TOKEN_ACTIONS[c] for c in codes if c in TOKEN_ACTIONS), None)
    return EntraTokenError(
        f"the token request was refused: {result.get('error')}: {description}",
        codes,
        code=str(result.get("error")),
        graph_message=description,
        request_id=result.get("correlation_id"),
        next_action=action or "read the AADSTS code in the Microsoft docs",
    )


def graph_error(response: httpx.Response, permission: str | None = None) -> EntraError:
    """The typed error for a Graph error answer.

    `permission` names the application permission the call needs, so that a
    `403` says which one to grant.
    """
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": f"HTTP{response.status_code}", "message": response.text[:200]}
    code = str(error.get("code"))
    text = str(error.get("message"))
    request_id = response.headers.get("request-id") or (
        error.get("innerError") or {}
    ).get("request-id")
    request = response.request
    where = f"{request.method} {request.url.path}"
    message = f"{where} -> {response.status_code} {code}: {text}"
    common: dict[str, Any] = {
        "status": response.status_code,
        "code": code,
        "graph_message": text,
        "request_id": request_id,
    }
    status = response.status_code
    if status == 401:
        return GraphAuthenticationError(
            message, next_action="check the client secret and the tenant", **common
        )
    if status == 403:
        action = (
            f"grant the application permission {permission} to the workbook's app "
            "(API permissions > Add a permission > Microsoft Graph > Application "
            "permissions) and grant admin consent"
            if permission
            else "grant the workbook's app the permission this call needs"
        )
        return GraphPermissionError(message, permission, next_action=action, **common)
    if status == 404:
        return GraphNotFoundError(
            message, next_action="check the id; it may have been deleted", **common
        )
    if status == 429:
        return GraphThrottledError(
            message,
            response.headers.get("retry-after"),
            next_action="wait for Retry-After seconds, then rerun",
            **common,
        )
    details = error.get("details") if isinstance(error.get("details"), list) else []
    return GraphRequestError(
        message,
        details or [],
        next_action="correct the request as the message says",
        **common,
    )
