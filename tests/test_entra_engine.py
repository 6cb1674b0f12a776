"""The provisioning engine, end to end over TLS against a recording SCIM server.

The Entra emulator runs in-process on a loopback port; its job pushes to a real
SCIM 2.0 server (scim2-server) on another port that records every request, so the
tests can assert what went over the wire: microsoft.md §4.3, §5 and the engine
bullet of §7 (nulls never sent, defaults on create only, PATCH of changed
attributes only, disable and delete, SchemaPropertyCanOnlyAcceptValue, escrow).
"""

from __future__ import annotations

import io
import json
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import trustme
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.memory import InMemoryStorage
from scim2_server.utils import load_default_provider
from werkzeug.serving import make_server

from ssopoc.entra import EntraClient
from ssopoc.sandbox.base import CredentialBook, EmulatorContext
from ssopoc.sandbox.entra.emulator import EntraEmulator
from ssopoc.sandbox.state import StateStore

DIRECTORY = "dir-0001"
SCIM_TOKEN = "scim-token-for-tests-0001"
EMAIL = 'emails[type eq "work"].value'


class Recorder:
    """WSGI middleware: bearer check, Atlassian-style paths, a log, injected faults."""

    def __init__(self) -> None:
        self.app = WSGIApplication(InMemoryStorage(), load_default_provider())
        self.requests: list[dict[str, Any]] = []
        self.fail_next: list[int] = []

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        path = environ["PATH_INFO"]
        self.requests.append(
            {
                "method": environ["REQUEST_METHOD"],
                "path": path,
                "query": environ.get("QUERY_STRING", ""),
                "body": json.loads(raw) if raw else None,
            }
        )
        if environ.get("HTTP_AUTHORIZATION") != f"Bearer {SCIM_TOKEN}":
            start_response("401 Unauthorized", [("Content-Type", "application/json")])
            return [b'{"detail": "bad token", "status": "401"}']
        if self.fail_next:
            status = self.fail_next.pop(0)
            start_response(f"{status} Injected", [("Content-Type", "application/json")])
            return [b'{"detail": "injected", "status": "%d"}' % status]
        environ["PATH_INFO"] = re.sub(rf"^/scim/directory/{DIRECTORY}", "/v2", path)
        environ["wsgi.input"] = io.BytesIO(raw)
        return self.app(environ, start_response)

    def writes(self) -> list[dict[str, Any]]:
        """The POST, PATCH and DELETE requests, oldest first."""
        return [r for r in self.requests if r["method"] in ("POST", "PATCH", "DELETE")]


