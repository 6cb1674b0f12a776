"""scim2-tester against the Atlassian emulator, over HTTPS.

Every check passes except those that meet one of Atlassian's documented
departures from RFC 7643/7644, listed in `DEVIATIONS`. Each listed check is
asserted to fail, and for the listed reason; none is skipped.

The run is made twice:

- with the schemas the emulator publishes (discovery), where the
  `urn:scim:schemas:extension:atlassian-external:1.0` extension cannot be named
  as an attribute path, so the checks that walk attribute paths cannot run;
- with the same models described by the client minus that read-only extension
  (unknown attributes ignored), so those checks run against everything else.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from scim2_client import BaseSyncSCIMClient
from scim2_client.errors import RequestNetworkException
from scim2_models import (
    EnterpriseUser,
    Group,
    ResourceType,
    ScimPolicy,
    ScimProvider,
)
from scim2_tester import CheckResult, Status, check_server

from ssopoc.atlassian.models import AtlassianUser
from ssopoc.sandbox import SandboxHandle, read_credentials, read_identifiers

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}

# Atlassian's departures, by the fact that documents each (atlassian.md).
EXTENSION_URN = (
    "the extension URN ends in ':1.0', not an attribute name, so it cannot be an "
    "RFC 7644 §3.10 attrPath (§1.3, [C] OAS22, JSUP)",
    r"invalid syntax",
)
NO_SEARCH = (
    "no POST .search endpoint, RFC 7644 §3.4.3 (§1.2: absent from OAS22, JSUP)",
    r"No SCIM endpoint at '/\.search'",
)
NO_RENAME = (
    "groups cannot be renamed, RFC 7644 §3.5.1/§3.5.2 (§1.6, [C] OAS22, JSUP)",
    r"Renaming a group is not supported",
)
ACTIVE_STAYS = (
    "`active` cannot be removed: it defaults to true, RFC 7644 §3.5.2.2 "
    "(§1.3, [C] JSUP)",
    r"did not remove attribute 'active'",
)

DEVIATIONS_DISCOVERED: dict[tuple[str, str], tuple[str, str]] = {
    ("User", "object_query_with_attributes"): EXTENSION_URN,
    ("User", "object_list_with_attributes"): EXTENSION_URN,
    ("User", "search_with_attributes"): EXTENSION_URN,
    ("User", "object_replacement"): EXTENSION_URN,
    ("User", "check_add_attribute"): EXTENSION_URN,
    ("User", "check_remove_attribute"): EXTENSION_URN,
    ("User", "check_replace_attribute"): EXTENSION_URN,
    ("Group", "search_with_attributes"): NO_SEARCH,
    ("Group", "object_replacement"): NO_RENAME,
    ("Group", "check_replace_attribute"): NO_RENAME,
}
DEVIATIONS_DESCRIBED: dict[tuple[str, str], tuple[str, str]] = {
    ("User", "search_with_attributes"): NO_SEARCH,
    ("User", "check_remove_attribute"): ACTIVE_STAYS,
    ("Group", "search_with_attributes"): NO_SEARCH,
    ("Group", "object_replacement"): NO_RENAME,
    ("Group", "check_replace_attribute"): NO_RENAME,
}


class HttpxScimClient(BaseSyncSCIMClient):
    """scim2-client's synchronous client over an `httpx.Client`."""

    def __init__(self, client: httpx.Client, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = self.client.base_url
        url = self.client.build_request("GET", endpoint).url
        same_origin = (url.scheme, url.host, url.port) == (
            base.scheme,
            base.host,
            base.port,
        )
        return same_origin and url.raw_path.startswith(base.raw_path)

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.request(method, url, **kwargs)
        except httpx.RequestError as error:
            raise RequestNetworkException() from error


@pytest.fixture
def scim_http(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    """An HTTPS client on the emulator's SCIM directory, state reset."""
    context = ssl.create_default_context(cafile=str(sandbox.ca_file))
    base = sandbox.base_urls["atlassian"]
    directory = read_identifiers(sandbox.state_dir)["atlassian_scim_directory_id"]
    key = read_credentials(sandbox.state_dir)["atlassian_scim_token"]
    with httpx.Client(
        base_url=f"{base}/scim/directory/{directory}",
        verify=context,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    ) as http:
        assert http.post(f"{base}/_sandbox/reset").status_code == 200
        yield http
        http.post(f"{base}/_sandbox/reset")


def assert_only_deviations(
    results: list[CheckResult], deviations: dict[tuple[str, str], tuple[str, str]]
) -> None:
    """Every check passes, except each listed one, which fails for its reason.

    A check can report several results (one per attribute it tries): a listed
    check must fail at least once, and every failure must have its reason.
    """
    by_check: dict[tuple[str, str], list[CheckResult]] = {}
    for result in results:
        by_check.setdefault((result.resource_type or "", result.title), []).append(
            result
        )
    assert sum(r.status in PASSING for r in results) >= 30
    for key, (why, reason) in deviations.items():
        assert key in by_check, f"{key} did not run ({why})"
        failed = [r for r in by_check[key] if r.status not in PASSING]
        assert failed, f"{key} passed: is this deviation gone? {why}"
        for result in failed:
            assert re.search(reason, result.reason or ""), (key, result.reason)
    unexpected = [
        (key, r.status.name, (r.reason or "")[:200])
        for key, found in by_check.items()
        if key not in deviations
        for r in found
        if r.status not in PASSING
    ]
    assert unexpected == []
    assert not [r for r in results if r.status == Status.SKIPPED]


def test_scim2_tester_with_discovered_schemas(scim_http: httpx.Client) -> None:
    """scim2-tester with the emulator's own /Schemas and /ResourceTypes."""
    results = check_server(HttpxScimClient(scim_http))
    assert_only_deviations(results, DEVIATIONS_DISCOVERED)


def test_scim2_tester_without_the_atlassian_extension(scim_http: httpx.Client) -> None:
    """scim2-tester with the user model minus the read-only Atlassian extension."""
    provider = ScimProvider(
        models=[AtlassianUser, Group, EnterpriseUser],
        resource_types=[
            ResourceType.from_resource(AtlassianUser[EnterpriseUser]),
            ResourceType.from_resource(Group),
        ],
        policy=ScimPolicy(unknown=ScimPolicy.Unknown.ignore),
    )
    results = check_server(HttpxScimClient(scim_http, provider=provider))
    assert_only_deviations(results, DEVIATIONS_DESCRIBED)
