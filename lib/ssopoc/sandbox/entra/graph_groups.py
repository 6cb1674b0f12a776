"""Graph app role assignments (who is assigned to an app) and groups.

Facts: microsoft.md §3.1 [C]: assign a user or group with `POST
/servicePrincipals/{id}/appRoleAssignedTo` (`AppRoleAssignment.ReadWrite.All`);
users assigned the gallery app's default role are provisioned. Groups and their
direct members are emulated as far as provisioning needs them (nested groups are
not supported by provisioning, §5 [C]); changes to a group, its members or its
assignment mark the group and its members changed for incremental cycles.
"""

from __future__ import annotations

from typing import Any

from ssopoc.sandbox.entra.errors import bad_request, not_found
from ssopoc.sandbox.entra.graph_apps import APP_READ, DIR_READ, ApplicationsApi, shown
from ssopoc.sandbox.entra.routing import (
    Call,
    Reply,
    Router,
    need,
    page_size,
    paged,
)
from ssopoc.sandbox.entra.store import Tenant

ASSIGN = need("AppRoleAssignment.ReadWrite.All")
GROUP_READ = need(
    "Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", *DIR_READ
)
GROUP_WRITE = need("Group.ReadWrite.All", "Directory.ReadWrite.All")
MEMBER_WRITE = need("GroupMember.ReadWrite.All", "Group.ReadWrite.All")
# Graph's "default access" app role: an assignment without a specific role.
DEFAULT_ACCESS = "00000000-0000-0000-0000-000000000000"


