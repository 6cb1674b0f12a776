"""The SCIM directory endpoints: scim2-server's handler over the tenant's records.

- `DirectoryStorage`: scim2-server's storage interface over one `Directory`,
  which applies the account-linking and email-change rules;
- `ScimEndpoint`: the bearer check with Atlassian's 401/403 Failure bodies, 404
  for `/Bulk` and `.search`, then `ScimHandler` with `AtlassianService`
  (`scim_service`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from scim2_models import (
    Group,
    NotFoundException,
    Resource,
    ResourceType,
    ResponseParameters,
    SCIMException,
    ScimProvider,
    SearchRequest,
)
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.storage import ScimStorage, SearchPage

from ssopoc.atlassian.models import (
    ENTERPRISE_SCHEMA,
    EXTERNAL_SCHEMA,
    GROUP_SCHEMA,
    USER_SCHEMA,
    ScimUser,
)
from ssopoc.sandbox.atlassian.assumptions import AtlassianAssumptions
from ssopoc.sandbox.atlassian.directory import Directory
from ssopoc.sandbox.atlassian.scim_service import (
    DEFAULT_PAGE_SIZE,
    READ_ONLY,
    AtlassianService,
    build_provider,
    parse_filter,
)
from ssopoc.sandbox.atlassian.tenant import same_secret

log = logging.getLogger(__name__)


class DirectoryStorage(ScimStorage):
    """scim2-server's storage interface over one `Directory` of the tenant."""

    def __init__(self, directory: Directory, base_url: str) -> None:
        self.directory = directory
        self.base_url = base_url

    def _user(self, record: dict[str, Any]) -> Resource[Any]:
        user_id = record["id"]
        schemas = [USER_SCHEMA]
        document = {**record}
        if ENTERPRISE_SCHEMA in record:
            schemas.append(ENTERPRISE_SCHEMA)
        account_id = self.directory.links.get(user_id)
        if account_id:
            schemas.append(EXTERNAL_SCHEMA)
            document[EXTERNAL_SCHEMA] = {"atlassianAccountId": account_id}
        groups = self.directory.groups_of_user(user_id)
        for group in groups:
            group["$ref"] = f"{self.base_url}/Groups/{group['value']}"
        document.update(schemas=schemas, groups=groups or None)
        return ScimUser.model_validate(document)

    def _group(self, record: dict[str, Any]) -> Resource[Any]:
        members = [
            {
                **member,
                "type": "User",
                "$ref": f"{self.base_url}/Users/{member['value']}",
            }
            for member in record.get("members", [])
        ]
        document = {**record, "schemas": [GROUP_SCHEMA], "members": members or None}
        return Group.model_validate(document)

    @staticmethod
    def _record(resource: Resource[Any]) -> dict[str, Any]:
        record: dict[str, Any] = resource.model_dump(mode="json")
        for name in (*READ_ONLY, "schemas"):
            record.pop(name, None)
        return record

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        if resource_type.name == "User":
            return self._user(self.directory.user(resource_id))
        return self._group(self.directory.group(resource_id))

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        if len(resource_types) != 1:
            raise NotFoundException(detail="Search at the root is not supported")
        is_user = resource_types[0].name == "User"
        endpoint = "Users" if is_user else "Groups"
        if search_request.filter is not None:
            attribute, value = parse_filter(endpoint, str(search_request.filter))
            records = (
                self.directory.find_users(attribute, value)
                if is_user
                else self.directory.find_groups(value)
            )
        else:
            source = self.directory.users if is_user else self.directory.groups
            records = list(source.values())
        start = (search_request.start_index or 1) - 1
        count = (
            DEFAULT_PAGE_SIZE if search_request.count is None else search_request.count
        )
        page = records[start : start + count]
        build = self._user if is_user else self._group
        return SearchPage(len(records), [build(record) for record in page])

    def create(
        self, resource_type: ResourceType, resource: Resource[Any]
    ) -> Resource[Any]:
        if resource_type.name == "User":
            return self._user(self.directory.create_user(self._record(resource)))
        return self._group(self.directory.create_group(self._record(resource)))

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        record, resource_id = self._record(resource), str(resource.id)
        directory, patch = self.directory, self.patch
        if resource_type.name == "User":
            return self._user(directory.replace_user(resource_id, record, patch=patch))
        return self._group(directory.replace_group(resource_id, record, patch=patch))

    patch = False
    """Whether the current request is a PATCH (group member errors differ)."""

    def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        if resource_type.name == "User":
            self.directory.delete_user(resource_id)
        else:
            self.directory.delete_group(resource_id)


