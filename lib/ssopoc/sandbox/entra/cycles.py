"""Synchronization jobs at work: cycles, escrow, quarantine, on-demand runs.

microsoft.md §5 [C]: an initial cycle processes every user and group; incremental
cycles only those changed since the watermark, plus escrowed failures whose retry
is due. Users go first, so that a group's members have target ids when its
references are resolved (§5 [C]); a group is also processed when one of its
members was.
When the target rejects the credentials the job goes into quarantine
(`EncounteredQuarantineException`); `start` or `restart` lifts it (§3.4 [C]).
Cycles run on their own for started jobs at `cycle_interval_seconds`
(`quarantine_interval_seconds` in quarantine); `run_now` is the admin call that
runs one at once (§7: "a way to run a cycle now").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ssopoc.sandbox.entra import audit_logs
from ssopoc.sandbox.entra.config import EntraConfig
from ssopoc.sandbox.entra.engine import Engine
from ssopoc.sandbox.entra.group_engine import GroupEngine
from ssopoc.sandbox.entra.records import Record
from ssopoc.sandbox.entra.scim_target import ScimFailure, ScimTarget
from ssopoc.sandbox.entra.store import Tenant, parse_iso

log = logging.getLogger(__name__)

NEVER = "0001-01-01T00:00:00Z"
Books = Callable[[], tuple[dict[str, str], dict[str, str]]]


class NotConfiguredError(Exception):
    """The job has no usable BaseAddress and SecretToken."""


def initial_status(code: str) -> dict[str, Any]:
    """A job's status before its first run (§3.5 [C] field names)."""
    return {
        "code": code,
        "countSuccessiveCompleteFailures": 0,
        "escrowsPruned": False,
        "lastExecution": None,
        "lastSuccessfulExecution": None,
        "lastSuccessfulExecutionWithExports": None,
        "progress": [],
        "quarantine": None,
        "steadyStateFirstAchievedTime": NEVER,
        "steadyStateLastAchievedTime": NEVER,
        "synchronizedEntryCountByType": [],
        "troubleshootingUrl": None,
    }


