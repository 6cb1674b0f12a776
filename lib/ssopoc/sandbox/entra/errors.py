"""Graph's error envelope and the errors the emulator answers with.

Every Graph error body is `{"error": {"code", "message", "innerError": {"date",
"request-id", "client-request-id"}}}`, directory errors may add `details`
(microsoft.md §2.5 [C]). Handlers raise `GraphError`; the router turns it into
that envelope. Token-endpoint errors have their own shape (`AadstsError`).
"""

from __future__ import annotations

from typing import Any

# microsoft.md §2.5 [C]: the WWW-Authenticate header Graph sends with a 401.
WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
    'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
)


class GraphError(Exception):
    """An error answer of Graph: HTTP status, code, message and optional details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self, when: str, request_id: str, client_request_id: str) -> Any:
        """The error envelope, stamped with the request's ids."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        error["innerError"] = {
            "date": when,
            "request-id": request_id,
            "client-request-id": client_request_id,
        }
        return {"error": error}


def bad_request(message: str, **kwargs: Any) -> GraphError:
    """`400 Request_BadRequest` (microsoft.md §2.5 [C])."""
    return GraphError(400, "Request_BadRequest", message, **kwargs)


def unsupported_query(message: str) -> GraphError:
    """`400 Request_UnsupportedQuery` (microsoft.md §2.3 [C])."""
    return GraphError(400, "Request_UnsupportedQuery", message)


def not_found(identifier: str) -> GraphError:
    """`404 Request_ResourceNotFound` with the documented text (§2.5, §7)."""
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{identifier}' does not exist or one of its queried "
        "reference-property objects are not present.",
    )


def invalid_token(message: str) -> GraphError:
    """`401 InvalidAuthenticationToken` with `WWW-Authenticate` (§2.5 [C])."""
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        headers={"WWW-Authenticate": WWW_AUTHENTICATE},
    )


def denied() -> GraphError:
    """`403 Authorization_RequestDenied` (microsoft.md §2.5 [C])."""
    return GraphError(
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )


def conflict(target: str, message: str | None = None) -> GraphError:
    """`400 Request_BadRequest` for a uniqueness conflict (microsoft.md §2.5 [C])."""
    return bad_request(
        message
        or f"Another object with the same value for property {target} already exists.",
        details=[{"target": target, "code": "ObjectConflict"}],
    )


def invalid_value(prop: str, resource: str = "User") -> GraphError:
    """`400` for a value a property refuses (microsoft.md §2.5 [C] for mailNickname)."""
    return bad_request(
        f"Invalid value specified for property '{prop}' of resource '{resource}'.",
        details=[{"code": "InvalidValue", "target": prop}],
    )


def unknown_property(prop: str) -> GraphError:
    """`400` for a property the type does not declare."""
    return bad_request(
        f"Property '{prop}' does not exist as a declared property or extension "
        "property."
    )


class AadstsError(Exception):
    """An error answer of the token endpoint (microsoft.md §1.3 [C]).

    The body is `{error, error_description "AADSTSnnnn: ...", error_codes,
    timestamp, trace_id, correlation_id}`.
    """

    def __init__(self, status: int, error: str, number: int, text: str) -> None:
        super().__init__(f"AADSTS{number}: {text}")
        self.status = status
        self.error = error
        self.number = number
        self.text = text

    def body(self, when: str, trace_id: str, correlation_id: str) -> dict[str, Any]:
        """The token endpoint's error document."""
        description = (
            f"AADSTS{self.number}: {self.text}\r\nTrace ID: {trace_id}\r\n"
            f"Correlation ID: {correlation_id}\r\nTimestamp: {when}"
        )
        return {
            "error": self.error,
            "error_description": description,
            "error_codes": [self.number],
            "timestamp": when,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
        }
