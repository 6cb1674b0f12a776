"""What the provisioning engine reports about one processed object.

A `Record` holds the steps, action and outcome of one user or group; it becomes a
provisioning log entry (`audit_logs`, microsoft.md §3.8 [C]) and, on demand, the
Graph answer (§3.7 [C]). `Stop` ends processing of one object early.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ssopoc.sandbox.entra.scim_target import ScimFailure

SOURCE_SYSTEM = "Azure Active Directory"


class Stop(Exception):
    """Ends processing of one object with a result other than success."""

    def __init__(self, result: str, code: str, reason: str, step: str = "") -> None:
        super().__init__(reason)
        self.result = result
        self.code = code
        self.reason = reason
        self.step = step


@dataclass
class Record:
    """What happened to one object: the steps, the action, the outcome."""

    source_id: str
    source_name: str
    target_system: str
    started: str
    action: str = "Other"
    result: str = "Success"
    error_code: str = ""
    reason: str = ""
    target_id: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    modified: list[dict[str, Any]] = field(default_factory=list)
    rejected_token: bool = False
    exported: bool = False
    entitled: bool = False
    change_id: str = ""
    object_type: str = "User"

    def step(
        self, name: str, kind: str, status: str, description: str, **details: Any
    ) -> None:
        """Add one provisioning step."""
        self.steps.append(
            {
                "name": name,
                "provisioningStepType": kind,
                "status": status,
                "description": description,
                "details": {k: "" if v is None else str(v) for k, v in details.items()},
            }
        )

    def scoped(self, in_scope: bool, object_name: str, details: dict[str, str]) -> None:
        """Record the scoping step's outcome (microsoft.md §3.7 step list)."""
        self.entitled = in_scope
        self.step(
            "EntrySynchronizationScoping",
            "scoping",
            "success" if in_scope else "skipped",
            f"Determine if {object_name} is in scope by evaluating against each "
            "scoping filter",
            **details,
        )

    def redundant(self, reason: str, description: str) -> None:
        """Nothing to export: Skipped with `RedundantExport` (microsoft.md §3.7)."""
        self.result, self.error_code = "Skipped", "RedundantExport"
        self.reason = reason
        self.step(
            "EntrySynchronizationSkip",
            "export",
            "skipped",
            description,
            SkipReason="RedundantExport",
        )

    def stopped(self, stop: Stop) -> None:
        """Take the outcome of a `Stop`."""
        self.result, self.error_code, self.reason = stop.result, stop.code, stop.reason

    def failed(self, failure: ScimFailure) -> None:
        """Take the outcome of a failed SCIM call, worded as Entra words it (§6)."""
        self.result = "Failure"
        self.error_code = failure.code
        self.rejected_token = failure.rejected_token
        self.reason = (
            f"Failed to {failure.operation} {self.object_type} '{self.source_name}' "
            f"in {self.target_system}; Error: StatusCode: {failure.status}; "
            f"{failure.detail}"
        )
        self.step(failure.operation, "export", "failure", self.reason)


def typed(value: Any, definition: dict[str, Any], boolean: bool) -> Any:
    """A value as the wire carries it: Boolean targets as JSON booleans or text."""
    if definition.get("type") == "Boolean" and isinstance(value, str):
        if boolean:
            return value.lower() == "true"
        return "True" if value.lower() == "true" else "False"
    return value
