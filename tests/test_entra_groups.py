"""Group provisioning end to end: Entra groups reach the Atlassian emulator.

Everything goes over real TLS and HTTP: the Entra emulator's provisioning engine
pushes to the Atlassian emulator's SCIM directory, and product access is read
back through the org admin API and the Jira user endpoint, as in live mode.
Product access in Atlassian comes only from synced group membership
(atlassian.md §1.6, §2 "Product access").
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ssopoc.atlassian import Atlassian, AtlassianConfig
from ssopoc.entra import EntraClient, GraphRequestError
from ssopoc.sandbox import SandboxHandle, read_credentials, read_identifiers

JIRA = "jira-software"


@dataclass
class Stack:
    """The Entra client, the Atlassian client, plain HTTPS, and the app's ids."""

    sandbox: SandboxHandle
    entra: EntraClient
    atlassian: Atlassian
    http: httpx.Client
    sp: str
    job: str

    @property
    def scim_base(self) -> str:
        directory = read_identifiers(self.sandbox.state_dir)[
            "atlassian_scim_directory_id"
        ]
        return f"{self.sandbox.base_urls['atlassian']}/scim/directory/{directory}"

    def scim(self, path: str, **params: str) -> Any:
        token = read_credentials(self.sandbox.state_dir)["atlassian_scim_token"]
        answer = self.http.get(
            f"{self.scim_base}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def scim_group(self, name: str) -> dict[str, Any] | None:
        """The Atlassian SCIM group named `name`, with its members, or None."""
        found = self.scim("/Groups", filter=f'displayName eq "{name}"')
        if not found["totalResults"]:
            return None
        group: dict[str, Any] = self.scim(f"/Groups/{found['Resources'][0]['id']}")
        return group

    def scim_user_id(self, entra_id: str) -> str:
        found = self.scim("/Users", filter=f'externalId eq "{entra_id}"')
        assert found["totalResults"] == 1, found
        return str(found["Resources"][0]["id"])

    def member(self, alias: str) -> dict[str, Any]:
        """A user with a mail on openmrs.org (verified and claimed in Atlassian)."""
        return self.entra.users.create(
            alias,
            given_name=alias.title(),
            surname="Tester",
            mail=f"{self.entra.prefix}{alias}@openmrs.org",
        )

    def group(self, alias: str, *members: dict[str, Any]) -> dict[str, Any]:
        group = self.entra.apps.create_group(alias)
        for user in members:
            self.entra.apps.add_member(group["id"], user["id"])
        return group

    def on_demand(self, object_id: str, kind: str = "User", **extra: Any) -> Any:
        return self.entra.provisioning.provision_on_demand(
            self.sp, object_id, self.job, object_type=kind, **extra
        )


@pytest.fixture
def stack(sandbox: SandboxHandle) -> Iterator[Stack]:
    context = ssl.create_default_context(cafile=str(sandbox.ca_file))
    http = httpx.Client(verify=context, timeout=30)
    health = http.get(f"{sandbox.base_urls['atlassian']}/_sandbox/health").json()
    if not health.get("implemented"):
        pytest.skip("the Atlassian emulator is not installed")
    for name in ("entra", "atlassian"):
        assert http.post(f"{sandbox.base_urls[name]}/_sandbox/reset").status_code == 200
    entra = EntraClient.from_sandbox(sandbox, prefix="grp-")
    atlassian = Atlassian.from_values(
        AtlassianConfig.from_sandbox(sandbox), ca_file=sandbox.ca_file
    )
    app = entra.apps.enterprise_app("Atlassian Cloud")
    job = entra.provisioning.job(app["id"])
    yield Stack(sandbox, entra, atlassian, http, app["id"], job["id"])
    entra.close()
    atlassian.close()
    for name in ("entra", "atlassian"):
        http.post(f"{sandbox.base_urls[name]}/_sandbox/reset")
    http.close()


def grant(stack: Stack, group: str, products: list[str]) -> None:
    """The admin step in admin.atlassian.com: give a synced group product access."""
    answer = stack.http.post(
        f"{stack.sandbox.base_urls['atlassian']}/_atlassian/product-access",
        json={"group": group, "products": products},
    )
    assert answer.status_code == 200, answer.text


def test_group_membership_grants_and_removes_jira_access(stack: Stack) -> None:
    """microsoft.md §4.5 [C]: the Atlassian Cloud app provisions groups with
    displayName (matching), externalId and members; §3.7 [C]: provisionOnDemand
    takes `objectTypeName: "Group"` with the group rule's id; §3.8 [C]: each
    processed object writes a provisioning log entry. atlassian.md §1.6 [C]:
    membership is PATCHed `add`/`remove` of `members`, and product access comes
    from synced group membership ([S] EXTBLOG; §8 "applicationRoles per the
    product access that group membership grants")."""
    user = stack.member("ann")
    group = stack.group("jira-team", user)
    stack.entra.apps.assign_group(stack.sp, group["id"])

    pushed = stack.on_demand(user["id"])
    assert (pushed.result, pushed.action) == ("Success", "Create"), pushed.message
    scim_user = stack.scim_user_id(user["id"])

    outcome = stack.on_demand(group["id"], "Group")

    assert (outcome.result, outcome.action) == ("Success", "Create"), outcome.message
    assert outcome.details["sourceIdentity"]["type"] == "Group"
    kinds = [row[1] for row in outcome.steps.rows]
    assert kinds[:2] == ["Import", "Scoping"] and "Matching" in kinds
    target = stack.scim_group(group["displayName"])
    assert target is not None and target["id"] == outcome.target_id
    assert target["externalId"] == group["id"]
    assert [m["value"] for m in target["members"]] == [scim_user]
    changed = {row[0]: row[2] for row in outcome.modified.rows}
    assert changed["displayName"] == group["displayName"]
    assert changed["members"] == scim_user

    [entry] = stack.entra.provisioning.logs_for_user(group["id"], job_id=stack.job)
    assert entry["provisioningAction"] == "create"
    assert entry["sourceIdentity"]["identityType"] == "Group"
    assert entry["targetIdentity"]["id"] == target["id"]
    members = {m["displayName"]: m for m in entry["modifiedProperties"]}["members"]
    assert members["newValue"] == scim_user and members["oldValue"] is None

    proof = stack.atlassian.admin.prove_account(user["mail"])
    assert proof.exists and not proof.has_access(JIRA)
    grant(stack, group["displayName"], [JIRA])
    proof = stack.atlassian.admin.prove_account(user["mail"])
    assert proof.has_access(JIRA) and proof.account_id
    assert JIRA in stack.atlassian.jira.application_roles(proof.account_id)

    stack.entra.apps.remove_member(group["id"], user["id"])
    removed = stack.on_demand(group["id"], "Group")

    assert (removed.result, removed.action) == ("Success", "Update"), removed.message
    target = stack.scim_group(group["displayName"])
    assert target is not None and not target.get("members")
    assert not stack.atlassian.admin.prove_account(user["mail"]).has_access(JIRA)
    assert JIRA not in stack.atlassian.jira.application_roles(proof.account_id)
    newest = stack.entra.provisioning.logs_for_user(group["id"], job_id=stack.job)[0]
    assert newest["provisioningAction"] == "update"
    members = {m["displayName"]: m for m in newest["modifiedProperties"]}["members"]
    assert (members["oldValue"], members["newValue"]) == (scim_user, None)


def test_group_on_demand_provisions_its_members_first(stack: Stack) -> None:
    """microsoft.md §3.7 [C] (and atlassian.md §6 MSONDEMAND): a group is
    provisioned on demand with up to 5 members; the members named in the
    subject's `links.members` are provisioned first, each with its own log entry
    (§3.8 [C]), and then referenced by the group (§5 [C]: references resolve to
    provisioned objects). More than 5 is refused ([U]: 400)."""
    ann, bob, cid = stack.member("ann"), stack.member("bob"), stack.member("cid")
    group = stack.group("wiki-team", ann, bob, cid)
    stack.entra.apps.assign_group(stack.sp, group["id"])

    with pytest.raises(GraphRequestError) as refused:
        stack.on_demand(group["id"], "Group", members=[ann["id"]] * 6)
    assert refused.value.status == 400

    outcome = stack.on_demand(group["id"], "Group", members=[ann["id"], bob["id"]])

    assert (outcome.result, outcome.action) == ("Success", "Create"), outcome.message
    target = stack.scim_group(group["displayName"])
    assert target is not None
    wanted = {stack.scim_user_id(ann["id"]), stack.scim_user_id(bob["id"])}
    assert {m["value"] for m in target["members"]} == wanted
    assert (
        stack.scim("/Users", filter=f'externalId eq "{cid["id"]}"')["totalResults"] == 0
    ), "a member not named and not yet provisioned cannot be referenced"
    for user in (ann, bob):
        [entry] = stack.entra.provisioning.logs_for_user(user["id"], job_id=stack.job)
        assert entry["provisioningAction"] == "create"
        assert entry["sourceIdentity"]["identityType"] == "User"
    import_step = outcome.details["provisioningSteps"][0]
    assert len([k for k in import_step["details"] if k.startswith("Member")]) == 3

    again = stack.on_demand(group["id"], "Group", members=[])
    assert (again.result, again.error_code) == ("Skipped", "RedundantExport")


def test_group_name_taken_in_the_org_is_an_export_failure(stack: Stack) -> None:
    """atlassian.md §1.6 [C]: POST /Groups fails with 409 when a group of that
    name exists in the organization; microsoft.md §3.8 [C]: the failure is a
    provisioning log entry with the error code and reason (§6 [S] wording)."""
    body = {
        "displayName": "org-admins",
        "mailNickname": "org-admins",
        "mailEnabled": False,
        "securityEnabled": True,
    }
    group = stack.entra.call(
        "POST", "/groups", permission="Group.ReadWrite.All", body=body
    )
    stack.entra.apps.assign_group(stack.sp, group["id"])

    outcome = stack.on_demand(group["id"], "Group")

    assert outcome.result == "Failure"
    assert outcome.error_code == "SystemForCrossDomainIdentityManagementConflict"
    assert "Failed to EntryExportAdd Group 'org-admins'" in outcome.message
    [entry] = stack.entra.provisioning.logs_for_user(group["id"], job_id=stack.job)
    status = entry["provisioningStatusInfo"]
    assert status["status"] == "failure"
    assert status["errorInformation"]["errorCode"] == outcome.error_code
    assert stack.scim_group("org-admins") is None


def test_cycle_provisions_assigned_group_then_deletes_it_when_unassigned(
    stack: Stack,
) -> None:
    """microsoft.md §5 [C]: a cycle provisions assigned users and groups, users
    first so that references resolve; the job counts `Group to Group` entries
    (§3.5 `synchronizedEntryCountByType`). Unassigning the group deletes it in
    Atlassian under the `group_out_of_scope` assumption [U] (default delete);
    atlassian.md §1.6 [C]: deleting a synced group removes the product access it
    granted."""
    user = stack.member("dee")
    group = stack.group("cycle-team", user)
    assignment = stack.entra.apps.assign_group(stack.sp, group["id"])
    stack.entra.provisioning.start(stack.sp, stack.job)

    [first] = stack.entra.run_cycle_now(stack.job)

    assert first["lastExecution"]["state"] == "Succeeded"
    target = stack.scim_group(group["displayName"])
    assert target is not None
    assert [m["value"] for m in target["members"]] == [stack.scim_user_id(user["id"])]
    counts = stack.entra.provisioning.job(stack.sp, stack.job)["status"][
        "synchronizedEntryCountByType"
    ]
    assert {"key": "Group to Group", "value": 1} in counts
    grant(stack, group["displayName"], [JIRA])
    assert stack.atlassian.admin.prove_account(user["mail"]).has_access(JIRA)

    stack.entra.apps.unassign(stack.sp, assignment["id"])
    stack.entra.run_cycle_now(stack.job)

    assert stack.scim_group(group["displayName"]) is None
    assert not stack.atlassian.admin.prove_account(user["mail"]).has_access(JIRA)
    newest = stack.entra.provisioning.logs_for_user(group["id"], job_id=stack.job)[0]
    assert newest["provisioningAction"] == "delete"