class JobRunner:
    """Runs cycles and on-demand requests of the tenant's jobs."""

    def __init__(
        self,
        tenant: Tenant,
        config: EntraConfig,
        ca_file: Path | None,
        atlassian_url: str | None,
        books: Books,
    ) -> None:
        self.tenant = tenant
        self.config = config
        self.ca_file = ca_file
        self.atlassian_url = atlassian_url
        self.books = books

    # -- secrets -------------------------------------------------------------------

    def secrets(self, sp: dict[str, Any]) -> dict[str, str]:
        """The service principal's synchronization secrets, by key.

        The seeded Atlassian Cloud app is "sandbox-linked": its BaseAddress and
        SecretToken are read from the Atlassian emulator's published
        `identifiers.json` and `credentials.json` at the moment of use, because the
        host seeds the emulators one after another and Atlassian seeds after
        Entra. Saving secrets through Graph replaces the link.
        """
        sync = sp.get("synchronization", {})
        values = {
            s["key"]: s["value"] for s in sync.get("secrets", []) if s.get("value")
        }
        if sync.get("sandboxLinked"):
            credentials, identifiers = self.books()
            directory = identifiers.get("atlassian_scim_directory_id")
            token = credentials.get("atlassian_scim_token")
            if self.atlassian_url and directory:
                values["BaseAddress"] = (
                    f"{self.atlassian_url}/scim/directory/{directory}"
                )
            if token:
                values["SecretToken"] = token
        return values

    def target(self, sp: dict[str, Any]) -> ScimTarget:
        """The SCIM client for a service principal; raises `NotConfiguredError`."""
        secrets = self.secrets(sp)
        if not secrets.get("BaseAddress") or not secrets.get("SecretToken"):
            raise NotConfiguredError(
                "BaseAddress and SecretToken are not both set (for the seeded app: "
                "the Atlassian emulator has not published its SCIM directory yet)"
            )
        return ScimTarget(secrets["BaseAddress"], secrets["SecretToken"], self.ca_file)

    def engine(self, sp: dict[str, Any], job: dict[str, Any]) -> Engine:
        """An engine for one job."""
        sync_all = self.secrets(sp).get("SyncAll", "false").lower() == "true"
        return Engine(self.tenant, self.config, sp, job, self.target(sp), sync_all)

    # -- one object ----------------------------------------------------------------

    def process(
        self,
        engine: Engine,
        sp: dict[str, Any],
        job: dict[str, Any],
        object_id: str,
        cycle_id: str,
        kind: str = "User",
        members: list[Record] | None = None,
    ) -> Record:
        """Process one user or group (`kind`), keep escrow up to date and write
        its log entry; `members` are a group's member records (on demand)."""
        started = time.perf_counter()
        if kind == "Group":
            record = GroupEngine(engine).process_group(object_id, members)
        else:
            record = engine.process_user(object_id)
        escrows: dict[str, Any] = job["_engine"].setdefault("escrows", {})
        if record.result == "Failure":
            previous = escrows.get(object_id, {})
            escrows[object_id] = {
                "objectType": kind,
                "errorCode": record.error_code,
                "count": int(previous.get("count", 0)) + 1,
                "firstFailure": previous.get("firstFailure", self.tenant.stamp()),
                "nextAttempt": self.tenant.later(self.config.escrow_retry_seconds),
            }
        else:
            escrows.pop(object_id, None)
        duration = int((time.perf_counter() - started) * 1000)
        entry = audit_logs.summary(
            self.tenant,
            record,
            job_id=job["id"],
            cycle_id=cycle_id,
            sp=sp,
            duration_ms=duration,
        )
        audit_logs.append(self.tenant, entry)
        record.change_id = str(entry["changeId"])
        return record

    # -- cycles --------------------------------------------------------------------

    def candidates(self, job: dict[str, Any]) -> list[str]:
        """The users a cycle processes: all on an initial cycle, else the changed."""
        state = job["_engine"]
        watermark = state.get("watermark")
        links = state.get("links", {})
        now = self.tenant.stamp()
        found: list[str] = []
        for name in ("users", "deletedItems", "purged"):
            for user_id, item in self.tenant.collection(name).items():
                if name == "purged" and user_id not in links:
                    continue
                if watermark is None or int(item.get("_changeSeq", 0)) > watermark:
                    found.append(user_id)
        for user_id, escrow in state.get("escrows", {}).items():
            is_user = escrow.get("objectType", "User") == "User"
            if is_user and escrow["nextAttempt"] <= now and user_id not in found:
                found.append(user_id)
        return found

    def group_candidates(self, job: dict[str, Any], users: list[str]) -> list[str]:
        """The groups a cycle processes: all on an initial cycle, else the changed,
        those with a processed member, deleted linked ones and due escrows."""
        state = job["_engine"]
        watermark = state.get("watermark")
        groups = self.tenant.collection("groups")
        now = self.tenant.stamp()
        processed = set(users)
        found = [
            group_id
            for group_id, group in groups.items()
            if watermark is None
            or int(group.get("_changeSeq", 0)) > watermark
            or processed & set(group.get("members") or [])
        ]
        found += [g for g in state.get("groupLinks", {}) if g not in groups]
        for group_id, escrow in state.get("escrows", {}).items():
            due = escrow["nextAttempt"] <= now
            if escrow.get("objectType") == "Group" and due and group_id not in found:
                found.append(group_id)
        return found

    def run_cycle(self, sp: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
        """Run one cycle of a job now and return its `lastExecution`."""
        with self.tenant.lock:
            state = job.setdefault("_engine", {})
            cycle_id = self.tenant.new_id()
            began = self.tenant.stamp()
            initial = state.get("watermark") is None
            seq = int(self.tenant.doc.get("changeSeq", 0))
            try:
                engine = self.engine(sp, job)
                engine.target.query("Users", "userName", self.tenant.new_hex())
            except (NotConfiguredError, ScimFailure) as error:
                return self._failed_cycle(job, cycle_id, began, error)
            users = self.candidates(job)
            records = [
                self.process(engine, sp, job, user_id, cycle_id) for user_id in users
            ]
            records += [
                self.process(engine, sp, job, group_id, cycle_id, "Group")
                for group_id in self.group_candidates(job, users)
            ]
            rejected = [r for r in records if r.rejected_token]
            if records and len(rejected) == len(records):
                failure = ScimFailure(401, rejected[0].reason, "EntryExport")
                return self._failed_cycle(job, cycle_id, began, failure)
            state["watermark"] = seq
            execution = self._execution(cycle_id, began, records, initial)
            self._succeeded(job, execution)
            self.tenant.save()
            log.info(
                "cycle %s of job %s: %d processed, %d exported",
                cycle_id,
                job["id"],
                len(records),
                execution["countExported"],
            )
            return execution

    def _execution(
        self, cycle_id: str, began: str, records: list[Record], initial: bool
    ) -> dict[str, Any]:
        failed = sum(r.result == "Failure" for r in records)
        exported = sum(r.exported for r in records)
        entitled = sum(r.entitled for r in records)
        return {
            "activityIdentifier": cycle_id,
            "countEntitled": entitled,
            "countEntitledForProvisioning": entitled,
            "countEscrowed": failed,
            "countEscrowedRaw": failed,
            "countExported": exported,
            "countExports": exported,
            "countImported": len(records),
            "countImportedDeltas": 0 if initial else len(records),
            "countImportedReferenceDeltas": 0,
            "error": None,
            "state": "EntryLevelErrors" if failed else "Succeeded",
            "timeBegan": began,
            "timeEnded": self.tenant.stamp(),
        }

    def _succeeded(self, job: dict[str, Any], execution: dict[str, Any]) -> None:
        status = job["status"]
        status["lastExecution"] = execution
        status["lastSuccessfulExecution"] = execution
        if execution["countExported"]:
            status["lastSuccessfulExecutionWithExports"] = execution
        status["countSuccessiveCompleteFailures"] = 0
        status["quarantine"] = None
        if status["code"] == "Quarantine":
            status["code"] = "Active"
        if not job["_engine"].get("escrows"):
            if status["steadyStateFirstAchievedTime"] == NEVER:
                status["steadyStateFirstAchievedTime"] = execution["timeEnded"]
            status["steadyStateLastAchievedTime"] = execution["timeEnded"]
        state = job["_engine"]
        status["synchronizedEntryCountByType"] = [
            {"key": "User to User", "value": len(state.get("links", {}))},
            {"key": "Group to Group", "value": len(state.get("groupLinks", {}))},
        ]
        job["_engine"]["nextRun"] = self.tenant.later(
            self.config.cycle_interval_seconds
        )

    def _failed_cycle(
        self, job: dict[str, Any], cycle_id: str, began: str, error: Exception
    ) -> dict[str, Any]:
        """A cycle that could not run; rejected credentials mean quarantine (§5)."""
        status = job["status"]
        code = error.code if isinstance(error, ScimFailure) else "NotConfigured"
        message = str(error)[:400]
        execution = {
            "activityIdentifier": cycle_id,
            "countEntitled": 0,
            "countEntitledForProvisioning": 0,
            "countEscrowed": 0,
            "countEscrowedRaw": 0,
            "countExported": 0,
            "countExports": 0,
            "countImported": 0,
            "countImportedDeltas": 0,
            "countImportedReferenceDeltas": 0,
            "error": {"code": code, "message": message, "tenantActionable": True},
            "state": "Failed",
            "timeBegan": began,
            "timeEnded": self.tenant.stamp(),
        }
        status["lastExecution"] = execution
        status["countSuccessiveCompleteFailures"] += 1
        interval = self.config.cycle_interval_seconds
        if isinstance(error, ScimFailure) and error.rejected_token:
            previous = status.get("quarantine") or {}
            interval = self.config.quarantine_interval_seconds
            status["code"] = "Quarantine"
            status["quarantine"] = {
                "currentBegan": previous.get("currentBegan", began),
                "nextAttempt": self.tenant.later(interval),
                "reason": "EncounteredQuarantineException",
                "seriesBegan": previous.get("seriesBegan", began),
                "seriesCount": int(previous.get("seriesCount", 0)) + 1,
                "error": {"code": code, "message": message, "tenantActionable": True},
            }
        job["_engine"]["nextRun"] = self.tenant.later(interval)
        self.tenant.save()
        log.info("cycle %s of job %s failed: %s", cycle_id, job["id"], code)
        return execution

    def due(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Started jobs whose next cycle is due."""
        now = self.tenant.now()
        found = []
        for sp in self.tenant.collection("servicePrincipals").values():
            for job in sp.get("synchronization", {}).get("jobs", {}).values():
                next_run = job.get("_engine", {}).get("nextRun")
                if job["schedule"]["state"] != "Active" or next_run is None:
                    continue
                if parse_iso(next_run) <= now:
                    found.append((sp, job))
        return found

    def tick(self) -> None:
        """Run every due cycle (the scheduler calls this about once a second)."""
        for sp, job in self.due():
            try:
                self.run_cycle(sp, job)
            except Exception:
                log.exception("cycle of job %s raised", job.get("id"))
