"""End to end through the sandbox: Entra provisions a user into the Atlassian emulator.

Create a user, assign it to the Atlassian Cloud enterprise app, provision it on
demand, and find it in the Atlassian emulator's SCIM directory with the mapped
attributes. Then map the work email from `[extensionAttribute1]` (microsoft.md
§4.4's recommendation for an unverified-domain address), provision again, and see
what Atlassian does with the new address (§6).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ssopoc.entra import EntraClient
from ssopoc.sandbox import SandboxHandle, read_credentials, read_identifiers

EMAIL = 'emails[type eq "work"].value'


@pytest.fixture
def stack(sandbox: SandboxHandle) -> Iterator[tuple[EntraClient, httpx.Client]]:
    context = ssl.create_default_context(cafile=str(sandbox.ca_file))
    http = httpx.Client(verify=context, timeout=30)
    health = http.get(f"{sandbox.base_urls['atlassian']}/_sandbox/health").json()
    if not health.get("implemented"):
        pytest.skip("the Atlassian emulator is not installed")
    for name in ("entra", "atlassian"):
        assert http.post(f"{sandbox.base_urls[name]}/_sandbox/reset").status_code == 200
    entra = EntraClient.from_sandbox(sandbox, prefix="e2e-")
    yield entra, http
    entra.close()
    http.post(f"{sandbox.base_urls['entra']}/_sandbox/reset")
    http.close()


def scim_user(
    sandbox: SandboxHandle, http: httpx.Client, user_id: str
) -> dict[str, Any]:
    """The Atlassian SCIM record whose externalId is the Entra user's id."""
    ids = read_identifiers(sandbox.state_dir)
    token = read_credentials(sandbox.state_dir)["atlassian_scim_token"]
    url = (
        f"{sandbox.base_urls['atlassian']}/scim/directory/"
        f"{ids['atlassian_scim_directory_id']}/Users"
    )
    found = http.get(
        url,
        params={"filter": f'externalId eq "{user_id}"'},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert found["totalResults"] == 1, found
    record: dict[str, Any] = found["Resources"][0]
    return record


def work_email(record: dict[str, Any]) -> str | None:
    return next(
        (e["value"] for e in record.get("emails", []) if e.get("type") == "work"), None
    )


def test_user_reaches_atlassian_then_email_mapping_changes(
    sandbox: SandboxHandle, stack: tuple[EntraClient, httpx.Client]
) -> None:
    entra, http = stack
    app = entra.apps.enterprise_app("Atlassian Cloud")
    job = entra.provisioning.job(app["id"])
    user = entra.users.create(
        "maria",
        given_name="Maria",
        surname="Lopez",
        mail="e2e-maria@openmrs.onmicrosoft.com",
        extension_attributes={1: "maria@unverified-community.example"},
    )
    entra.apps.assign_user(app["id"], user["id"])

    first = entra.provisioning.provision_on_demand(app["id"], user["id"], job["id"])

    assert (first.result, first.action) == ("Success", "Create"), first.message
    record = scim_user(sandbox, http, user["id"])
    assert record["userName"] == user["userPrincipalName"]
    assert work_email(record) == "e2e-maria@openmrs.onmicrosoft.com"
    assert record["name"]["givenName"] == "Maria"
    assert record["name"]["familyName"] == "Lopez"
    assert record["active"] is True

    before = entra.provisioning.set_mapping_expression(
        app["id"], job["id"], EMAIL, "[extensionAttribute1]"
    )
    second = entra.provisioning.provision_on_demand(app["id"], user["id"], job["id"])
    entries = entra.provisioning.logs_for_user(user["id"], job_id=job["id"])
    entra.provisioning.put_schema(app["id"], job["id"], before)

    record = scim_user(sandbox, http, user["id"])
    assert len(entries) == 2
    if second.result == "Success":
        assert second.action == "Update"
        assert work_email(record) == "maria@unverified-community.example"
        assert entries[0]["provisioningAction"] == "update"
        changed = {
            m["displayName"]: m["newValue"] for m in entries[0]["modifiedProperties"]
        }
        assert changed == {EMAIL: "maria@unverified-community.example"}
    else:
        assert second.result == "Failure" and second.error_code
        assert work_email(record) == "e2e-maria@openmrs.onmicrosoft.com"
        assert entries[0]["provisioningStatusInfo"]["status"] == "failure"
    restored = entra.provisioning.schema(app["id"], job["id"])
    assert restored.source_expression(EMAIL) == "[mail]"
