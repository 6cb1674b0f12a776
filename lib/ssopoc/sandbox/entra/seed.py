"""The seeded tenant: domain, the workbook's app registrations, Atlassian Cloud.

Deterministic from the sandbox seed. Published for the workbook (no `.env`):

- credentials: `entra_client_secret` (the workbook app), `entra_limited_client_secret`
  (a second app that lacks permissions, for the preflight's missing-permission
  finding);
- identifiers: `entra_tenant_id`, `entra_tenant_domain`, `entra_client_id`,
  `entra_limited_client_id`, `entra_atlassian_service_principal_id`,
  `entra_atlassian_job_id`.

Granted application permissions are app role assignments of each app's service
principal to the Microsoft Graph service principal, whose app roles carry the
permission names. Their role ids are the sandbox's own (uuid5 of the name):
compare permissions by `value`, never by id.
"""

from __future__ import annotations

import uuid
from typing import Any

from ssopoc.sandbox.entra.config import EntraConfig
from ssopoc.sandbox.entra.store import Tenant
from ssopoc.sandbox.entra.sync_api import new_job
from ssopoc.sandbox.entra.tokens import GRAPH_APP_ID, secret_hash

DOMAIN = "openmrs.onmicrosoft.com"
GRAPH_PERMISSIONS = (
    "AppRoleAssignment.ReadWrite.All",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    "AuditLog.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
    "Organization.Read.All",
    "Synchronization.Read.All",
    "Synchronization.ReadWrite.All",
    "User-Mail.ReadWrite.All",
    "User.DeleteRestore.All",
    "User.Read.All",
    "User.ReadWrite.All",
)
# What the workbook's own app is granted (README: "Graph application permissions").
WORKBOOK_PERMISSIONS = (
    "AppRoleAssignment.ReadWrite.All",
    "Application.Read.All",
    "Application.ReadWrite.OwnedBy",
    "AuditLog.Read.All",
    "Directory.Read.All",
    "Group.ReadWrite.All",
    "Synchronization.ReadWrite.All",
    "User.DeleteRestore.All",
    "User.ReadWrite.All",
)
# The limited app reads users and the job but may not write or read the logs.
LIMITED_PERMISSIONS = (
    "Application.Read.All",
    "Synchronization.Read.All",
    "User.Read.All",
)
ROLE_NAMESPACE = uuid.UUID("6c1e3f52-0b7d-4a57-9d0e-2f4b9c5a7e11")


def role_id(permission: str) -> str:
    """The sandbox's id of a Graph application permission."""
    return str(uuid.uuid5(ROLE_NAMESPACE, permission))


def _app(tenant: Tenant, name: str, app_id: str | None = None) -> dict[str, Any]:
    app: dict[str, Any] = {
        "id": tenant.new_id(),
        "appId": app_id or tenant.new_id(),
        "displayName": name,
        "createdDateTime": tenant.stamp(),
        "signInAudience": "AzureADMyOrg",
        "passwordCredentials": [],
        "extensionProperties": [],
        "owners": [],
    }
    tenant.collection("applications")[app["id"]] = app
    return app


