"""One SCIM directory of the org: its records, groups and account links.

Records are kept as the JSON the SCIM models dump. The Atlassian rules on top of
plain SCIM live here (atlassian.md §8 Users, Groups; §1.5, §1.6, §3):

- uniqueness across the org's directories, answered with Atlassian's 409 body;
- linking a new record to the account holding its primary email, or creating a
  managed or external account;
- the email-change rules (update the managed account, or unlink, drop the SCIM
  groups and write the troubleshooting-log line);
- `active:false` and DELETE semantics, and the directory and group size limits.
"""

from __future__ import annotations

from typing import Any

from scim2_models import (
    Error,
    InvalidValueException,
    NotFoundException,
    SCIMException,
    TooManyException,
    UniquenessException,
)

from ssopoc.atlassian.models import ENTERPRISE_SCHEMA
from ssopoc.sandbox.atlassian.tenant import Tenant, stamp


def primary_email(record: dict[str, Any]) -> str | None:
    """The record's primary email, else its work email, else its first one."""
    emails = record.get("emails") or []
    for rule in ("primary", "work", "any"):
        for email in emails:
            if rule == "any" or (
                email.get("primary") if rule == "primary" else email.get("type") == rule
            ):
                value = email.get("value")
                return str(value) if value else None
    return None


def display_name(record: dict[str, Any]) -> str:
    """The name an account gets from a record: displayName, name, or userName."""
    name = record.get("name") or {}
    joined = " ".join(
        part for part in (name.get("givenName"), name.get("familyName")) if part
    )
    chosen = record.get("displayName") or name.get("formatted") or joined
    return str(chosen or record.get("userName") or "")


def uniqueness(email: str | None) -> UniquenessException:
    """Atlassian's 409 for a taken user (KBFAILUPD, KB409): it names the email."""
    return UniquenessException(
        detail=f"Resource [USER]: with email[{email or ''}] already exists."
    )


def scim_error(status: int, scim_type: str | None, detail: str) -> SCIMException:
    """A SCIM error with any `scimType` (for the (U) codes that are settings)."""
    error = Error(status=status, scim_type=scim_type or None, detail=detail)
    return SCIMException.from_error(error)


