"""What Graph accepts in a user: properties, projections, validation and filters.

Facts: microsoft.md §2.1 (required properties, UPN rules), §2.2 (mail, otherMails,
onPremisesExtensionAttributes, employeeId, directory extensions), §2.3 (filters
and advanced queries), §2.5 (error texts), §7 (the emulator contract).
"""

from __future__ import annotations

import re
from typing import Any

from ssopoc.sandbox.entra.errors import (
    GraphError,
    bad_request,
    invalid_value,
    unknown_property,
    unsupported_query,
)
from ssopoc.sandbox.entra.odata_filter import Node, uses

# microsoft.md §7 [C]: the default projection of GET /users.
DEFAULT_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)
EXTRA_PROPERTIES = (
    "accountEnabled",
    "city",
    "companyName",
    "country",
    "createdDateTime",
    "deletedDateTime",
    "department",
    "employeeId",
    "mailNickname",
    "onPremisesExtensionAttributes",
    "onPremisesImmutableId",
    "onPremisesSyncEnabled",
    "otherMails",
    "proxyAddresses",
    "usageLocation",
    "userType",
)
ALL_PROPERTIES = DEFAULT_PROPERTIES + EXTRA_PROPERTIES
READ_ONLY = frozenset(
    {
        "id",
        "createdDateTime",
        "deletedDateTime",
        "proxyAddresses",
        "onPremisesSyncEnabled",
    }
)
STRING_LISTS = frozenset({"businessPhones", "otherMails"})
REQUIRED = ("accountEnabled", "displayName", "mailNickname", "userPrincipalName")
EXTENSION_ATTRIBUTES = tuple(f"extensionAttribute{n}" for n in range(1, 16))

_UPN = re.compile(r"^[A-Za-z0-9'.\-_!#^~]+@([A-Za-z0-9.-]+)$")
_NICKNAME_BAD = re.compile(r"[\s@()\\\[\]\";:<>,]")


def blank_user(user_id: str, created: str) -> dict[str, Any]:
    """A user with every property at Graph's empty value."""
    user: dict[str, Any] = {name: None for name in ALL_PROPERTIES}
    user.update(
        id=user_id,
        createdDateTime=created,
        businessPhones=[],
        otherMails=[],
        proxyAddresses=[],
        userType="Member",
        onPremisesExtensionAttributes=dict.fromkeys(EXTENSION_ATTRIBUTES),
    )
    return user


def check_required(body: dict[str, Any]) -> None:
    """microsoft.md §2.1, §7 [C]: the properties a create must carry.

    The text of the error for a missing property is [U]; it names the property.
    """
    for name in REQUIRED:
        if body.get(name) in (None, ""):
            raise bad_request(
                f"Property '{name}' is required when creating the object.",
                details=[{"code": "MissingRequiredProperty", "target": name}],
            )
    profile = body.get("passwordProfile")
    if not isinstance(profile, dict) or not profile.get("password"):
        raise bad_request(
            "Property 'passwordProfile' is required when creating the object.",
            details=[{"code": "MissingRequiredProperty", "target": "passwordProfile"}],
        )
    check_password(str(profile["password"]))


def check_password(password: str) -> None:
    """Entra's complexity rule: 8+ characters and 3 of 4 character classes."""
    classes = sum(
        bool(re.search(pattern, password))
        for pattern in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]")
    )
    if len(password) < 8 or classes < 3:
        raise bad_request(
            "The specified password does not comply with password complexity "
            "requirements. Please provide a different password."
        )


def check_upn(upn: Any, domains: list[str]) -> str:
    """microsoft.md §2.1 [C]: alias@verified-domain, allowed characters only."""
    match = _UPN.match(upn) if isinstance(upn, str) else None
    if match is None or match.group(1).lower() not in domains:
        raise bad_request(
            "Property userPrincipalName is invalid.",
            details=[{"code": "InvalidValue", "target": "userPrincipalName"}],
        )
    return str(upn)


def apply_changes(
    user: dict[str, Any], changes: dict[str, Any], extensions: dict[str, str]
) -> None:
    """Write a create or PATCH body into `user`, checking every property.

    `extensions` maps declared directory-extension names to their data type.
    Raises `GraphError` for an unknown, read-only or invalid property.
    """
    known = {name.lower(): name for name in ALL_PROPERTIES}
    for key, value in changes.items():
        if key == "passwordProfile" or key.startswith("@odata"):
            continue
        if key.startswith("extension_"):
            _set_extension(user, key, value, extensions)
            continue
        name = known.get(key.lower())
        if name is None:
            raise unknown_property(key)
        if name in READ_ONLY:
            raise bad_request(f"Property '{name}' is read-only and cannot be set.")
        if name == "onPremisesExtensionAttributes":
            _merge_extension_attributes(user, value)
        elif name == "accountEnabled":
            if not isinstance(value, bool):
                raise bad_request(
                    f"Cannot convert the literal '{value}' to the expected type "
                    "'Edm.Boolean'."
                )
            user[name] = value
        elif name in STRING_LISTS:
            if not isinstance(value, list) or not all(
                isinstance(v, str) for v in value
            ):
                raise invalid_value(name)
            user[name] = list(value)
        else:
            user[name] = _checked_string(name, value)


