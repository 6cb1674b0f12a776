"""The provisioning job of an enterprise app: schema, on-demand runs, cycles, logs.

Facts: microsoft.md §3 (synchronization API, `Synchronization.ReadWrite.All`),
§3.7 (provisionOnDemand: 5 requests per 10 seconds, a group with at most 5
members; `key` and `value` of the answer are JSON text), §3.8 (provisioning logs
need `AuditLog.Read.All` and `Directory.Read.All`), §5 (cycles take up to ~40
minutes live).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ssopoc.display import Table
from ssopoc.entra.schema import Schema
from ssopoc.errors import ServiceError

if TYPE_CHECKING:
    from ssopoc.entra.client import EntraClient

log = logging.getLogger(__name__)
console = logging.getLogger("ssopoc.console")

SYNC = "Synchronization.ReadWrite.All"
LOGS = "AuditLog.Read.All"
BASE = "/servicePrincipals/{sp}/synchronization"


@dataclass
class OnDemandResult:
    """A provisionOnDemand answer, parsed.

    `result` is Success, Skipped or Failure; `error_code` e.g. `RedundantExport`
    or `SchemaPropertyCanOnlyAcceptValue`; `steps` and `modified` are tables.
    """

    result: str
    action: str
    error_code: str
    message: str
    target_id: str
    steps: Table
    modified: Table
    details: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def parse(cls, answer: dict[str, Any]) -> OnDemandResult:
        """Read Graph's `stringKeyStringValuePair` answer."""
        key = json.loads(answer.get("key") or "{}")
        value = json.loads(answer.get("value") or "{}")
        info = key.get("details") or {}
        steps = Table(
            ("step", "type", "status", "description"),
            [
                (s.get("name"), s.get("type"), s.get("status"), s.get("description"))
                for s in value.get("provisioningSteps", [])
            ],
        )
        modified = Table(
            ("attribute", "old value", "new value"),
            [
                (m.get("displayName"), m.get("oldValue"), m.get("newValue"))
                for m in value.get("modifiedProperties", [])
            ],
        )
        status = value.get("statusInfo") or {}
        return cls(
            result=str(key.get("result", "")),
            action=str(value.get("action", "")),
            error_code=str(info.get("errorCode") or status.get("errorCode") or ""),
            message=str(info.get("errorMessage") or status.get("reason") or ""),
            target_id=str((value.get("targetIdentity") or {}).get("id") or ""),
            steps=steps,
            modified=modified,
            details=value,
        )


class CycleTimeoutError(ServiceError):
    """No provisioning cycle ended within the wait."""


