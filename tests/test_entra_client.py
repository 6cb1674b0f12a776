"""The `ssopoc.entra` client against the sandbox's Entra emulator.

Checks the public API notebooks use (users, the enterprise app, the job's schema,
on-demand runs, cycles, logs), the typed errors, and that tokens and secrets never
reach a log or a transcript.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from ssopoc import redact, workbook
from ssopoc.entra import (
    REQUIRED_PERMISSIONS,
    CycleTimeoutError,
    EntraClient,
    EntraTokenError,
    GraphNotFoundError,
    GraphPermissionError,
    GraphRequestError,
    MappingNotFoundError,
)
from ssopoc.sandbox import SandboxHandle, read_credentials, read_identifiers

EMAIL = 'emails[type eq "work"].value'


def reset(sandbox: SandboxHandle) -> None:
    context = ssl.create_default_context(cafile=str(sandbox.ca_file))
    with httpx.Client(verify=context) as http:
        for name in ("entra", "atlassian"):
            assert (
                http.post(f"{sandbox.base_urls[name]}/_sandbox/reset").status_code
                == 200
            )


def client_for(
    sandbox: SandboxHandle, app: str = "entra", secret: str | None = None
) -> EntraClient:
    ids = read_identifiers(sandbox.state_dir)
    return EntraClient.from_values(
        authority=f"{sandbox.base_urls['entra']}/{ids['entra_tenant_id']}",
        client_id=ids[f"{app}_client_id"],
        client_secret=secret
        or read_credentials(sandbox.state_dir)[f"{app}_client_secret"],
        graph_url=sandbox.base_urls["entra"],
        ca_file=sandbox.ca_file,
        sandbox=True,
        prefix="cli-",
    )


@pytest.fixture
def entra(sandbox: SandboxHandle) -> Iterator[EntraClient]:
    reset(sandbox)
    client = client_for(sandbox)
    yield client
    client.close()
    reset(sandbox)


def test_from_workbook_keeps_tokens_out_of_logs_and_transcripts(
    sandbox: SandboxHandle,
) -> None:
    reset(sandbox)
    wb = workbook.start("test_entra_client")
    client = EntraClient.from_workbook(wb)

    user = client.users.create("wb", mail="wb@example.org")
    token = client.auth.token()
    client.close()

    assert user["userPrincipalName"] == f"{wb.prefix}wb@openmrs.onmicrosoft.com"
    assert token in redact.known_values()
    secret = read_credentials(sandbox.state_dir)["entra_client_secret"]
    written = "".join(p.read_text() for p in wb.run_dir.iterdir() if p.is_file())
    assert "/oauth2/v2.0/token" in written and "/v1.0/users" in written
    assert token not in written and secret not in written


def test_users_lifecycle(entra: EntraClient) -> None:
    created = entra.users.create(
        "ana", mail="ana@example.org", extension_attributes={1: "ana@other.example"}
    )
    assert created["userPrincipalName"] == "cli-ana@openmrs.onmicrosoft.com"
    assert (
        created["onPremisesExtensionAttributes"]["extensionAttribute1"]
        == "ana@other.example"
    )
    assert [u["id"] for u in entra.users.find(mail="ana@example.org")] == [
        created["id"]
    ]

    entra.users.update(created["id"], jobTitle="Developer")
    entra.users.set_extension_attribute(created["id"], 2, "two")
    again = entra.users.get(
        created["id"], select="jobTitle,onPremisesExtensionAttributes"
    )
    assert again["jobTitle"] == "Developer"
    assert again["onPremisesExtensionAttributes"]["extensionAttribute2"] == "two"

    entra.users.delete(created["id"])
    assert [u["id"] for u in entra.users.deleted()] == [created["id"]]
    entra.users.restore(created["id"])
    assert entra.users.clean_up() == 1
    assert entra.users.mine() == [] and entra.users.deleted() == []


def test_typed_errors(sandbox: SandboxHandle, entra: EntraClient) -> None:
    with pytest.raises(GraphNotFoundError) as missing:
        entra.users.get("nobody@openmrs.onmicrosoft.com")
    assert missing.value.code == "Request_ResourceNotFound"
    assert missing.value.request_id and missing.value.status == 404

    entra.users.create("dup")
    with pytest.raises(GraphRequestError) as duplicate:
        entra.users.create("dup")
    assert duplicate.value.details[0]["code"] == "ObjectConflict"

    limited = client_for(sandbox, "entra_limited")
    with pytest.raises(GraphPermissionError) as denied:
        limited.users.create("nope")
    assert denied.value.permission == "User.ReadWrite.All"
    assert "User.ReadWrite.All" in str(denied.value.next_action)
    limited.close()

    wrong = client_for(sandbox, secret="not-the-right-secret")
    with pytest.raises(EntraTokenError) as refused:
        wrong.users.mine()
    assert refused.value.aadsts == [7000215] and refused.value.code == "invalid_client"
    assert "ENTRA_CLIENT_SECRET" in str(refused.value)
    assert "not-the-right-secret" not in str(refused.value)
    wrong.close()


def test_permissions_and_assumptions(
    sandbox: SandboxHandle, entra: EntraClient
) -> None:
    assert set(REQUIRED_PERMISSIONS) <= set(entra.granted_permissions())
    limited = client_for(sandbox, "entra_limited")
    table = limited.permissions_table(REQUIRED_PERMISSIONS)
    statuses = {row[0]: row[1] for row in table.rows}
    limited.close()
    assert statuses["AuditLog.Read.All"] == "MISSING"
    assert statuses["User.ReadWrite.All"] == "MISSING"

    assumptions = entra.sandbox_assumptions()
    settings = {row[0] for row in assumptions.rows}
    assert {
        "template_id",
        "multi_valued_single_value",
        "scim_boolean_style",
    } <= settings


def test_schema_helpers(entra: EntraClient) -> None:
    app = entra.apps.enterprise_app()
    job = entra.provisioning.job(app["id"])
    schema = entra.provisioning.schema(app["id"], job["id"])
    assert schema.source_expression(EMAIL) == "[mail]"
    with pytest.raises(MappingNotFoundError):
        schema.mapping_for("noSuchTarget")

    before = entra.provisioning.set_mapping_expression(
        app["id"], job["id"], EMAIL, "Coalesce([extensionAttribute1], [mail])"
    )
    changed = entra.provisioning.schema(app["id"], job["id"])
    assert changed.mapping_for(EMAIL)["source"]["type"] == "Function"
    entra.provisioning.put_schema(app["id"], job["id"], before)
    assert (
        entra.provisioning.schema(app["id"], job["id"]).source_expression(EMAIL)
        == "[mail]"
    )

    parsed = entra.provisioning.parse_expression(
        app["id"], job["id"], 'Join(",", [otherMails])', {"otherMails": ["a@x", "b@x"]}
    )
    assert parsed["evaluationResult"] == ["a@x,b@x"]


def test_on_demand_cycles_and_logs(entra: EntraClient) -> None:
    app = entra.apps.enterprise_app()
    job = entra.provisioning.job(app["id"])
    user = entra.users.create("bea", mail="cli-bea@openmrs.onmicrosoft.com")
    entra.apps.assign_user(app["id"], user["id"])

    outcome = entra.provisioning.provision_on_demand(app["id"], user["id"])
    assert (outcome.result, outcome.action) == ("Success", "Create")
    assert [row[1] for row in outcome.steps.rows] == [
        "Import",
        "Scoping",
        "Matching",
        "Export",
    ]
    assert EMAIL in [row[0] for row in outcome.modified.rows]

    with pytest.raises(CycleTimeoutError):
        entra.provisioning.wait_for_cycle(app["id"], job["id"], timeout=0.5, poll=0.1)
    entra.provisioning.start(app["id"], job["id"])
    last = entra.provisioning.wait_for_cycle(
        app["id"], job["id"], run_now=True, timeout=30
    )
    assert last["state"] == "Succeeded"

    entries = entra.provisioning.logs_for_user(user["id"], job_id=job["id"])
    assert entries[-1]["provisioningAction"] == "create"
    table = entra.provisioning.logs_table(entries)
    assert table.rows[-1][1:3] == ("create", "success")
    entra.provisioning.pause(app["id"], job["id"])


def test_groups_bring_members_into_scope(entra: EntraClient) -> None:
    app = entra.apps.enterprise_app()
    user = entra.users.create("cid", mail="cli-cid@openmrs.onmicrosoft.com")
    group = entra.apps.create_group("team")
    entra.apps.add_member(group["id"], user["id"])
    entra.apps.assign_group(app["id"], group["id"])

    outcome = entra.provisioning.provision_on_demand(app["id"], user["id"])

    assert outcome.action == "Create"
    entra.apps.remove_member(group["id"], user["id"])
    assert (
        entra.provisioning.provision_on_demand(app["id"], user["id"]).action
        == "Disable"
    )
    entra.apps.delete_group(group["id"])