def _checked_string(name: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise invalid_value(name)
    if name == "mailNickname" and (
        not value or _NICKNAME_BAD.search(value) or len(value) > 64
    ):
        raise invalid_value(name)
    # microsoft.md §2.2 [C]: employeeId holds at most 16 characters.
    if name == "employeeId" and value is not None and len(value) > 16:
        raise invalid_value(name)
    return value


def _merge_extension_attributes(user: dict[str, Any], value: Any) -> None:
    """microsoft.md §2.2 [C]: partial merge; each value at most 1024 characters;
    read-only for users synchronised from on-premises AD."""
    if not isinstance(value, dict):
        raise invalid_value("onPremisesExtensionAttributes")
    if user.get("onPremisesSyncEnabled"):
        raise bad_request(
            "Unable to update the specified properties for on-premises mastered "
            "Directory Sync objects or objects currently undergoing migration."
        )
    current = user.setdefault(
        "onPremisesExtensionAttributes", dict.fromkeys(EXTENSION_ATTRIBUTES)
    )
    for key, item in value.items():
        name = next((n for n in EXTENSION_ATTRIBUTES if n.lower() == key.lower()), None)
        if name is None:
            raise unknown_property(key)
        if item is not None and (not isinstance(item, str) or len(item) > 1024):
            raise invalid_value(f"onPremisesExtensionAttributes.{name}")
        current[name] = item


def _set_extension(
    user: dict[str, Any], key: str, value: Any, extensions: dict[str, str]
) -> None:
    """microsoft.md §2.2 [C]: only declared extensions; String at most 256 chars."""
    if key not in extensions:
        raise unknown_property(key)
    if (
        extensions[key] == "String"
        and value is not None
        and (not isinstance(value, str) or len(value) > 256)
    ):
        raise invalid_value(key)
    user[key] = value


# -- filters (microsoft.md §2.3, §7) ----------------------------------------------

DEFAULT_FILTERABLE = frozenset(
    name.lower()
    for name in (
        "id",
        "userPrincipalName",
        "mail",
        "displayName",
        "mailNickname",
        "givenName",
        "surname",
        "accountEnabled",
        "jobTitle",
        "department",
        "userType",
        "employeeId",
        "preferredLanguage",
        "officeLocation",
        "city",
        "country",
    )
)
_DEFAULT_OPERATORS = frozenset({"eq", "in", "startswith"})


def filter_needs_advanced(node: Node) -> str | None:
    """The property whose filter needs advanced query parameters, else None.

    Raises `400 Request_UnsupportedQuery` for a clause Graph never supports
    (`contains`, `startsWith` on an extension attribute, unknown properties).
    """
    advanced: str | None = None
    for path, op in uses(node):
        lowered = path.lower()
        if op == "not":
            advanced = advanced or "not"
            continue
        if op.startswith("any:"):
            if lowered != "othermails" and lowered != "proxyaddresses":
                raise _unsupported(path)
            if op[4:] not in ("eq", "startswith"):
                advanced = advanced or path
            continue
        if op == "contains":
            raise _unsupported(path)
        if lowered.startswith("onpremisesextensionattributes/"):
            if op not in ("eq", "ne", "in"):
                raise _unsupported(path)
            advanced = advanced or path
            continue
        if lowered.startswith("extension_"):
            continue
        if op == "$count":
            if lowered not in ("othermails", "proxyaddresses", "businessphones"):
                raise _unsupported(path)
            advanced = advanced or path
            continue
        if lowered not in DEFAULT_FILTERABLE and lowered != "createddatetime":
            raise _unsupported(path)
        if op not in _DEFAULT_OPERATORS or lowered == "createddatetime":
            advanced = advanced or path
    return advanced


def _unsupported(path: str) -> GraphError:
    return unsupported_query(
        "Unsupported or invalid query filter clause specified for property "
        f"'{path}' of resource 'User'."
    )


def has_null_equality(node: Node) -> bool:
    """Whether a filter compares a property with `null` (an advanced query)."""
    if node.kind in ("and", "or", "not"):
        return any(has_null_equality(child) for child in node.children)
    return node.kind == "compare" and node.value is None
