"""The provisioning service's SCIM client: how Entra talks to the target app.

microsoft.md §5 [C]: queries use `eq` only (`GET /Users?filter=userName eq "x"`),
objects are then addressed by `id`, bodies are `application/scim+json`, PATCH ops
are capitalised (`Add`, `Replace`, `Remove`). It speaks HTTPS to the target's
`BaseAddress` with the job's `SecretToken` as a bearer token, trusting the sandbox
CA as Entra trusts public CAs. It does not retry: a failed object is escrowed and
retried in a later cycle (§5), as the live service does.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)

SCIM_JSON = "application/scim+json"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class ScimFailure(Exception):
    """The target answered with an error, or did not answer.

    `status` is None when no answer came; `code` is the provisioning error code
    the engine reports (microsoft.md §3.8): `SystemForCrossDomainIdentityManagement`
    followed by the HTTP reason (Assumption [U]: only `...BadRequest` is confirmed),
    `TooManyRequests` for 429 and `Timeout` when no answer came.
    """

    def __init__(self, status: int | None, detail: str, operation: str) -> None:
        self.status = status
        self.detail = detail
        self.operation = operation
        super().__init__(f"{operation}: {status} {detail}")

    @property
    def rejected_token(self) -> bool:
        """Whether the target refused the credentials (401 or 403)."""
        return self.status in (401, 403)

    @property
    def code(self) -> str:
        """The provisioning log's error code for this failure."""
        if self.status is None:
            return "Timeout"
        if self.status == 429:
            return "TooManyRequests"
        if self.status >= 500:
            return "InternalServerError"
        try:
            reason = httpx.codes.get_reason_phrase(self.status).replace(" ", "")
        except ValueError:
            reason = ""
        reason = reason or f"Status{self.status}"
        return f"SystemForCrossDomainIdentityManagement{reason}"


@dataclass
class ScimTarget:
    """A SCIM service at `base_address`, called with `token`."""

    base_address: str
    token: str
    ca_file: Path | None
    timeout: float = 15.0

    def _client(self) -> httpx.Client:
        context = ssl.create_default_context()
        if self.ca_file is not None and self.ca_file.is_file():
            context.load_verify_locations(cafile=str(self.ca_file))
        return httpx.Client(
            base_url=self.base_address.rstrip("/"),
            verify=context,
            timeout=self.timeout,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": SCIM_JSON,
                "User-Agent": "ssopoc-sandbox-entra-provisioning",
            },
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: dict[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        try:
            with self._client() as client:
                response = client.request(
                    method,
                    path,
                    params=params,
                    json=body,
                    headers={"Content-Type": SCIM_JSON} if body is not None else None,
                )
        except httpx.HTTPError as error:
            log.info("scim %s %s -> %s", method, path, type(error).__name__)
            raise ScimFailure(None, type(error).__name__, operation) from error
        log.info("scim %s %s -> %d", method, path, response.status_code)
        if response.status_code >= 400:
            raise ScimFailure(response.status_code, _detail(response), operation)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise ScimFailure(
                response.status_code, "the answer is not JSON", operation
            ) from error

    def query(self, resource: str, attribute: str, value: str) -> list[dict[str, Any]]:
        """Resources whose `attribute` equals `value` (a SCIM `eq` filter)."""
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        params = {"filter": f'{attribute} eq "{escaped}"'}
        if resource == "Groups":
            params["excludedAttributes"] = "members"
        found = self._send(
            "GET", f"/{resource}", operation="EntryImport", params=params
        )
        resources = (found or {}).get("Resources") or []
        return [r for r in resources if isinstance(r, dict)]

    def get(self, resource: str, resource_id: str) -> dict[str, Any] | None:
        """The resource with `resource_id`, or None when the target says 404."""
        try:
            found = self._send(
                "GET", f"/{resource}/{resource_id}", operation="EntryImportByAnchor"
            )
        except ScimFailure as failure:
            if failure.status == 404:
                return None
            raise
        return found if isinstance(found, dict) else None

    def create(self, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a new resource; the target's representation comes back."""
        created = self._send(
            "POST", f"/{resource}", operation="EntryExportAdd", body=body
        )
        if not isinstance(created, dict) or not created.get("id"):
            raise ScimFailure(
                201, "the created resource carries no id", "EntryExportAdd"
            )
        return created

    def patch(
        self, resource: str, resource_id: str, operations: list[dict[str, Any]]
    ) -> None:
        """PATCH with the given operations."""
        body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        self._send(
            "PATCH",
            f"/{resource}/{resource_id}",
            operation="EntryExportUpdate",
            body=body,
        )

    def delete(self, resource: str, resource_id: str) -> None:
        """DELETE a resource; a 404 counts as done."""
        try:
            self._send(
                "DELETE", f"/{resource}/{resource_id}", operation="EntryExportDelete"
            )
        except ScimFailure as failure:
            if failure.status != 404:
                raise


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        parts = [
            str(body.get(k)) for k in ("scimType", "detail", "message") if body.get(k)
        ]
        if parts:
            return "; ".join(parts)[:300]
    return str(body)[:300]