class Switch:
    """A WSGI app whose target is set after the server knows its port."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


@dataclass
class Stack:
    """An Entra emulator, its client, the SCIM recorder, and the seeded ids."""

    emulator: EntraEmulator
    client: EntraClient
    scim: Recorder
    sp: str
    job: str
    servers: list[Any] = field(default_factory=list)

    def user(self, alias: str, **extra: Any) -> dict[str, Any]:
        return self.client.users.create(
            alias, mail=f"{alias}@openmrs.onmicrosoft.com", **extra
        )

    def assigned(self, alias: str, **extra: Any) -> dict[str, Any]:
        user = self.user(alias, **extra)
        self.client.apps.assign_user(self.sp, user["id"])
        return user

    def run(self, user_id: str) -> Any:
        return self.client.provisioning.provision_on_demand(self.sp, user_id, self.job)

    def edit(self, target: str, **changes: Any) -> None:
        schema = self.client.provisioning.schema(self.sp, self.job)
        schema.mapping_for(target).update(changes)
        self.client.provisioning.put_schema(self.sp, self.job, schema)


def _serve(app: Any, ca: trustme.CA) -> Any:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=server_context)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    made: list[Stack] = []

    def build(**config: Any) -> Stack:
        ca = trustme.CA()
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        scim = Recorder()
        scim_server = _serve(scim, ca)
        switch = Switch()
        entra_server = _serve(switch, ca)
        urls = {
            "entra": f"https://127.0.0.1:{entra_server.server_port}",
            "atlassian": f"https://127.0.0.1:{scim_server.server_port}",
        }
        credentials = CredentialBook(tmp_path / "credentials.json")
        identifiers = CredentialBook(tmp_path / "identifiers.json")
        credentials.publish({"atlassian_scim_token": SCIM_TOKEN})
        identifiers.publish({"atlassian_scim_directory_id": DIRECTORY})
        context = EmulatorContext(
            name="entra",
            store=StateStore(tmp_path / f"entra-{len(made)}.json"),
            base_urls=urls,
            ca_file=ca_file,
            seed=7,
            config=config,
            credentials=credentials,
            identifiers=identifiers,
        )
        emulator = EntraEmulator(context)
        switch.app = emulator.wsgi
        ids = identifiers.read()
        client = EntraClient.from_values(
            authority=f"{urls['entra']}/{ids['entra_tenant_id']}",
            client_id=ids["entra_client_id"],
            client_secret=credentials.read()["entra_client_secret"],
            graph_url=urls["entra"],
            ca_file=ca_file,
            sandbox=True,
            prefix="eng-",
        )
        stack = Stack(
            emulator,
            client,
            scim,
            ids["entra_atlassian_service_principal_id"],
            ids["entra_atlassian_job_id"],
            [scim_server, entra_server],
        )
        made.append(stack)
        return stack

    yield build
    for stack in made:
        stack.emulator.stop()
        stack.client.close()
        for server in stack.servers:
            server.shutdown()


def test_create_sends_mapped_values_and_no_nulls(
    make_stack: Callable[..., Stack],
) -> None:
    """§5 [C]: POST /Users with the mapped values; §4.3 [C]: nulls are not sent."""
    stack = make_stack()
    user = stack.assigned("ann", given_name="Ann", surname="Lee")

    outcome = stack.run(user["id"])

    assert (outcome.result, outcome.action) == ("Success", "Create")
    [post] = stack.scim.writes()
    body = post["body"]
    assert post["method"] == "POST" and post["path"].endswith("/Users")
    assert body["userName"] == user["userPrincipalName"]
    assert body["active"] is True
    assert body["emails"] == [{"type": "work", "value": user["mail"], "primary": True}]
    assert body["name"] == {"givenName": "Ann", "familyName": "Lee"}
    assert body["externalId"] == user["id"]
    assert "title" not in body and "phoneNumbers" not in body
    query = parse_qs(stack.scim.requests[0]["query"])
    assert query["filter"] == [f'userName eq "{user["userPrincipalName"]}"']


def test_update_patches_only_changed_attributes(
    make_stack: Callable[..., Stack],
) -> None:
    """§7: "update via PATCH Replace ops only for changed attributes"."""
    stack = make_stack()
    user = stack.assigned("bob", given_name="Bob", surname="Ray")
    stack.run(user["id"])

    stack.client.users.update(user["id"], givenName="Robert")
    outcome = stack.run(user["id"])

    assert (outcome.result, outcome.action) == ("Success", "Update")
    patch = stack.scim.writes()[-1]
    assert patch["method"] == "PATCH"
    assert patch["body"]["Operations"] == [
        {"op": "Replace", "path": "name.givenName", "value": "Robert"}
    ]


def test_cleared_source_is_not_sent(make_stack: Callable[..., Stack]) -> None:
    """§4.3 [C]: clearing a source value does not clear the target (no null flows)."""
    stack = make_stack()
    user = stack.assigned("cy", jobTitle="Nurse")
    stack.run(user["id"])

    stack.client.users.update(user["id"], jobTitle=None)
    outcome = stack.run(user["id"])

    assert outcome.result == "Skipped" and outcome.error_code == "RedundantExport"
    assert [w["method"] for w in stack.scim.writes()] == ["POST"]


def test_default_value_applies_on_create_only(make_stack: Callable[..., Stack]) -> None:
    """§4.3 [C]: "Default value if null" is sent only when the user is created."""
    stack = make_stack()
    stack.edit("title", defaultValue="Volunteer")
    user = stack.assigned("dee")
    stack.run(user["id"])
    assert stack.scim.writes()[0]["body"]["title"] == "Volunteer"

    stack.client.users.update(user["id"], surname="Dee")
    stack.run(user["id"])

    operations = stack.scim.writes()[-1]["body"]["Operations"]
    assert [op["path"] for op in operations] == ["name.familyName"]


def test_object_add_only_mapping_is_not_updated(
    make_stack: Callable[..., Stack],
) -> None:
    """§4.3 [C]: "Apply this mapping: Only during creation" (`ObjectAddOnly`)."""
    stack = make_stack()
    stack.edit("displayName", flowType="ObjectAddOnly")
    user = stack.assigned("eve", display_name="Eve One")
    stack.run(user["id"])

    stack.client.users.update(user["id"], displayName="Eve Two")
    outcome = stack.run(user["id"])

    assert outcome.error_code == "RedundantExport"


def test_matching_links_an_existing_target(make_stack: Callable[..., Stack]) -> None:
    """§5 [C]: match on the matching attribute by a SCIM eq filter, then update."""
    stack = make_stack()
    user = stack.user("fin")
    stack.client.apps.assign_user(stack.sp, user["id"])
    existing = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user["userPrincipalName"],
        "active": True,
        "emails": [{"type": "work", "value": "old@openmrs.org", "primary": True}],
    }
    created = httpx.post(
        f"{stack.emulator.context.base_urls['atlassian']}/scim/directory/{DIRECTORY}/Users",
        json=existing,
        headers={"Authorization": f"Bearer {SCIM_TOKEN}"},
        verify=ssl.create_default_context(cafile=str(stack.emulator.context.ca_file)),
    ).json()

    outcome = stack.run(user["id"])

    assert (outcome.action, outcome.target_id) == ("Update", created["id"]), (
        outcome.message
    )
    patch = stack.scim.writes()[-1]
    paths = {op["path"]: op["op"] for op in patch["body"]["Operations"]}
    assert paths[EMAIL] == "Replace" and paths["externalId"] == "Add"
    assert [w["method"] for w in stack.scim.writes()] == ["POST", "PATCH"]


def test_unassigned_user_is_disabled_then_unmanaged(
    make_stack: Callable[..., Stack],
) -> None:
    """§5 [C]: unassignment disables via PATCH active "False" (no aadOptscim062020)
    and the service stops managing the user."""
    stack = make_stack()
    user = stack.assigned("gil")
    stack.run(user["id"])
    [assignment] = stack.client.apps.assignments(stack.sp)

    stack.client.apps.unassign(stack.sp, assignment["id"])
    outcome = stack.run(user["id"])
    again = stack.run(user["id"])

    assert outcome.action == "Disable"
    assert stack.scim.writes()[-1]["body"]["Operations"] == [
        {"op": "Replace", "path": "active", "value": "False"}
    ]
    assert again.result == "Skipped" and len(stack.scim.writes()) == 2


def test_boolean_style_setting(make_stack: Callable[..., Stack]) -> None:
    """Assumption `scim_boolean_style` (§8.6 [U]): boolean sends `false`."""
    stack = make_stack(scim_boolean_style="boolean")
    user = stack.assigned("hana")
    stack.run(user["id"])
    stack.client.users.update(user["id"], accountEnabled=False)

    stack.run(user["id"])

    assert stack.scim.writes()[-1]["body"]["Operations"] == [
        {"op": "replace", "path": "active", "value": False}
    ]


def test_boolean_style_lowercases_every_patch_op(
    make_stack: Callable[..., Stack],
) -> None:
    """§5 [C]: with `aadOptscim062020` (the `scim_boolean_style` "boolean"
    assumption) the ops are lower-case, for attribute updates as for disables."""
    stack = make_stack(scim_boolean_style="boolean")
    user = stack.assigned("ines", given_name="Ines", surname="Roe")
    stack.run(user["id"])
    stack.client.users.update(user["id"], givenName="Inez")

    stack.run(user["id"])

    assert stack.scim.writes()[-1]["body"]["Operations"] == [
        {"op": "replace", "path": "name.givenName", "value": "Inez"}
    ]


def test_soft_delete_disables_and_purge_deletes(
    make_stack: Callable[..., Stack],
) -> None:
    """§5 [C]: soft-deleted → disable; permanently deleted → DELETE in the target."""
    stack = make_stack()
    user = stack.assigned("ivy")
    stack.run(user["id"])
    stack.client.provisioning.start(stack.sp, stack.job)
    stack.client.run_cycle_now(stack.job)
    stack.client.users.delete(user["id"])

    stack.client.run_cycle_now(stack.job)
    stack.client.users.purge(user["id"])
    stack.client.run_cycle_now(stack.job)

    methods = [w["method"] for w in stack.scim.writes()]
    assert methods == ["POST", "PATCH", "DELETE"]


def test_multi_valued_source_into_single_valued_target(
    make_stack: Callable[..., Stack],
) -> None:
    """§4.4 [C]: SchemaPropertyCanOnlyAcceptValue; one value is the `allow` [U]."""
    strict = make_stack()
    strict.edit(
        "title",
        source={
            "expression": "[otherMails]",
            "name": "otherMails",
            "type": "Attribute",
            "parameters": [],
        },
    )
    user = strict.assigned("jo", other_mails=["jo@x.org"])
    outcome = strict.run(user["id"])
    assert (outcome.result, outcome.error_code) == (
        "Failure",
        "SchemaPropertyCanOnlyAcceptValue",
    )
    assert strict.scim.writes() == []

    lenient = make_stack(multi_valued_single_value="allow")
    lenient.edit(
        "title",
        source={
            "expression": "[otherMails]",
            "name": "otherMails",
            "type": "Attribute",
            "parameters": [],
        },
    )
    user = lenient.assigned("jo", other_mails=["jo@x.org"])
    assert lenient.run(user["id"]).result == "Success"
    assert lenient.scim.writes()[0]["body"]["title"] == "jo@x.org"


def test_expression_failure_is_reported(make_stack: Callable[..., Stack]) -> None:
    """§4.2 [C]: IIF fails when its source attribute is null."""
    stack = make_stack()
    stack.client.provisioning.set_mapping_expression(
        stack.sp, stack.job, "title", 'IIF([department]="IT", "Tech", "Other")'
    )
    user = stack.assigned("kai")

    outcome = stack.run(user["id"])

    assert outcome.result == "Failure" and outcome.error_code
    logs = stack.client.provisioning.logs_for_user(user["id"])
    assert logs[0]["provisioningStatusInfo"]["status"] == "failure"


def test_failures_are_escrowed_and_retried(make_stack: Callable[..., Stack]) -> None:
    """§5 [C]: a failed object is retried in later cycles until it succeeds."""
    stack = make_stack()
    stack.client.provisioning.start(stack.sp, stack.job)
    stack.client.run_cycle_now(stack.job)
    user = stack.assigned("lou")
    stack.scim.fail_next = [200, 500]  # the probe passes, the import fails

    first = stack.client.run_cycle_now(stack.job)[0]["lastExecution"]
    second = stack.client.run_cycle_now(stack.job)[0]["lastExecution"]
    third = stack.client.run_cycle_now(stack.job)[0]["lastExecution"]

    assert first["state"] == "EntryLevelErrors" and first["countEscrowed"] == 1
    assert second["state"] == "Succeeded" and second["countExported"] == 1
    assert third["countImported"] == 0
    entries = stack.client.provisioning.logs_for_user(user["id"])
    assert [e["provisioningStatusInfo"]["status"] for e in entries] == [
        "success",
        "failure",
    ]


def test_group_wire_format(make_stack: Callable[..., Stack]) -> None:
    """§5 [C]: groups are queried with an `eq` filter on the matching attribute
    (`displayName`, §4.5 [C]) and `excludedAttributes=members`; the group is
    created with POST /Groups, then its provisioned members are added with one
    PATCH `Add` of `members` (atlassian.md §1.6 [C] form, op capitalised without
    aadOptscim062020, §5 [C])."""
    stack = make_stack()
    user = stack.assigned("gus")
    member = stack.run(user["id"]).target_id
    group = stack.client.apps.create_group("team")
    stack.client.apps.add_member(group["id"], user["id"])
    stack.client.apps.assign_group(stack.sp, group["id"])
    stack.scim.requests.clear()

    outcome = stack.client.provisioning.provision_on_demand(
        stack.sp, group["id"], stack.job, object_type="Group", members=[]
    )

    assert (outcome.result, outcome.action) == ("Success", "Create"), outcome.message
    query = parse_qs(stack.scim.requests[0]["query"])
    assert query["filter"] == [f'displayName eq "{group["displayName"]}"']
    assert query["excludedAttributes"] == ["members"]
    post, patch = stack.scim.writes()
    assert post["path"].endswith("/Groups") and "members" not in post["body"]
    assert post["body"]["displayName"] == group["displayName"]
    assert post["body"]["externalId"] == group["id"]
    assert patch["method"] == "PATCH"
    assert patch["body"]["Operations"] == [
        {"op": "Add", "path": "members", "value": [{"value": member}]}
    ]


def test_group_out_of_scope_setting(make_stack: Callable[..., Stack]) -> None:
    """`group_out_of_scope` [U]: `keep` leaves an unassigned group in the target
    and stops managing it; the default `delete` sends DELETE /Groups/{id}."""
    for setting, deleted in (("keep", False), ("delete", True)):
        stack = make_stack(group_out_of_scope=setting)
        group = stack.client.apps.create_group(f"left-{setting}")
        assignment = stack.client.apps.assign_group(stack.sp, group["id"])
        created = stack.client.provisioning.provision_on_demand(
            stack.sp, group["id"], stack.job, object_type="Group"
        )
        assert created.action == "Create", created.message
        stack.client.apps.unassign(stack.sp, assignment["id"])

        left = stack.client.provisioning.provision_on_demand(
            stack.sp, group["id"], stack.job, object_type="Group"
        )

        deletes = [r for r in stack.scim.writes() if r["method"] == "DELETE"]
        assert bool(deletes) is deleted
        assert left.result == ("Success" if deleted else "Skipped"), left.message