def failure(status: int, message: str) -> tuple[int, dict[str, str]]:
    """The Failure body of 401/403 (§1.7, [C] OAS22; [S] OKTAKEY)."""
    return status, {"error": message, "traceId": uuid.uuid4().hex}


class ScimEndpoint:
    """Serves `/scim/directory/{id}/...`: auth, then scim2-server's handler."""

    def __init__(
        self,
        directory_for: Callable[[str], Directory | None],
        keys: Callable[[], Mapping[str, str]],
        assumptions: Callable[[], AtlassianAssumptions],
        public_base: Callable[[], str],
    ) -> None:
        self.directory_for = directory_for
        self.keys = keys
        self.assumptions = assumptions
        self.public_base = public_base
        self._providers: dict[int, ScimProvider] = {}

    def authorize(
        self, directory_id: str, authorization: str | None, rest: str
    ) -> tuple[int, dict[str, Any]] | None:
        """401 without a key, 403 for a wrong or another directory's key, 404
        for an unknown directory (§8 Transport and auth)."""
        scheme, _, key = (authorization or "").partition(" ")
        if not authorization or scheme.lower() != "bearer" or not key:
            return failure(401, "Missing authorization header")
        kept = self.keys().items()
        owner = next((d for d, k in kept if same_secret(key.strip(), k)), None)
        resource = rest.strip("/").split("/")[0] or "Users"
        denied = f"Not authorized to access : scim/directory/{directory_id}/{resource}"
        if owner is None:
            return failure(403, denied)
        if self.directory_for(directory_id) is None:
            error = NotFoundException(detail=f"Directory {directory_id} not found")
            return 404, error.to_error().model_dump()
        if owner != directory_id:
            return failure(403, denied)
        return None

    def serve(
        self,
        directory_id: str,
        method: str,
        rest: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> ScimResponse:
        """Answer one SCIM request for an authorized directory."""
        directory = self.directory_for(directory_id)
        assert directory is not None
        assumptions = self.assumptions()
        size = assumptions.filter_max_results
        if size not in self._providers:
            self._providers[size] = build_provider(assumptions)
        service = AtlassianService(self._providers[size], assumptions)
        base = f"{self.public_base()}/scim/directory/{directory_id}"
        storage = DirectoryStorage(directory, base)
        storage.patch = method.upper() == "PATCH"
        request = ScimRequest(
            method=method, base_url=base, path=rest or "/", query=query,
            headers=headers, body=body,
        )  # fmt: skip
        try:
            segments = rest.strip("/").split("/")
            if segments[0].lower() == "bulk" or segments[-1] == ".search":
                # Neither /Bulk nor POST .search is an Atlassian endpoint (§1.2).
                raise NotFoundException(detail=f"No SCIM endpoint at {rest!r}")
            response = ScimHandler(service, storage).handle(request)
        except SCIMException as exception:
            log.info("SCIM %s %s -> %s %s", method, rest, exception.status, exception)
            response = service.error_response(exception)
        except Exception as exception:
            log.exception("SCIM %s %s failed", method, rest)
            response = service.error_response(exception)
        response.headers.setdefault("Content-Type", "application/scim+json")
        return response
