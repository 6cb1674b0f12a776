"""Who is in a job's scope, and the source attributes the engine evaluates.

microsoft.md §5 [C]: "Sync only assigned users and groups" puts a user in scope
when assigned to the app directly or through a group it belongs to (nested groups
are not supported), enabled and not soft-deleted; "Sync all" drops the assignment
condition. An object mapping's scoping filter (groups of clauses: OR of ANDs)
narrows it further. `[IsSoftDeleted]` is true whenever the user is out of scope
for any of these reasons (§4.2 [C]). A group is in scope when it is assigned to
the app itself, or under "Sync all" (`group_engine`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ssopoc.sandbox.entra.store import Tenant

# Graph user property -> synchronization schema attribute (Azure Active Directory).
RENAMED = {
    "id": "objectId",
    "mobilePhone": "mobile",
}
COPIED = (
    "userPrincipalName",
    "mail",
    "mailNickname",
    "displayName",
    "givenName",
    "surname",
    "accountEnabled",
    "jobTitle",
    "department",
    "preferredLanguage",
    "employeeId",
    "city",
    "country",
    "companyName",
    "usageLocation",
    "userType",
)


@dataclass(frozen=True)
class Scope:
    """The outcome of scoping one user, with the details Entra reports."""

    assigned: bool
    active: bool
    filter_passed: bool
    sync_all: bool

    @property
    def in_scope(self) -> bool:
        """Whether the user is effectively entitled for provisioning."""
        return (self.assigned or self.sync_all) and self.active and self.filter_passed

    def details(self) -> dict[str, str]:
        """The scoping step's details, as on-demand provisioning shows them (§3.7)."""
        return {
            "Assigned": str(self.assigned or self.sync_all),
            "IsActive": str(self.active),
            "IsEffectivelyEntitledForProvisioning": str(self.in_scope),
            "IsInProvisioningScopeDisplayName": "Yes" if self.filter_passed else "No",
            "ScopeEvaluationResult": "{}" if self.filter_passed else "{ScopingFilter}",
        }


def assigned_principals(tenant: Tenant, sp_id: str) -> set[str]:
    """Users assigned to a service principal, directly or via a direct group."""
    users: set[str] = set()
    groups = tenant.collection("groups")
    for item in tenant.collection("appRoleAssignments").values():
        if item["resourceId"] != sp_id:
            continue
        if item["principalType"] == "User":
            users.add(item["principalId"])
        elif item["principalType"] == "Group" and item["principalId"] in groups:
            users.update(groups[item["principalId"]]["members"])
    return users


def assigned_groups(tenant: Tenant, sp_id: str) -> set[str]:
    """Groups assigned to a service principal themselves (§5 [C]: not nested)."""
    return {
        item["principalId"]
        for item in tenant.collection("appRoleAssignments").values()
        if item["resourceId"] == sp_id and item["principalType"] == "Group"
    }


def group_source_attributes(group: dict[str, Any]) -> dict[str, Any]:
    """A Graph group as the schema's `Group` object names its attributes."""
    return {
        "objectId": group.get("id"),
        "displayName": group.get("displayName"),
        "description": group.get("description"),
        "mailNickname": group.get("mailNickname"),
        "members": list(group.get("members") or []) or None,
    }


def source_attributes(tenant: Tenant, user: dict[str, Any]) -> dict[str, Any]:
    """A Graph user as the provisioning schema names its attributes."""
    source: dict[str, Any] = {name: user.get(name) for name in COPIED}
    for graph_name, sync_name in RENAMED.items():
        source[sync_name] = user.get(graph_name)
    phones = user.get("businessPhones") or []
    source["telephoneNumber"] = phones[0] if phones else None
    for name in ("otherMails", "proxyAddresses"):
        source[name] = list(user.get(name) or []) or None
    for name, value in (user.get("onPremisesExtensionAttributes") or {}).items():
        source[name] = value
    for name, value in user.items():
        if name.startswith("extension_"):
            source[name] = value
    source["appRoleAssignments"] = [
        a["appRoleId"]
        for a in tenant.collection("appRoleAssignments").values()
        if a["principalId"] == user["id"]
    ] or None
    return source


def scope_of(
    user: dict[str, Any] | None,
    source: dict[str, Any],
    assigned: set[str],
    sync_all: bool,
    scope_filter: dict[str, Any] | None,
) -> Scope:
    """Scope one user; `user` is None for a permanently deleted one."""
    live = user is not None and not user.get("deletedDateTime")
    active = live and bool(user and user.get("accountEnabled"))
    return Scope(
        assigned=bool(user) and str(source.get("objectId")) in assigned,
        active=active,
        filter_passed=passes(scope_filter, source),
        sync_all=sync_all,
    )


def passes(scope_filter: dict[str, Any] | None, source: dict[str, Any]) -> bool:
    """Whether `source` passes a scoping filter: any group whose clauses all hold."""
    groups = (scope_filter or {}).get("groups") or []
    if not groups:
        return True
    return any(
        all(_clause(clause, source) for clause in group.get("clauses", []))
        for group in groups
    )


def _clause(clause: dict[str, Any], source: dict[str, Any]) -> bool:
    operator = re.sub(r"[\s_]", "", str(clause.get("operatorName", ""))).upper()
    value = source.get(str(clause.get("sourceOperandName")))
    text = "" if value is None else str(value)
    operands = [str(v) for v in (clause.get("targetOperand") or {}).get("values", [])]
    first = operands[0] if operands else ""
    checks = {
        "EQUALS": lambda: text == first,
        "NOTEQUALS": lambda: text != first,
        "ISTRUE": lambda: text.lower() == "true",
        "ISFALSE": lambda: text.lower() == "false",
        "ISNULL": lambda: value in (None, ""),
        "ISNOTNULL": lambda: value not in (None, ""),
        "REGEXMATCH": lambda: re.search(first, text) is not None,
        "NOTREGEXMATCH": lambda: re.search(first, text) is None,
        "INCLUDES": lambda: text in operands,
        "NOTINCLUDES": lambda: text not in operands,
        "GREATERTHAN": lambda: _number(text) > _number(first),
        "LESSTHAN": lambda: _number(text) < _number(first),
    }
    check = checks.get(operator)
    return bool(check()) if check else False


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")
