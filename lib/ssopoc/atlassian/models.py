"""SCIM models of Atlassian's user-provisioning API, built on scim2-models.

Atlassian's user resource is the core SCIM user with three differences
(atlassian.md §1.3, [C] OAS22, JSUP):

- `department` and `organization` are top-level attributes of the user, besides the
  enterprise extension's own `department` and `organization`;
- the read-only extension `urn:scim:schemas:extension:atlassian-external:1.0`
  carries `atlassianAccountId`, the Atlassian account the record is linked to;
- `groups` is read-only, as in RFC 7643.

The extension's URN ends in a version (`:1.0`), not an attribute name, so it
cannot itself be written as an RFC 7644 §3.10 attribute path; its attribute can
(`urn:scim:schemas:extension:atlassian-external:1.0:atlassianAccountId`). Code
that walks every attribute path of the model (scim2-models `Path.iter_paths`)
therefore fails on it; nothing in this library does that.
"""

from __future__ import annotations

from typing import Annotated, Any

from scim2_models import (
    URN,
    AnyExtension,
    Email,
    EnterpriseUser,
    Extension,
    Group,
    GroupMember,
    Mutability,
    Required,
    User,
)

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
EXTERNAL_SCHEMA = "urn:scim:schemas:extension:atlassian-external:1.0"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class AtlassianExternal(Extension):
    """The link from a SCIM record to its Atlassian account (read-only).

    Absent or null when the record is not linked, for example after an email
    change to an unclaimed domain or when the user was created inactive
    (atlassian.md §1.5, §3, [S] OKTAWF, KBEMAILCHG).
    """

    __schema__ = URN(EXTERNAL_SCHEMA)

    atlassian_account_id: Annotated[str | None, Mutability.read_only] = None
    """The Atlassian account id (AAID) the SCIM record is linked to."""


class AtlassianUser(User[AnyExtension]):
    """The SCIM user of Atlassian's directory, with its two extra attributes.

    `emails` is required on create and update (atlassian.md §1.3, [C] OAS22).
    """

    emails: Annotated[list[Email] | None, Required.true] = None
    """The email addresses; exactly one is `primary` ([S] SAILPOINT)."""

    department: str | None = None
    """The department shown on the Atlassian profile (atlassian.md §1.3)."""

    organization: str | None = None
    """The organization shown on the Atlassian profile (atlassian.md §1.3)."""


ScimUser = AtlassianUser[EnterpriseUser | AtlassianExternal]
"""The user model with both extensions bound, as Atlassian serves it."""

ScimGroup = Group
"""The group model: the core SCIM group (members are users only)."""

__all__ = [
    "ENTERPRISE_SCHEMA",
    "EXTERNAL_SCHEMA",
    "GROUP_SCHEMA",
    "USER_SCHEMA",
    "AtlassianExternal",
    "AtlassianUser",
    "GroupMember",
    "ScimGroup",
    "ScimUser",
    "account_id_of",
    "primary_email_of",
]


def account_id_of(user: Any) -> str | None:
    """The `atlassianAccountId` of a user model, or None when it is not linked."""
    extension = getattr(user, "AtlassianExternal", None)
    return getattr(extension, "atlassian_account_id", None)


def primary_email_of(user: Any) -> str | None:
    """The primary email of a user model, or the first one, or None."""
    emails = getattr(user, "emails", None) or []
    for email in emails:
        if email.primary:
            return str(email.value) if email.value else None
    return str(emails[0].value) if emails and emails[0].value else None
