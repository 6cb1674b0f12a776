"""Microsoft Entra ID for the workbook: Graph users, the enterprise app, provisioning.

Use `EntraClient.from_workbook(wb)`; see `client` for an example and `errors` for
what each call raises. Live-mode setup: the README, "Live mode".
"""

from ssopoc.entra.client import EntraClient
from ssopoc.entra.errors import (
    EntraError,
    EntraTokenError,
    GraphAuthenticationError,
    GraphNotFoundError,
    GraphPermissionError,
    GraphRequestError,
    GraphThrottledError,
)
from ssopoc.entra.provisioning import CycleTimeoutError, OnDemandResult
from ssopoc.entra.schema import MappingNotFoundError, Schema

# Every Graph application permission the workbook needs, and why (see the README).
REQUIRED_PERMISSIONS = {
    "User.ReadWrite.All": "create test users and set mail / extension attributes",
    "User.DeleteRestore.All": "delete, restore and purge the run's test users",
    "Application.Read.All": "find the Atlassian Cloud enterprise app and its roles",
    "AppRoleAssignment.ReadWrite.All": "assign test users and groups to the app",
    "Group.ReadWrite.All": "create test groups and their members",
    "Synchronization.ReadWrite.All": "read and change the job, its schema; "
    "provision on demand; start and restart cycles",
    "AuditLog.Read.All": "read provisioning logs (with Directory.Read.All)",
    "Directory.Read.All": "read provisioning logs; read the tenant's domains",
}

__all__ = [
    "REQUIRED_PERMISSIONS",
    "CycleTimeoutError",
    "EntraClient",
    "EntraError",
    "EntraTokenError",
    "GraphAuthenticationError",
    "GraphNotFoundError",
    "GraphPermissionError",
    "GraphRequestError",
    "GraphThrottledError",
    "MappingNotFoundError",
    "OnDemandResult",
    "Schema",
]