class AssignmentsApi:
    """Routes for app role assignments, groups and group members."""

    def __init__(self, tenant: Tenant, base_url: str, apps: ApplicationsApi) -> None:
        self.tenant = tenant
        self.base_url = base_url
        self.apps = apps

    def routes(self, router: Router) -> None:
        """Register the routes."""
        add = router.add
        for prefix in (
            "/servicePrincipals(appId='{appId}')",
            "/servicePrincipals/{sp}",
        ):
            add("GET", f"{prefix}/appRoleAssignedTo", self.assigned_to, APP_READ)
            add("POST", f"{prefix}/appRoleAssignedTo", self.assign, ASSIGN)
            one = f"{prefix}/appRoleAssignedTo/{{assignment}}"
            add("DELETE", one, self.unassign, ASSIGN)
            add("GET", f"{prefix}/appRoleAssignments", self.assignments_of, APP_READ)
            add("POST", f"{prefix}/appRoleAssignments", self.assign, ASSIGN)
        for kind in ("users", "groups"):
            path = f"/{kind}/{{principal}}/appRoleAssignments"
            add("GET", path, self.assignments_of, APP_READ)
        add("POST", "/groups", self.create_group, GROUP_WRITE)
        add("GET", "/groups", self.list_groups, GROUP_READ)
        add("GET", "/groups/{group}", self.get_group, GROUP_READ)
        add("DELETE", "/groups/{group}", self.delete_group, GROUP_WRITE)
        add("GET", "/groups/{group}/members", self.members, GROUP_READ)
        add("POST", "/groups/{group}/members/$ref", self.add_member, MEMBER_WRITE)
        member = "/groups/{group}/members/{member}/$ref"
        add("DELETE", member, self.remove_member, MEMBER_WRITE)

    # -- app role assignments (§3.1 [C]) -------------------------------------------

    def assigned_to(self, call: Call) -> Reply:
        """`GET .../appRoleAssignedTo`: who is assigned to this service principal."""
        sp = self.apps.service_principal(call)
        items = [
            a
            for a in self.tenant.collection("appRoleAssignments").values()
            if a["resourceId"] == sp["id"]
        ]
        return paged(
            call, self.base_url, items, page_size(call, 100, 999), "appRoleAssignments"
        )

    def assignments_of(self, call: Call) -> Reply:
        """`GET .../appRoleAssignments`: what a principal is assigned to."""
        principal = call.params.get("principal")
        if principal is None:
            principal = self.apps.service_principal(call)["id"]
        items = [
            a
            for a in self.tenant.collection("appRoleAssignments").values()
            if a["principalId"] == principal
        ]
        return paged(
            call, self.base_url, items, page_size(call, 100, 999), "appRoleAssignments"
        )

    def assign(self, call: Call) -> Reply:
        """`POST .../appRoleAssignedTo` → `201` (§3.1 [C])."""
        body = call.json_object()
        with self.tenant.lock:
            resource = self.apps.find(
                "servicePrincipals", str(body.get("resourceId")), None
            )
            principal_id = str(body.get("principalId"))
            principal, kind = self._principal(principal_id)
            role_id = str(body.get("appRoleId") or DEFAULT_ACCESS)
            roles = {r["id"] for r in resource.get("appRoles", [])} | {DEFAULT_ACCESS}
            if role_id not in roles:
                raise bad_request(
                    "Permission being assigned was not found on application "
                    f"'{resource['appId']}'."
                )
            existing = self.tenant.collection("appRoleAssignments").values()
            if any(
                a["principalId"] == principal_id
                and a["resourceId"] == resource["id"]
                and a["appRoleId"] == role_id
                for a in existing
            ):
                raise bad_request(
                    "Permission being assigned already exists on the object",
                    details=[{"target": "appRoleAssignments", "code": "InvalidUpdate"}],
                )
            assignment = {
                "id": self.tenant.new_hex()[:43],
                "appRoleId": role_id,
                "createdDateTime": self.tenant.stamp(),
                "deletedDateTime": None,
                "principalDisplayName": principal.get("displayName"),
                "principalId": principal_id,
                "principalType": kind,
                "resourceDisplayName": resource["displayName"],
                "resourceId": resource["id"],
            }
            self.tenant.collection("appRoleAssignments")[assignment["id"]] = assignment
            self._touch_principal(principal_id, kind)
            self.tenant.save()
        context = call.context("appRoleAssignments/$entity")
        return Reply(201, {"@odata.context": context, **assignment})

    def _principal(self, principal_id: str) -> tuple[dict[str, Any], str]:
        for collection, kind in (
            ("users", "User"),
            ("groups", "Group"),
            ("servicePrincipals", "ServicePrincipal"),
        ):
            found = self.tenant.collection(collection).get(principal_id)
            if found is not None:
                return found, kind
        raise not_found(principal_id)

    def _touch_principal(self, principal_id: str, kind: str) -> None:
        if kind == "User":
            self.tenant.touch(principal_id)
        elif kind == "Group":
            members = self.tenant.collection("groups")[principal_id]["members"]
            self.tenant.touch(principal_id, *members)

    def unassign(self, call: Call) -> Reply:
        """`DELETE .../appRoleAssignedTo/{id}` → `204`."""
        with self.tenant.lock:
            sp = self.apps.service_principal(call)
            items = self.tenant.collection("appRoleAssignments")
            found = items.get(call.params["assignment"])
            if found is None or found["resourceId"] != sp["id"]:
                raise not_found(call.params["assignment"])
            del items[found["id"]]
            self._touch_principal(found["principalId"], found["principalType"])
            self.tenant.save()
        return Reply(204)

    # -- groups --------------------------------------------------------------------

    def _group(self, key: str) -> dict[str, Any]:
        found = self.tenant.collection("groups").get(key)
        if found is None:
            raise not_found(key)
        return found

    def create_group(self, call: Call) -> Reply:
        """`POST /groups` → `201` (a security group)."""
        body = call.json_object()
        for name in ("displayName", "mailNickname"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise bad_request(
                    f"Property '{name}' is required when creating the object."
                )
        with self.tenant.lock:
            group = {
                "id": self.tenant.new_id(),
                "createdDateTime": self.tenant.stamp(),
                "description": body.get("description"),
                "displayName": body["displayName"],
                "mailEnabled": bool(body.get("mailEnabled", False)),
                "mailNickname": body["mailNickname"],
                "securityEnabled": bool(body.get("securityEnabled", True)),
                "members": [],
            }
            self.tenant.collection("groups")[group["id"]] = group
            self.tenant.touch(group["id"])
            self.tenant.save()
        return Reply(
            201, {"@odata.context": call.context("groups/$entity"), **shown(group)}
        )

    def list_groups(self, call: Call) -> Reply:
        """`GET /groups`."""
        items = list(self.tenant.collection("groups").values())
        return self.apps.listed(call, items, "groups", "group")

    def get_group(self, call: Call) -> Reply:
        """`GET /groups/{id}`."""
        return Reply(200, shown(self._group(call.params["group"])))

    def delete_group(self, call: Call) -> Reply:
        """`DELETE /groups/{id}` → `204`."""
        with self.tenant.lock:
            group = self._group(call.params["group"])
            del self.tenant.collection("groups")[group["id"]]
            self.tenant.touch(*group["members"])
            self.tenant.save()
        return Reply(204)

    def members(self, call: Call) -> Reply:
        """`GET /groups/{id}/members`."""
        group = self._group(call.params["group"])
        users = self.tenant.collection("users")
        items = [
            {
                "@odata.type": "#microsoft.graph.user",
                "id": m,
                "displayName": users[m]["displayName"],
                "userPrincipalName": users[m]["userPrincipalName"],
            }
            for m in group["members"]
            if m in users
        ]
        return paged(
            call, self.base_url, items, page_size(call, 100, 999), "directoryObjects"
        )

    def add_member(self, call: Call) -> Reply:
        """`POST /groups/{id}/members/$ref` with `@odata.id` → `204`."""
        reference = str(call.json_object().get("@odata.id", ""))
        member = reference.rstrip("/").rsplit("/", 1)[-1]
        with self.tenant.lock:
            group = self._group(call.params["group"])
            if member not in self.tenant.collection("users"):
                raise not_found(member)
            if member in group["members"]:
                raise bad_request(
                    "One or more added object references already exist for the "
                    "following modified properties: 'members'."
                )
            group["members"].append(member)
            self.tenant.touch(member, group["id"])
            self.tenant.save()
        return Reply(204)

    def remove_member(self, call: Call) -> Reply:
        """`DELETE /groups/{id}/members/{member}/$ref` → `204`."""
        with self.tenant.lock:
            group = self._group(call.params["group"])
            member = call.params["member"]
            if member not in group["members"]:
                raise not_found(member)
            group["members"].remove(member)
            self.tenant.touch(member, group["id"])
            self.tenant.save()
        return Reply(204)