class Directory:
    """The SCIM view of one directory in the tenant document."""

    def __init__(self, tenant: Tenant, directory_id: str) -> None:
        self.tenant = tenant
        self.id = directory_id
        self.data: dict[str, Any] = tenant.doc["directories"][directory_id]

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        """Live records by SCIM id."""
        users: dict[str, dict[str, Any]] = self.data["users"]
        return users

    @property
    def groups(self) -> dict[str, dict[str, Any]]:
        """Groups by SCIM id."""
        groups: dict[str, dict[str, Any]] = self.data["groups"]
        return groups

    @property
    def links(self) -> dict[str, str | None]:
        """The account each record is linked to (None when unlinked)."""
        links: dict[str, str | None] = self.data["links"]
        return links

    # -- users ----------------------------------------------------------------

    def user(self, user_id: str) -> dict[str, Any]:
        """A live record; deleted and unknown ids are 404 (§8 GET /Users/{id})."""
        record = self.users.get(user_id)
        if record is None:
            raise NotFoundException(detail=f"User {user_id} does not exist")
        return record

    def find_users(self, attribute: str, value: str) -> list[dict[str, Any]]:
        """Records whose `userName` or `externalId` equals `value`."""
        if attribute == "externalId":
            return [u for u in self.users.values() if u.get("externalId") == value]
        wanted = self.tenant.key(value)
        return [
            u for u in self.users.values() if self.tenant.key(u["userName"]) == wanted
        ]

    def check_unique(self, record: dict[str, Any], own_id: str | None) -> None:
        """Refuse a record whose userName, primary email or externalId is taken.

        The check covers every directory of the org, including records that
        legacy DELETE hid (stale records, [S] KBFAILUPD). The externalId part is
        the `unique_external_id` assumption.
        """
        key = self.tenant.key
        email = primary_email(record)
        for directory in self.tenant.doc["directories"].values():
            stored = {**directory["users"], **directory["hidden"]}
            for other_id, other in stored.items():
                if other_id == own_id:
                    continue
                other_email = primary_email(other)
                if (
                    key(other["userName"]) == key(record["userName"])
                    or (email and other_email and key(email) == key(other_email))
                    or (
                        self.tenant.assumptions.unique_external_id
                        and record.get("externalId")
                        and other.get("externalId") == record.get("externalId")
                    )
                ):
                    raise uniqueness(email)

    def create_user(self, record: dict[str, Any]) -> dict[str, Any]:
        """Store a new record and link it (§8 POST /Users, Account linking)."""
        self.check_unique(record, None)
        limit = self.tenant.assumptions.max_users_per_directory
        over = len(self.users) >= limit
        if over and self.tenant.assumptions.over_limit == "reject":
            raise TooManyException(detail=f"directory holds {limit} users, the limit")

        record = {**record, "id": self.tenant.new_uuid("user")}
        record.setdefault("active", True)
        created = stamp()
        record["meta"] = {"resourceType": "User", "created": created}
        record["meta"]["lastModified"] = created
        self.users[record["id"]] = record
        self.links[record["id"]] = None
        if over:
            self.tenant.log(f"User with ID {record['id']} not synced: {limit} users")
        elif record["active"]:
            self.links[record["id"]] = self._link(record)
        return record

    def _link(self, record: dict[str, Any]) -> str | None:
        """Link to the account holding the email, or create one, or none (U)."""
        email = primary_email(record) or ""
        account = self.tenant.account_by_email(email)
        if account is None and self.tenant.is_claimed(email):
            account = self.tenant.create_account(
                email, display_name(record), verified=True, source="scim"
            )
        if account is None:
            if self.tenant.assumptions.external_account_on_create != "create":
                return None
            account = self.tenant.create_account(
                email, display_name(record), verified=False, source="scim"
            )
        self.tenant.join(account["account_id"], "synced")
        self.tenant.reactivate(account["account_id"])
        return str(account["account_id"])

    def replace_user(
        self, user_id: str, record: dict[str, Any], *, patch: bool
    ) -> dict[str, Any]:
        """Apply a PUT or PATCH result to a record (§8 PUT, PATCH, email change).

        A PUT clears what it leaves out, except the extensions (§8 PUT).
        """
        old = self.user(user_id)
        record = {**record, "id": user_id, "meta": dict(old["meta"])}
        if not patch and ENTERPRISE_SCHEMA in old:
            record.setdefault(ENTERPRISE_SCHEMA, old[ENTERPRISE_SCHEMA])
        record.setdefault("active", True)
        self.check_unique(record, user_id)
        account_id = self.links.get(user_id)
        old_email, new_email = primary_email(old), primary_email(record)
        if new_email and old_email and new_email.lower() != old_email.lower():
            account_id = self._change_email(user_id, account_id, new_email)
        elif account_id:
            self._update_profile(user_id, account_id, old, record)

        if account_id and old.get("active", True) and not record["active"]:
            self.tenant.deactivate(account_id)
        elif record["active"] and not old.get("active", True):
            if account_id:
                self.tenant.reactivate(account_id)
            else:
                account_id = self._link(record)
        self.links[user_id] = account_id
        record["meta"]["lastModified"] = stamp()
        self.users[user_id] = record
        return record

    def _change_email(self, user_id: str, account_id: str | None, email: str) -> Any:
        """The email-change rules of §8; return the account the record keeps."""
        holder = self.tenant.account_by_email(email)
        if holder is not None and holder["account_id"] != account_id:
            raise uniqueness(email)
        account = self.tenant.account(account_id)
        if account is None:
            return None
        if self.tenant.is_managed(account) and self.tenant.is_claimed(email):
            account["email"] = email
            return account_id
        self.remove_from_groups(user_id)
        self.tenant.log(
            f"Email update to unmanaged user with ID {user_id}, primary email "
            f"{email}, unlinked any associated atlassian account."
        )
        return None

    def _update_profile(
        self,
        user_id: str,
        account_id: str,
        old: dict[str, Any],
        new: dict[str, Any],
    ) -> None:
        """Managed accounts take the new name; external profiles never change."""
        account = self.tenant.accounts[account_id]
        if self.tenant.is_managed(account):
            account["name"] = display_name(new)
            return
        ignored = {"meta", "active"}
        changed = {k: v for k, v in new.items() if k not in ignored} != {
            k: v for k, v in old.items() if k not in ignored
        }
        if changed and self.tenant.assumptions.external_update_drops_groups:
            self.remove_from_groups(user_id)
            self.tenant.log(
                f"Update to unmanaged user with ID {user_id}: removed from the "
                "SCIM groups of the directory."
            )

    def delete_user(self, user_id: str) -> None:
        """DELETE /Users/{id} under the `delete_semantics` setting (§8, §1.5)."""
        record = self.user(user_id)
        account_id = self.links.get(user_id)
        self.remove_from_groups(user_id)
        if self.tenant.assumptions.delete_semantics == "legacy":
            if account_id:
                self.tenant.deactivate(account_id)
            self.data["hidden"][user_id] = {**record, "active": False}
            del self.users[user_id]
            return
        account = self.tenant.account(account_id)
        if account is not None and self.tenant.is_managed(account):
            account["account_status"] = "inactive"
        del self.users[user_id]
        del self.links[user_id]

    def groups_of_user(self, user_id: str) -> list[dict[str, Any]]:
        """The read-only `groups` of a record."""
        return [
            {"value": group["id"], "display": group["displayName"], "type": "direct"}
            for group in self.groups.values()
            if any(m.get("value") == user_id for m in group.get("members", []))
        ]

    def remove_from_groups(self, user_id: str) -> None:
        """Take a record out of every SCIM group of this directory."""
        for group in self.groups.values():
            members = group.get("members", [])
            kept = [m for m in members if m.get("value") != user_id]
            if len(kept) != len(members):
                group["members"] = kept
                group["meta"]["lastModified"] = stamp()

    # -- groups ---------------------------------------------------------------

    def group(self, group_id: str) -> dict[str, Any]:
        """A group, or 404."""
        group = self.groups.get(group_id)
        if group is None:
            raise NotFoundException(detail=f"Group {group_id} does not exist")
        return group

    def find_groups(self, name: str) -> list[dict[str, Any]]:
        """Groups whose displayName equals `name` (case rule of the settings)."""
        return [g for g in self.groups.values() if self._same_name(g, name)]

    def _same_name(self, group: dict[str, Any], name: str) -> bool:
        if self.tenant.assumptions.group_name_case_insensitive:
            return str(group["displayName"]).lower() == name.lower()
        return bool(group["displayName"] == name)

    def _check_members(self, members: list[dict[str, Any]], status: int) -> None:
        for member in members:
            if member.get("value") not in self.users:
                if status == 404:
                    raise NotFoundException(
                        detail="directory, group, or user does not exist"
                    )
                raise InvalidValueException(detail="the users referenced do not exist")
        limit = self.tenant.assumptions.max_members_per_group
        if len(members) > limit:
            raise TooManyException(detail=f"a group holds at most {limit} members")

    def create_group(self, record: dict[str, Any]) -> dict[str, Any]:
        """POST /Groups: 409 when the name exists in the org (§8 Groups, ACC1369)."""
        name = str(record["displayName"])
        taken = any(
            self._same_name(group, name)
            for directory in self.tenant.doc["directories"].values()
            for group in directory["groups"].values()
        ) or any(
            self._same_name({"displayName": other}, name)
            for other in self.tenant.org["group_names"]
        )
        if taken:
            self.tenant.log(
                f"Failed to create group of name {name} for OrgId "
                f"{self.tenant.org['id']} due to existing group with same name in "
                "organization"
            )
            raise UniquenessException(detail="A group with same name already exists")
        members = self._members(record)
        self._check_members(members, 400)
        created = stamp()
        record = {
            **record,
            "id": self.tenant.new_uuid("group"),
            "members": members,
            "meta": {"resourceType": "Group", "created": created},
        }
        record["meta"]["lastModified"] = created
        self.groups[record["id"]] = record
        return record

    def _members(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        members = []
        for member in record.get("members") or []:
            user = self.users.get(member.get("value"))
            display = member.get("display") or (user or {}).get("userName")
            members.append({"value": member.get("value"), "display": display})
        return members

    def replace_group(
        self, group_id: str, record: dict[str, Any], *, patch: bool
    ) -> dict[str, Any]:
        """PUT or PATCH: members change; a rename is refused (U) or ignored."""
        old = self.group(group_id)
        name = record.get("displayName") or old["displayName"]
        if name != old["displayName"]:
            if self.tenant.assumptions.group_rename == "reject":
                raise scim_error(
                    400,
                    self.tenant.assumptions.group_rename_scim_type,
                    "Renaming a group is not supported",
                )
            name = old["displayName"]
        members = self._members(record)
        self._check_members(members, 404 if patch else 400)
        replaced = {
            **record,
            "id": group_id,
            "displayName": name,
            "members": members,
            "meta": {**old["meta"], "lastModified": stamp()},
        }
        self.groups[group_id] = replaced
        return replaced

    def delete_group(self, group_id: str) -> None:
        """DELETE /Groups/{id}: the group and the product access it granted go."""
        self.group(group_id)
        del self.groups[group_id]
        self.tenant.doc["grants"].pop(group_id, None)
