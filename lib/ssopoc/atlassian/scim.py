"""The SCIM directory client: users, groups, members, pagination.

Calls `/scim/directory/{directoryId}` with the directory API key (atlassian.md
§1). Every call goes through the shared HTTP client, so 429/503 retries and a
dropped connection (`ServiceUnreachableError`) are handled there and recorded in
the transcript. Error answers raise the typed errors of `ssopoc.atlassian.errors`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
from scim2_models import Context, Group

from ssopoc.atlassian.errors import error_for
from ssopoc.atlassian.models import GROUP_SCHEMA, PATCH_SCHEMA, USER_SCHEMA, ScimUser

log = logging.getLogger(__name__)

SCIM_JSON = "application/scim+json"
PAGE_SIZE = 100
AUTH_FIX = (
    "set ATLASSIAN_SCIM_TOKEN to the directory API key (not the org API key) of "
    "live.atlassian_scim_directory_id"
)


def _quoted(value: str) -> str:
    return json.dumps(value)


class ScimDirectory:
    """One Atlassian SCIM directory.

    `http` is a client from `ssopoc.http.make_client` whose base URL is the
    directory's SCIM base URL and whose auth is the directory key.
    """

    def __init__(self, http: httpx.Client, service: str = "atlassian_scim") -> None:
        self.http = http
        self.service = service

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        content = None if body is None else json.dumps(body)
        headers = {"Content-Type": SCIM_JSON} if body is not None else {}
        query = {k: v for k, v in params.items() if v is not None}
        response = self.http.request(
            method, path, content=content, headers=headers, params=query
        )
        if response.status_code >= 400:
            raise error_for(self.service, response, AUTH_FIX)
        return response.json() if response.content else None

    # -- discovery ------------------------------------------------------------

    def service_provider_config(self) -> dict[str, Any]:
        """GET /ServiceProviderConfig."""
        config: dict[str, Any] = self._call("GET", "/ServiceProviderConfig")
        return config

    # -- users ----------------------------------------------------------------

    @staticmethod
    def _user_body(user: Any) -> dict[str, Any]:
        if isinstance(user, dict):
            return {"schemas": [USER_SCHEMA], **user}
        body: dict[str, Any] = user.model_dump(
            scim_ctx=Context.RESOURCE_CREATION_REQUEST
        )
        return body

    def create_user(self, user: Any) -> Any:
        """POST /Users; returns the created `ScimUser`.

        Raises `ScimUniquenessError` (409), `ScimInvalidValueError` (400).
        """
        created = self._call("POST", "/Users", self._user_body(user))
        return ScimUser.model_validate(created)

    def get_user(self, user_id: str) -> Any:
        """GET /Users/{id}; `AtlassianNotFoundError` when unknown or deleted."""
        return ScimUser.model_validate(self._call("GET", f"/Users/{user_id}"))

    def find_user(
        self, *, user_name: str | None = None, external_id: str | None = None
    ) -> Any | None:
        """The user whose userName (or externalId) equals the value, or None."""
        if (user_name is None) == (external_id is None):
            raise ValueError("give exactly one of user_name or external_id")
        if user_name is not None:
            expression = f"userName eq {_quoted(user_name)}"
        else:
            expression = f"externalId eq {_quoted(str(external_id))}"
        found = self._call("GET", "/Users", filter=expression)
        resources = found.get("Resources") or []
        return ScimUser.model_validate(resources[0]) if resources else None

    def search_users(self, expression: str) -> list[Any]:
        """GET /Users?filter=...: the first page of matches, as `ScimUser`s."""
        found = self._call("GET", "/Users", filter=expression)
        return [ScimUser.model_validate(r) for r in found.get("Resources") or []]

    def _pages(self, path: str, page_size: int) -> Iterator[dict[str, Any]]:
        start = 1
        while True:
            page = self._call("GET", path, startIndex=start, count=page_size)
            resources = page.get("Resources") or []
            yield from resources
            start += len(resources)
            if not resources or start > int(page.get("totalResults", 0)):
                return

    def list_users(self, page_size: int = PAGE_SIZE) -> Iterator[Any]:
        """Every user, page by page (`startIndex`/`count`; pages of 100, §1.4)."""
        for resource in self._pages("/Users", page_size):
            yield ScimUser.model_validate(resource)

    def replace_user(self, user_id: str, user: Any) -> Any:
        """PUT /Users/{id}: unspecified attributes are cleared (§1.5)."""
        body = self._user_body(user)
        return ScimUser.model_validate(self._call("PUT", f"/Users/{user_id}", body))

    def patch_user(self, user_id: str, operations: list[dict[str, Any]]) -> Any:
        """PATCH /Users/{id} with PatchOp operations; returns the updated user."""
        body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        return ScimUser.model_validate(self._call("PATCH", f"/Users/{user_id}", body))

    def deactivate_user(self, user_id: str) -> Any:
        """PATCH `active` to false: the documented way to deactivate (§1.5)."""
        return self.patch_user(
            user_id, [{"op": "replace", "path": "active", "value": False}]
        )

    def reactivate_user(self, user_id: str) -> Any:
        """PATCH `active` to true."""
        return self.patch_user(
            user_id, [{"op": "replace", "path": "active", "value": True}]
        )

    def delete_user(self, user_id: str) -> None:
        """DELETE /Users/{id} (current semantics: unlink and remove the record)."""
        self._call("DELETE", f"/Users/{user_id}")

    # -- groups ---------------------------------------------------------------

    def create_group(self, name: str, member_ids: list[str] | None = None) -> Group:
        """POST /Groups; `ScimUniquenessError` when the name exists in the org."""
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": m} for m in member_ids or []],
        }
        return Group.model_validate(self._call("POST", "/Groups", body))

    def get_group(self, group_id: str) -> Group:
        """GET /Groups/{id}."""
        return Group.model_validate(self._call("GET", f"/Groups/{group_id}"))

    def find_group(self, name: str) -> Group | None:
        """The group with this displayName, or None."""
        found = self._call("GET", "/Groups", filter=f"displayName eq {_quoted(name)}")
        resources = found.get("Resources") or []
        return Group.model_validate(resources[0]) if resources else None

    def list_groups(self, page_size: int = PAGE_SIZE) -> Iterator[Group]:
        """Every group, page by page."""
        for resource in self._pages("/Groups", page_size):
            yield Group.model_validate(resource)

    def replace_group(self, group_id: str, name: str, member_ids: list[str]) -> Group:
        """PUT /Groups/{id}; 400 when a member does not exist."""
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": m} for m in member_ids],
        }
        return Group.model_validate(self._call("PUT", f"/Groups/{group_id}", body))

    def patch_group(self, group_id: str, operations: list[dict[str, Any]]) -> Group:
        """PATCH /Groups/{id}; a rename is refused (§1.6)."""
        body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        return Group.model_validate(self._call("PATCH", f"/Groups/{group_id}", body))

    def add_members(self, group_id: str, user_ids: list[str]) -> Group:
        """Add users to a group (`add` on `members`)."""
        value = [{"value": user_id} for user_id in user_ids]
        operation = {"op": "add", "path": "members", "value": value}
        return self.patch_group(group_id, [operation])

    def remove_members(self, group_id: str, user_ids: list[str]) -> Group:
        """Remove users from a group (`remove` on `members[value eq "..."]`)."""
        operations = [
            {"op": "remove", "path": f"members[value eq {_quoted(user_id)}]"}
            for user_id in user_ids
        ]
        return self.patch_group(group_id, operations)

    def members(self, group_id: str) -> list[str]:
        """The SCIM user ids of a group's members."""
        group = self.get_group(group_id)
        return [str(m.value) for m in group.members or [] if m.value]

    def delete_group(self, group_id: str) -> None:
        """DELETE /Groups/{id}; members lose the access the group granted."""
        self._call("DELETE", f"/Groups/{group_id}")