def _service_principal(
    tenant: Tenant, app: dict[str, Any], roles: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    sp = {
        "id": tenant.new_id(),
        "appId": app["appId"],
        "displayName": app["displayName"],
        "accountEnabled": True,
        "appRoleAssignmentRequired": True,
        "appRoles": roles or [],
        "servicePrincipalType": "Application",
        "tags": [],
        "owners": [],
    }
    tenant.collection("servicePrincipals")[sp["id"]] = sp
    return sp


def _secret(tenant: Tenant, app: dict[str, Any], purpose: str) -> str:
    secret = tenant.derived_secret(purpose)
    app["passwordCredentials"].append(
        {
            "keyId": tenant.new_id(),
            "displayName": "ssopoc sandbox",
            "hint": secret[:3],
            "startDateTime": tenant.stamp(),
            "endDateTime": tenant.later(2 * 365 * 86400),
            "secretHash": secret_hash(secret),
        }
    )
    return secret


def _grant(
    tenant: Tenant, sp: dict[str, Any], graph: dict[str, Any], names: tuple[str, ...]
) -> None:
    for name in names:
        assignment = {
            "id": tenant.new_hex()[:43],
            "appRoleId": role_id(name),
            "createdDateTime": tenant.stamp(),
            "deletedDateTime": None,
            "principalDisplayName": sp["displayName"],
            "principalId": sp["id"],
            "principalType": "ServicePrincipal",
            "resourceDisplayName": graph["displayName"],
            "resourceId": graph["id"],
        }
        tenant.collection("appRoleAssignments")[assignment["id"]] = assignment


def seed(
    tenant: Tenant, config: EntraConfig, template: dict[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """Build the seeded tenant; return (credentials, identifiers) to publish."""
    tenant.doc = {"counter": 0, "changeSeq": 0, "clockOffset": 0.0}
    tenant.doc["tenant"] = {
        "id": tenant.new_id(),
        "displayName": "OpenMRS (sandbox)",
        "tenantType": "AAD",
        "verifiedDomains": [
            {
                "name": DOMAIN,
                "isDefault": True,
                "isInitial": True,
                "type": "Managed",
                "capabilities": "Email, OfficeCommunicationsOnlineService",
            }
        ],
    }
    for name in ("users", "deletedItems", "purged", "groups", "appRoleAssignments"):
        tenant.collection(name)

    graph_roles = [
        {
            "id": role_id(name),
            "value": name,
            "displayName": name,
            "description": f"Application permission {name}",
            "allowedMemberTypes": ["Application"],
            "isEnabled": True,
        }
        for name in GRAPH_PERMISSIONS
    ]
    graph_app = _app(tenant, "Microsoft Graph", GRAPH_APP_ID)
    graph = _service_principal(tenant, graph_app, graph_roles)

    workbook = _app(tenant, "ssopoc workbook")
    workbook_sp = _service_principal(tenant, workbook)
    workbook["owners"] = [workbook_sp["id"]]
    _grant(tenant, workbook_sp, graph, WORKBOOK_PERMISSIONS)
    secret = _secret(tenant, workbook, "workbook")

    limited = _app(tenant, "ssopoc limited reader")
    limited_sp = _service_principal(tenant, limited)
    _grant(tenant, limited_sp, graph, LIMITED_PERMISSIONS)
    limited_secret = _secret(tenant, limited, "limited")

    atlassian = _app(tenant, "Atlassian Cloud")
    roles: list[dict[str, Any]] = [
        {
            "id": tenant.new_id(),
            "value": None,
            "displayName": "User",
            "description": "User",
            "allowedMemberTypes": ["User"],
            "isEnabled": True,
        },
        {
            "id": tenant.new_id(),
            "value": "msiam_access",
            "displayName": "msiam_access",
            "description": "msiam_access",
            "allowedMemberTypes": ["User"],
            "isEnabled": True,
        },
    ]
    sp = _service_principal(tenant, atlassian, roles)
    sp["tags"] = ["WindowsAzureActiveDirectoryIntegratedApp"]
    job = new_job(tenant, config, template)
    job["status"]["code"] = config.status_after_secrets
    sp["synchronization"] = {
        "sandboxLinked": True,
        "secrets": [
            {"key": "SyncAll", "value": "true" if config.sync_all else "false"},
            {
                "key": "SyncNotificationSettings",
                "value": '{"Enabled":false,"DeleteThresholdEnabled":false}',
            },
        ],
        "jobs": {job["id"]: job},
    }
    tenant.save()

    credentials = {
        "entra_client_secret": secret,
        "entra_limited_client_secret": limited_secret,
    }
    identifiers = {
        "entra_tenant_id": tenant.tenant_id(),
        "entra_tenant_domain": DOMAIN,
        "entra_client_id": workbook["appId"],
        "entra_limited_client_id": limited["appId"],
        "entra_atlassian_service_principal_id": sp["id"],
        "entra_atlassian_job_id": job["id"],
    }
    return credentials, identifiers
