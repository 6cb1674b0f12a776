"""Atlassian's SCIM rules on scim2-server's `ScimService` (atlassian.md §8).

- the filter subset: `userName`/`externalId eq` for users, `displayName eq` for
  groups, else 400 `invalidFilter` (§1.4, [C] OAS22, KBFILTER; [S] ACC1424);
- no sorting (`sort_by` setting), pages of 100 capped by `max_page_size` (U);
- the POST/PUT checks on `userName` and the one primary email (§1.3);
- the PATCH forms Entra sends: `operations`, capitalised `op`, string booleans;
- `meta.location` on the directory's base URL; PATCH answers 200, not 204.
"""

from __future__ import annotations

import json
import re
from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    InvalidFilterException,
    InvalidValueException,
    Patch,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimPolicy,
    ScimProvider,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
)
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService

from ssopoc.atlassian.models import (
    EXTERNAL_SCHEMA,
    AtlassianExternal,
    AtlassianUser,
    ScimUser,
)
from ssopoc.sandbox.atlassian.assumptions import AtlassianAssumptions

DEFAULT_PAGE_SIZE = 100
FILTERABLE = {"Users": ("username", "externalid"), "Groups": ("displayname",)}
SPELLED = {
    "username": "userName",
    "externalid": "externalId",
    "displayname": "displayName",
}
_FILTER = re.compile(r'^\s*([A-Za-z]+)\s+eq\s+("(?:[^"\\]|\\.)*")\s*$', re.I)
READ_ONLY = ("id", "meta", "groups", EXTERNAL_SCHEMA)


def parse_filter(endpoint: str, text: str) -> tuple[str, str]:
    """Read the one filter form Atlassian supports, or raise `invalidFilter`.

    atlassian.md §1.4 ([C] OAS22, JSUP, KBFILTER; [S] ACC1424): a single `eq`
    on `userName` or `externalId` for users, on `displayName` for groups.
    """
    match = _FILTER.match(text)
    allowed = FILTERABLE.get(endpoint, ())
    if match is None or match.group(1).lower() not in allowed:
        names = " or ".join(SPELLED[name] for name in allowed) or "nothing"
        raise InvalidFilterException(
            detail=f"Unsupported filter: only '<attribute> eq \"value\"' on {names}"
        )
    attribute = "externalId" if match.group(1).lower() == "externalid" else "name"
    return attribute, str(json.loads(match.group(2)))


def build_provider(assumptions: AtlassianAssumptions) -> ScimProvider:
    """The directory's schemas, resource types and ServiceProviderConfig (§8)."""
    config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=assumptions.filter_max_results),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description="The directory API key, sent as a bearer token",
                primary=True,
            )
        ],
    )
    return ScimProvider(
        models=[AtlassianUser, Group, EnterpriseUser, AtlassianExternal],
        resource_types=[
            ResourceType.from_resource(ScimUser),
            ResourceType.from_resource(Group),
        ],
        config=config,
        policy=ScimPolicy(
            remove_value_as_filter=ScimPolicy.RemoveValue.apply,
            unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
        ),
    )


