"""Provisioning logs: `GET /auditLogs/provisioning` and the entries the engine writes.

microsoft.md §3.8 [C]: every processed object leaves a `provisioningObjectSummary`;
`$filter` supports `eq`, `contains`, `gt`, `lt` and is case-sensitive; `$top`,
`$orderby` and `@odata.nextLink` paging. Reading needs `AuditLog.Read.All` and
`Directory.Read.All` together (§3.1 [C]). Which property paths Microsoft lets you
filter on is [U] (§8.3): the sandbox allows any path of the object.
"""

from __future__ import annotations

from typing import Any

from ssopoc.sandbox.entra.config import EntraConfig
from ssopoc.sandbox.entra.errors import bad_request
from ssopoc.sandbox.entra.odata_filter import lookup, matches, parse, uses
from ssopoc.sandbox.entra.records import SOURCE_SYSTEM, Record
from ssopoc.sandbox.entra.routing import Call, Reply, Router, need, page_size, paged
from ssopoc.sandbox.entra.store import Tenant

READ = need(all_of=("AuditLog.Read.All", "Directory.Read.All"))
# Keep the newest entries only, as the service's retention does (§3.8 [C]: 30 days).
KEEP = 5000
ACTIONS = {
    "Create": "create",
    "Update": "update",
    "Disable": "disable",
    "Delete": "delete",
}
ALLOWED_OPERATORS = frozenset({"eq", "contains", "gt", "lt", "ge", "le"})


def summary(
    tenant: Tenant,
    record: Record,
    *,
    job_id: str,
    cycle_id: str,
    sp: dict[str, Any],
    duration_ms: int,
) -> dict[str, Any]:
    """The provisioningObjectSummary of one processed object (§3.8 [C] fields)."""
    status = {"Success": "success", "Skipped": "skipped", "Failure": "failure"}[
        record.result
    ]
    error = None
    if record.result != "Success":
        error = {
            "errorCode": record.error_code,
            "reason": record.reason,
            "additionalDetails": None,
            "errorCategory": "NonServiceFailure"
            if record.result == "Failure"
            else None,
            "recommendedAction": None,
        }
    return {
        "id": tenant.new_id(),
        "activityDateTime": tenant.stamp(),
        "tenantId": tenant.tenant_id(),
        "jobId": job_id,
        "cycleId": cycle_id,
        "changeId": tenant.new_id(),
        "provisioningAction": ACTIONS.get(record.action, "other"),
        "durationInMilliseconds": duration_ms,
        "initiatedBy": {
            "id": "",
            "displayName": "Azure AD Provisioning Service",
            "initiatorType": "system",
        },
        "modifiedProperties": [_text_values(m) for m in record.modified],
        "provisioningSteps": record.steps,
        "provisioningStatusInfo": {"status": status, "errorInformation": error},
        "servicePrincipal": {"id": sp["id"], "displayName": sp["displayName"]},
        "sourceIdentity": {
            "id": record.source_id,
            "displayName": record.source_name,
            "identityType": record.object_type,
            "details": {},
        },
        "targetIdentity": {
            "id": record.target_id,
            "displayName": record.source_name,
            "identityType": record.object_type,
            "details": {},
        },
        "sourceSystem": {"id": "", "displayName": SOURCE_SYSTEM, "details": {}},
        "targetSystem": {
            "id": job_id,
            "displayName": record.target_system,
            "details": {},
        },
    }


def _text_values(item: dict[str, Any]) -> dict[str, Any]:
    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return {
        "displayName": item["displayName"],
        "oldValue": text(item.get("oldValue")),
        "newValue": text(item.get("newValue")),
    }


def append(tenant: Tenant, entry: dict[str, Any]) -> None:
    """Store an entry, dropping the oldest beyond `KEEP`."""
    logs: list[dict[str, Any]] = tenant.doc.setdefault("provisioningLogs", [])
    logs.append(entry)
    del logs[:-KEEP]


class ProvisioningLogsApi:
    """`GET /auditLogs/provisioning`."""

    def __init__(self, tenant: Tenant, config: EntraConfig, base_url: str) -> None:
        self.tenant = tenant
        self.config = config
        self.base_url = base_url

    def routes(self, router: Router) -> None:
        """Register the route."""
        router.add("GET", "/auditLogs/provisioning", self.list, READ)
        router.add("GET", "/auditLogs/provisioning/{entry}", self.get, READ)

    def list(self, call: Call) -> Reply:
        """List entries, newest first unless `$orderby` says otherwise."""
        entries = list(self.tenant.doc.get("provisioningLogs", []))
        text = call.query.get("$filter")
        if text:
            node = parse(text)
            for _, op in uses(node):
                if op not in ALLOWED_OPERATORS and op != "not":
                    raise bad_request(
                        f"Invalid filter: operator '{op}' is not supported."
                    )
            entries = [e for e in entries if matches(node, e, case_sensitive=True)]
        order = call.query.get("$orderby", "activityDateTime desc")
        prop, _, direction = order.partition(" ")

        def key(pair: tuple[int, dict[str, Any]]) -> tuple[str, int]:
            value = lookup(pair[1], prop)
            return ("" if value is None else str(value), pair[0])

        ordered = sorted(
            enumerate(entries), key=key, reverse=direction.strip().lower() != "asc"
        )
        entries = [entry for _, entry in ordered]
        size = page_size(call, self.config.provisioning_log_page_size, 500)
        return paged(call, self.base_url, entries, size, "auditLogs/provisioning")

    def get(self, call: Call) -> Reply:
        """One entry by id."""
        for entry in self.tenant.doc.get("provisioningLogs", []):
            if entry["id"] == call.params["entry"]:
                return Reply(200, entry)
        from ssopoc.sandbox.entra.errors import not_found

        raise not_found(call.params["entry"])
