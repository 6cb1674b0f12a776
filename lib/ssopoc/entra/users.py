"""Users in the tenant: create (with the run's prefix), find, update, delete, purge.

Permissions (microsoft.md §2.1, §2.4 [C]): `User.ReadWrite.All` to create and
update; `User.DeleteRestore.All` (or `User.ReadWrite.All`) to delete, restore and
purge. Every user the workbook creates has a userPrincipalName starting with the
run's prefix, so clean-up removes only the workbook's own users.
"""

from __future__ import annotations

import secrets
import string
from typing import TYPE_CHECKING, Any

from ssopoc import redact

if TYPE_CHECKING:
    from ssopoc.entra.client import EntraClient

WRITE = "User.ReadWrite.All"
DELETE = "User.DeleteRestore.All"
DETAIL = (
    "id,displayName,givenName,surname,userPrincipalName,mail,otherMails,"
    "accountEnabled,onPremisesExtensionAttributes"
)


def _password() -> str:
    """A random password meeting Entra's complexity rule; registered as secret."""
    alphabet = string.ascii_letters + string.digits
    value = "".join(secrets.choice(alphabet) for _ in range(20)) + "!a1Z"
    redact.register(value)
    return value


def _quote(value: str) -> str:
    return value.replace("'", "''")


class Users:
    """`client.users`: Graph `/users` and `/directory/deletedItems`."""

    def __init__(self, client: EntraClient) -> None:
        self.client = client

    def upn(self, alias: str) -> str:
        """The UPN the workbook gives `alias`: `<prefix><alias>@<domain>`."""
        return f"{self.client.prefix}{alias}@{self.client.domain()}"

    def create(
        self,
        alias: str,
        *,
        display_name: str | None = None,
        given_name: str | None = None,
        surname: str | None = None,
        mail: str | None = None,
        other_mails: list[str] | None = None,
        extension_attributes: dict[int, str] | None = None,
        enabled: bool = True,
        **properties: Any,
    ) -> dict[str, Any]:
        """Create a cloud-only user named with the run prefix; return it with `$select`.

        `extension_attributes` maps 1..15 to `onPremisesExtensionAttributes`
        values (writable for cloud-only users, microsoft.md §2.2 [C]). Raises
        `GraphRequestError` for a refused value (e.g. a duplicate
        userPrincipalName) and `GraphPermissionError` without `User.ReadWrite.All`.
        """
        upn = self.upn(alias)
        body: dict[str, Any] = {
            "accountEnabled": enabled,
            "displayName": display_name or f"{self.client.prefix}{alias}",
            "mailNickname": upn.split("@")[0][:64],
            "userPrincipalName": upn,
            "passwordProfile": {
                "password": _password(),
                "forceChangePasswordNextSignIn": True,
            },
            **properties,
        }
        optional = {
            "givenName": given_name,
            "surname": surname,
            "mail": mail,
            "otherMails": other_mails,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if extension_attributes:
            body["onPremisesExtensionAttributes"] = {
                f"extensionAttribute{n}": v for n, v in extension_attributes.items()
            }
        created = self.client.call("POST", "/users", permission=WRITE, body=body)
        return self.get(created["id"])

    def get(self, key: str, select: str = DETAIL) -> dict[str, Any]:
        """A user by id or userPrincipalName, with `select`ed properties."""
        found: dict[str, Any] = self.client.call(
            "GET",
            f"/users/{key}",
            permission="User.Read.All",
            params={"$select": select},
        )
        return found

    def find(
        self,
        *,
        upn: str | None = None,
        mail: str | None = None,
        prefix: str | None = None,
        select: str = DETAIL,
    ) -> list[dict[str, Any]]:
        """Users whose UPN or mail equals, or whose UPN starts with, a value."""
        clauses = []
        if upn:
            clauses.append(f"userPrincipalName eq '{_quote(upn)}'")
        if mail:
            clauses.append(f"mail eq '{_quote(mail)}'")
        if prefix:
            clauses.append(f"startswith(userPrincipalName,'{_quote(prefix)}')")
        params = {"$select": select}
        if clauses:
            params["$filter"] = " and ".join(clauses)
        return list(
            self.client.pages("/users", permission="User.Read.All", params=params)
        )

    def mine(self) -> list[dict[str, Any]]:
        """The users this run created (their UPN starts with the run prefix)."""
        return self.find(prefix=self.client.prefix)

    def update(self, key: str, **changes: Any) -> None:
        """PATCH a user (`204`), e.g. `update(id, mail="x@y.org")`."""
        self.client.call("PATCH", f"/users/{key}", permission=WRITE, body=changes)

    def set_extension_attribute(self, key: str, number: int, value: str | None) -> None:
        """Set `onPremisesExtensionAttributes.extensionAttribute<number>`."""
        if not 1 <= number <= 15:
            raise ValueError(f"extension attribute number {number} is not in 1..15")
        attributes = {f"extensionAttribute{number}": value}
        self.update(key, onPremisesExtensionAttributes=attributes)

    def delete(self, key: str) -> None:
        """Soft-delete a user into deleted items (restorable for 30 days)."""
        self.client.call("DELETE", f"/users/{key}", permission=DELETE)

    def restore(self, user_id: str) -> dict[str, Any]:
        """Restore a soft-deleted user."""
        restored: dict[str, Any] = self.client.call(
            "POST", f"/directory/deletedItems/{user_id}/restore", permission=DELETE
        )
        return restored

    def purge(self, user_id: str) -> None:
        """Permanently delete a soft-deleted user (irreversible)."""
        self.client.call(
            "DELETE", f"/directory/deletedItems/{user_id}", permission=DELETE
        )

    def deleted(self) -> list[dict[str, Any]]:
        """Soft-deleted users whose UPN starts with the run prefix."""
        every = self.client.pages(
            "/directory/deletedItems/microsoft.graph.user", permission=DELETE
        )
        return [
            u
            for u in every
            if str(u.get("userPrincipalName", "")).startswith(self.client.prefix)
        ]

    def clean_up(self) -> int:
        """Delete and purge every user of this run; return how many."""
        count = 0
        for user in self.mine():
            self.delete(user["id"])
        for user in self.deleted():
            self.purge(user["id"])
            count += 1
        return count