class AtlassianService(ScimService):
    """RFC 7644 as scim2-server serves it, narrowed to Atlassian's behaviour."""

    def __init__(self, provider: ScimProvider, assumptions: AtlassianAssumptions):
        super().__init__(provider)
        self.assumptions = assumptions

    def _body(self, body: bytes, content_type: str | None) -> dict[str, Any]:
        decoded = self.decode_body(body, content_type)
        if not isinstance(decoded, dict):
            raise InvalidValueException(detail="the body must be a JSON object")
        return decoded

    def _check_active(self, value: Any) -> Any:
        """String booleans for `active`, per the (U) setting (§8 PATCH)."""
        if not isinstance(value, str):
            return value
        if self.assumptions.accept_string_booleans and value.lower() in (
            "true",
            "false",
        ):
            return value.lower() == "true"
        raise InvalidValueException(detail=f"active must be a boolean, not {value!r}")

    def _check_user(self, payload: dict[str, Any]) -> bytes:
        """userName required, emails non-empty, exactly one primary (§8 POST)."""
        details = self.assumptions.validation_details
        for name in READ_ONLY:
            payload.pop(name, None)
        if not isinstance(payload.get("userName"), str) or not payload["userName"]:
            raise InvalidValueException(detail=details["missing_user_name"])
        emails = payload.get("emails")
        if not isinstance(emails, list) or not emails:
            raise InvalidValueException(detail=details["missing_emails"])
        primaries = [e for e in emails if isinstance(e, dict) and e.get("primary")]
        if len(primaries) != 1:
            raise InvalidValueException(detail=details["primary_email"])
        if "active" in payload:
            payload["active"] = self._check_active(payload["active"])
        return json.dumps(payload).encode()

    def read_creation(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> Resource[Any]:
        """POST: the Atlassian checks first; a client-sent `id` is ignored."""
        if resource_type.name == "User":
            body = self._check_user(self._body(body, content_type))
        else:
            payload = self._body(body, content_type)
            payload.pop("id", None)
            payload.pop("meta", None)
            body = json.dumps(payload).encode()
        return super().read_creation(resource_type, body, content_type)

    def read_replacement(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> Resource[Any]:
        """PUT: `userName` and the primary email are required, as on POST."""
        if resource_type.name == "User":
            body = self._check_user(self._body(body, content_type))
        return super().read_replacement(resource_type, body, content_type)

    def read_patch(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> Any:
        """PATCH in the forms Entra sends: `operations`, `Replace`, `"False"`."""
        payload = self._body(body, content_type)
        if "Operations" not in payload and "operations" in payload:
            payload["Operations"] = payload.pop("operations")
        for operation in payload.get("Operations") or []:
            if not isinstance(operation, dict):
                continue
            path, value = operation.get("path"), operation.get("value")
            if isinstance(path, str) and path.lower() == "active":
                operation["value"] = self._check_active(value)
            elif path is None and isinstance(value, dict) and "active" in value:
                value["active"] = self._check_active(value["active"])
        return super().read_patch(resource_type, json.dumps(payload).encode(), None)

    def read_search(
        self, resource_types: list[ResourceType], payload: Any
    ) -> tuple[SearchRequest[Any], Any]:
        """Filter subset, no sorting, pages of 100 capped by `max_page_size`."""
        query = dict(payload) if isinstance(payload, dict) else {}
        endpoint = self.endpoint_of(resource_types[0]) if resource_types else ""
        if "filter" in query:
            parse_filter(endpoint, str(query["filter"]))
        if {"sortBy", "sortOrder"} & set(query):
            if self.assumptions.sort_by == "reject":
                raise InvalidValueException(detail="Sorting is not supported")
            query.pop("sortBy", None)
            query.pop("sortOrder", None)
        count = query.get("count")
        if count is None:
            query["count"] = DEFAULT_PAGE_SIZE
        elif str(count).isdigit():
            query["count"] = min(int(count), self.assumptions.max_page_size)
        return super().read_search(resource_types, query)

    def patch_response(
        self,
        base_url: str,
        resource: Resource[Any],
        response_parameters: ResponseParameters[Any],
    ) -> ScimResponse:
        """PATCH answers 200 with the updated resource (§8), never 204."""
        return self.resource_response(
            self.publish(base_url, resource),
            Context.RESOURCE_REPLACEMENT_RESPONSE,
            response_parameters,
        )

    def resource_location(
        self, base_url: str, resource_type: ResourceType, resource_id: str
    ) -> str:
        """`{directory base}/Users/{id}` (§8: api.atlassian.com or the emulator)."""
        return f"{base_url}/{self.endpoint_of(resource_type)}/{resource_id}"

    def publish(self, base_url: str, resource: Resource[Any]) -> Resource[Any]:
        """Set `meta.location` (the storage already wrote absolute `$ref`s).

        scim2-server walks every attribute path to rewrite references, and the
        extension URN `...atlassian-external:1.0` is no valid attribute path.
        """
        assert resource.meta is not None and resource.id is not None
        published = resource.model_copy(deep=True)
        location = self.resource_location(
            base_url, self.get_resource_type_of(resource), resource.id
        )
        published.meta = resource.meta.model_copy(
            update={"location": location, "version": None}
        )
        return published
