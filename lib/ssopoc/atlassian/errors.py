"""Typed errors of the Atlassian client, each with the status and the next action.

- `AtlassianError` (a `ServiceError`): any error answer of an Atlassian API.
  - `AtlassianAuthError`: 401/403, a missing or wrong key (or the org key sent to
    SCIM, atlassian.md §7.9, [S] OKTAKEY).
  - `AtlassianNotFoundError`: 404.
  - `AtlassianRateLimitError`: 429 still answered after the retry budget.
  - `ScimError`: a SCIM error body, with its `scim_type`.
    - `ScimUniquenessError`: 409 `uniqueness` (§7.1).
    - `ScimInvalidFilterError`: 400 `invalidFilter` (§1.4, §7.3).
    - `ScimInvalidValueError`: 400 `invalidValue`.
A dropped connection is `ssopoc.errors.ServiceUnreachableError`, from the shared
HTTP layer.
"""

from __future__ import annotations

from typing import Any

import httpx

from ssopoc import redact
from ssopoc.errors import ServiceError

NEXT_ACTIONS = {
    "uniqueness": (
        "another Atlassian account or a stale SCIM record holds this email, "
        "userName or externalId; free it (rename the other account or "
        "onlyDeleteUserInDB), then push again"
    ),
    "invalidFilter": "filter only with userName, externalId or displayName eq",
    "invalidValue": "send userName and exactly one email marked primary",
    "mutability": "groups cannot be renamed: create a new group and move members",
}


class AtlassianError(ServiceError):
    """An Atlassian API answered with an error status.

    Carries `status`, `scim_type` (SCIM errors only), `detail`, `trace_id` (401
    and 403 Failure bodies) and `next_action`.
    """

    def __init__(
        self,
        service: str,
        message: str,
        *,
        status: int,
        scim_type: str | None = None,
        detail: str | None = None,
        trace_id: str | None = None,
        next_action: str | None = None,
    ) -> None:
        self.scim_type = scim_type
        self.trace_id = trace_id
        super().__init__(
            service,
            message,
            status=status,
            code=scim_type,
            detail=detail,
            next_action=next_action,
        )


class AtlassianAuthError(AtlassianError):
    """401 or 403: the key is missing, wrong, or of the wrong kind."""


class AtlassianNotFoundError(AtlassianError):
    """404: the directory, user, group or account does not exist."""


class AtlassianRateLimitError(AtlassianError):
    """429 after every retry the budget allowed."""


class ScimError(AtlassianError):
    """A SCIM error body (`urn:ietf:params:scim:api:messages:2.0:Error`)."""


class ScimUniquenessError(ScimError):
    """409 `uniqueness`: `Resource [USER]: with email[...] already exists.`"""


class ScimInvalidFilterError(ScimError):
    """400 `invalidFilter`: Atlassian filters only on a few attributes."""


class ScimInvalidValueError(ScimError):
    """400 `invalidValue`: a required attribute is missing or malformed."""


_SCIM_TYPES: dict[str, type[ScimError]] = {
    "uniqueness": ScimUniquenessError,
    "invalidFilter": ScimInvalidFilterError,
    "invalidValue": ScimInvalidValueError,
}


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_for(service: str, response: httpx.Response, auth_fix: str) -> AtlassianError:
    """The typed error of an error answer; `auth_fix` is the 401/403 next action."""
    body = _body(response)
    status = response.status_code
    request = response.request
    where = f"{request.method} {redact.url(str(request.url.copy_with(query=None)))}"
    scim_type = body.get("scimType")
    detail = body.get("detail") or body.get("error") or body.get("message")
    if detail is None and body.get("errorMessages"):
        detail = "; ".join(str(m) for m in body["errorMessages"])
    detail = redact.text(str(detail))[:300] if detail else None
    message = f"{where} answered {status}" + (f": {detail}" if detail else "")
    kind: type[AtlassianError] = AtlassianError
    next_action = None
    if status in (401, 403):
        kind, next_action = AtlassianAuthError, auth_fix
    elif status == 404:
        kind = AtlassianNotFoundError
        next_action = "check the id, and that the record was not deleted"
    elif status == 429:
        kind = AtlassianRateLimitError
        next_action = "wait, or raise http.retries.budget_seconds, then rerun"
    elif "schemas" in body or scim_type:
        kind = _SCIM_TYPES.get(str(scim_type), ScimError)
        next_action = NEXT_ACTIONS.get(str(scim_type))
    return kind(
        service,
        message,
        status=status,
        scim_type=str(scim_type) if scim_type else None,
        detail=detail,
        trace_id=body.get("traceId"),
        next_action=next_action,
    )
