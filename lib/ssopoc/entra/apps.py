"""Enterprise apps and who is assigned to them; groups for group assignment.

Facts: microsoft.md §3.1 (assign with `appRoleAssignedTo`, permission
`AppRoleAssignment.ReadWrite.All`; users assigned the app's default role are
provisioned), §3.2 (find the service principal by display name).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ssopoc.entra.errors import GraphNotFoundError

if TYPE_CHECKING:
    from ssopoc.entra.client import EntraClient

READ = "Application.Read.All"
ASSIGN = "AppRoleAssignment.ReadWrite.All"
GROUPS = "Group.ReadWrite.All"
DEFAULT_ACCESS = "00000000-0000-0000-0000-000000000000"


class Applications:
    """`client.apps`: service principals, app role assignments, groups."""

    def __init__(self, client: EntraClient) -> None:
        self.client = client

    def enterprise_app(self, name: str = "Atlassian Cloud") -> dict[str, Any]:
        """The service principal (enterprise app) with this display name.

        Raises `GraphNotFoundError` naming the fix when there is none.
        """
        params = {"$filter": f"displayName eq '{name.replace(chr(39), chr(39) * 2)}'"}
        found = list(
            self.client.pages("/servicePrincipals", permission=READ, params=params)
        )
        if not found:
            raise GraphNotFoundError(
                f"no enterprise app named {name!r}",
                status=404,
                code="Request_ResourceNotFound",
                next_action=f"add {name!r} from the app gallery (README, Live mode)",
            )
        return found[0]

    def user_role(self, sp: dict[str, Any]) -> str:
        """The app role to assign users: the app's "User" role, else default access."""
        for role in sp.get("appRoles", []):
            if role.get("displayName") == "User" and "User" in role.get(
                "allowedMemberTypes", []
            ):
                return str(role["id"])
        return DEFAULT_ACCESS

    def _assign(
        self, sp_id: str, principal_id: str, role: str | None
    ) -> dict[str, Any]:
        sp = self.client.call("GET", f"/servicePrincipals/{sp_id}", permission=READ)
        body = {
            "principalId": principal_id,
            "resourceId": sp_id,
            "appRoleId": role or self.user_role(sp),
        }
        assignment: dict[str, Any] = self.client.call(
            "POST",
            f"/servicePrincipals/{sp_id}/appRoleAssignedTo",
            permission=ASSIGN,
            body=body,
        )
        return assignment

    def assign_user(
        self, sp_id: str, user_id: str, role: str | None = None
    ) -> dict[str, Any]:
        """Assign a user to the enterprise app; returns the assignment."""
        return self._assign(sp_id, user_id, role)

    def assign_group(
        self, sp_id: str, group_id: str, role: str | None = None
    ) -> dict[str, Any]:
        """Assign a group (its direct members come into scope, §5 [C])."""
        return self._assign(sp_id, group_id, role)

    def assignments(self, sp_id: str) -> list[dict[str, Any]]:
        """Everyone assigned to the enterprise app."""
        return list(
            self.client.pages(
                f"/servicePrincipals/{sp_id}/appRoleAssignedTo", permission=READ
            )
        )

    def unassign(self, sp_id: str, assignment_id: str) -> None:
        """Remove one assignment."""
        self.client.call(
            "DELETE",
            f"/servicePrincipals/{sp_id}/appRoleAssignedTo/{assignment_id}",
            permission=ASSIGN,
        )

    def create_group(self, alias: str) -> dict[str, Any]:
        """A security group named with the run prefix."""
        name = f"{self.client.prefix}{alias}"
        body = {
            "displayName": name,
            "mailNickname": name[:64],
            "mailEnabled": False,
            "securityEnabled": True,
        }
        group: dict[str, Any] = self.client.call(
            "POST", "/groups", permission=GROUPS, body=body
        )
        return group

    def add_member(self, group_id: str, user_id: str) -> None:
        """Add a user to a group."""
        reference = f"https://graph.microsoft.com/v1.0/directoryObjects/{user_id}"
        self.client.call(
            "POST",
            f"/groups/{group_id}/members/$ref",
            permission=GROUPS,
            body={"@odata.id": reference},
        )

    def remove_member(self, group_id: str, user_id: str) -> None:
        """Remove a user from a group."""
        self.client.call(
            "DELETE", f"/groups/{group_id}/members/{user_id}/$ref", permission=GROUPS
        )

    def delete_group(self, group_id: str) -> None:
        """Delete a group."""
        self.client.call("DELETE", f"/groups/{group_id}", permission=GROUPS)