class Provisioning:
    """`client.provisioning`: one enterprise app's synchronization job."""

    def __init__(self, client: EntraClient) -> None:
        self.client = client

    def _path(self, sp_id: str, tail: str) -> str:
        return BASE.format(sp=sp_id) + tail

    def job(self, sp_id: str, job_id: str | None = None) -> dict[str, Any]:
        """A job of the app (its first when `job_id` is None), with its status."""
        if job_id:
            found: dict[str, Any] = self.client.call(
                "GET", self._path(sp_id, f"/jobs/{job_id}"), permission=SYNC
            )
            return found
        jobs = self.client.call("GET", self._path(sp_id, "/jobs"), permission=SYNC)
        if not jobs.get("value"):
            raise ServiceError(
                "graph",
                f"the service principal {sp_id} has no provisioning job",
                next_action="set up the app's provisioning (README, Live mode)",
            )
        first: dict[str, Any] = jobs["value"][0]
        return first

    # -- schema --------------------------------------------------------------------

    def schema(self, sp_id: str, job_id: str) -> Schema:
        """The job's schema (`GET .../schema`)."""
        path = self._path(sp_id, f"/jobs/{job_id}/schema")
        return Schema(self.client.call("GET", path, permission=SYNC))

    def put_schema(
        self, sp_id: str, job_id: str, schema: Schema | dict[str, Any]
    ) -> None:
        """Replace the whole schema; the next cycle is a new initial cycle (§3.6)."""
        document = schema.document if isinstance(schema, Schema) else schema
        path = self._path(sp_id, f"/jobs/{job_id}/schema")
        self.client.call("PUT", path, permission=SYNC, body=document)

    def reset_schema(self, sp_id: str, job_id: str) -> None:
        """Restore the template's schema (`DELETE .../schema`)."""
        path = self._path(sp_id, f"/jobs/{job_id}/schema")
        self.client.call("DELETE", path, permission=SYNC)

    def set_mapping_expression(
        self, sp_id: str, job_id: str, target: str, expression: str
    ) -> dict[str, Any]:
        """Point the mapping to `target` at `expression`; return the old schema.

        Pass the returned snapshot to `put_schema` to restore it.
        """
        schema = self.schema(sp_id, job_id)
        before = schema.snapshot()
        schema.set_source_expression(target, expression)
        self.put_schema(sp_id, job_id, schema)
        return before

    def parse_expression(
        self, sp_id: str, job_id: str, expression: str, properties: dict[str, Any]
    ) -> dict[str, Any]:
        """Evaluate an expression against test properties (`parseExpression`)."""
        items = []
        for key, value in properties.items():
            item: dict[str, Any] = {"key": key, "value": value}
            if isinstance(value, list):
                item["value@odata.type"] = "#Collection(String)"
            items.append(item)
        body = {
            "expression": expression,
            "testInputObject": {"definition": None, "properties": items},
            "targetAttributeDefinition": None,
        }
        path = self._path(sp_id, f"/jobs/{job_id}/schema/parseExpression")
        answer: dict[str, Any] = self.client.call(
            "POST", path, permission=SYNC, body=body
        )
        return answer

    # -- on demand ---------------------------------------------------------------------

    def provision_on_demand(
        self,
        sp_id: str,
        user_id: str,
        job_id: str | None = None,
        rule_id: str | None = None,
        *,
        object_type: str = "User",
        members: list[str] | None = None,
    ) -> OnDemandResult:
        """Provision one user, or one group, now and return the parsed outcome.

        `user_id` is the object's id: a user's, or a group's with
        `object_type="Group"`. For a group, `members` (at most 5, §3.7) names the
        member users to provision with it, sent as the subject's `links.members`;
        the rule id is the one of the rule mapping `object_type` objects. Raises
        `GraphThrottledError` past the 5-per-10-seconds limit once the client's
        retries are spent.
        """
        job_id = job_id or self.job(sp_id)["id"]
        rule_id = rule_id or self.schema(sp_id, job_id).rule_id(object_type)
        subject: dict[str, Any] = {"objectId": user_id, "objectTypeName": object_type}
        if members is not None:
            subject["links"] = {
                "members": [{"objectId": m, "objectTypeName": "User"} for m in members]
            }
        body = {"parameters": [{"subjects": [subject], "ruleId": rule_id}]}
        path = self._path(sp_id, f"/jobs/{job_id}/provisionOnDemand")
        answer = self.client.call("POST", path, permission=SYNC, body=body)
        outcome = OnDemandResult.parse(answer)
        log.info(
            "provision on demand (%s): %s %s",
            object_type,
            outcome.result,
            outcome.action,
        )
        return outcome

    # -- cycles ------------------------------------------------------------------------

    def start(self, sp_id: str, job_id: str) -> None:
        """Start (or resume) the job; lifts quarantine (§3.4)."""
        self.client.call(
            "POST", self._path(sp_id, f"/jobs/{job_id}/start"), permission=SYNC
        )

    def pause(self, sp_id: str, job_id: str) -> None:
        """Pause the job."""
        self.client.call(
            "POST", self._path(sp_id, f"/jobs/{job_id}/pause"), permission=SYNC
        )

    def restart(
        self,
        sp_id: str,
        job_id: str,
        reset_scope: str = "Watermark, Escrows, QuarantineState",
    ) -> None:
        """Restart with `resetScope` (`Full` also forgets matched targets)."""
        body = {"criteria": {"resetScope": reset_scope}}
        path = self._path(sp_id, f"/jobs/{job_id}/restart")
        self.client.call("POST", path, permission=SYNC, body=body)

    def wait_for_cycle(
        self,
        sp_id: str,
        job_id: str,
        *,
        after: str | None = None,
        timeout: float = 300.0,
        poll: float = 2.0,
        run_now: bool = False,
    ) -> dict[str, Any]:
        """Wait until a cycle ends after `after` (an ISO time; default: now).

        Logs progress to the console logger. In the sandbox `run_now` asks the
        emulator to run the cycle at once. Live cycles can take ~40 minutes
        (§4.5): give `timeout` accordingly. Raises `CycleTimeoutError`.
        """
        since = after or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if run_now:
            self.client.run_cycle_now(job_id)
        deadline = time.monotonic() + timeout
        while True:
            status = self.job(sp_id, job_id)["status"]
            last = status.get("lastExecution") or {}
            if str(last.get("timeEnded") or "") >= since and last.get("timeEnded"):
                return dict(last)
            left = deadline - time.monotonic()
            if left <= 0:
                raise CycleTimeoutError(
                    "graph",
                    f"no provisioning cycle of job {job_id} ended within {timeout:g}s "
                    f"(status {status.get('code')})",
                    next_action="start the job, or wait longer (live cycles ~40 min)",
                )
            console.info(
                "waiting for a provisioning cycle: status %s, %.0fs left",
                status.get("code"),
                left,
            )
            time.sleep(min(poll, left))

    # -- logs --------------------------------------------------------------------------

    def logs_for_user(
        self, user_id: str, *, job_id: str | None = None, top: int = 50
    ) -> list[dict[str, Any]]:
        """Provisioning log entries whose source is this user (or group, by its
        id), newest first."""
        clauses = [f"sourceIdentity/id eq '{user_id}'"]
        if job_id:
            clauses.append(f"jobId eq '{job_id}'")
        params = {"$filter": " and ".join(clauses), "$top": str(min(top, 500))}
        return list(
            self.client.pages(
                "/auditLogs/provisioning", permission=LOGS, params=params, limit=top
            )
        )

    @staticmethod
    def logs_table(entries: list[dict[str, Any]]) -> Table:
        """Log entries as a table: when, action, status, error code, reason."""
        rows = []
        for entry in entries:
            info = entry.get("provisioningStatusInfo") or {}
            error = info.get("errorInformation") or {}
            rows.append(
                (
                    entry.get("activityDateTime"),
                    entry.get("provisioningAction"),
                    info.get("status"),
                    error.get("errorCode") or "",
                    (error.get("reason") or "")[:80],
                )
            )
        return Table(("when", "action", "status", "error code", "reason"), rows)
