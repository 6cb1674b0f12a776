"""Graph synchronization calls that run the engine or the evaluator at once.

- `POST .../jobs/{id}/schema/parseExpression` (and on a template): evaluate an
  expression against test properties (microsoft.md §3.6 [C]).
- `POST .../jobs/{id}/provisionOnDemand`: one user, or one group with up to 5
  members (`on_demand_group_members`), through the pipeline now, limited to 5
  requests per 10 seconds (§3.7 [C]); the answer's `key` and `value` are JSON text
  with the import, scoping, matching and export steps.

For a group the subject names the members to provision with it in
`links.members` (Graph's `synchronizationJobSubject.links`, a
`synchronizationLinkedObjects` whose `members` are "all group members that you
would like to provision"). Each member goes through the user pipeline first, with
its own log entry, and then the group, whose membership references every member
that has a target id. Assumptions [U]: more than 5 members in `links.members` is
refused with 400 `Request_BadRequest`; without `links` the group's first 5
members are provisioned with it.
"""

from __future__ import annotations

import collections
import json
import time
from typing import Any

from ssopoc.sandbox.entra import schema as schemas
from ssopoc.sandbox.entra.config import EntraConfig
from ssopoc.sandbox.entra.cycles import JobRunner, NotConfiguredError
from ssopoc.sandbox.entra.engine import Engine
from ssopoc.sandbox.entra.errors import GraphError, bad_request, not_found
from ssopoc.sandbox.entra.expressions import (
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    evaluate,
    parse,
    to_mapping_source,
)
from ssopoc.sandbox.entra.records import SOURCE_SYSTEM, Record
from ssopoc.sandbox.entra.routing import Call, Reply, Router
from ssopoc.sandbox.entra.store import Tenant
from ssopoc.sandbox.entra.sync_api import BASE, READ, WRITE, SynchronizationApi


class OnDemandApi:
    """parseExpression and provisionOnDemand."""

    def __init__(
        self,
        tenant: Tenant,
        config: EntraConfig,
        runner: JobRunner,
        jobs: SynchronizationApi,
    ) -> None:
        self.tenant = tenant
        self.config = config
        self.runner = runner
        self.jobs = jobs
        self._on_demand: dict[str, collections.deque[float]] = {}

    def reset_limits(self) -> None:
        """Forget the on-demand rate-limit window (on sandbox reset)."""
        self._on_demand.clear()

    def routes(self, router: Router) -> None:
        """Register the routes."""
        add = router.add
        for owner in ("jobs/{job}", "templates/{template}"):
            path = f"{BASE}/{owner}/schema/parseExpression"
            add("POST", path, self.parse_expression, READ)
        add("POST", f"{BASE}/jobs/{{job}}/provisionOnDemand", self.on_demand, WRITE)

    def parse_expression(self, call: Call) -> Reply:
        """`POST .../schema/parseExpression` (§3.6 [C]).

        The answer for a malformed expression (`parsingSucceeded` false, `200`) is
        [U].
        """
        body = call.json_object()
        text = body.get("expression")
        if not isinstance(text, str):
            raise bad_request("Property 'expression' is required.")
        properties = ((body.get("testInputObject") or {}).get("properties")) or []
        source = {
            p["key"]: p.get("value")
            for p in properties
            if isinstance(p, dict) and "key" in p
        }
        answer: dict[str, Any] = {
            "@odata.context": call.context("microsoft.graph.parseExpressionResponse"),
            "error": None,
            "evaluationResult": None,
            "evaluationSucceeded": False,
            "parsedExpression": None,
            "parsingSucceeded": False,
        }
        try:
            tree = parse(text)
        except ExpressionSyntaxError as error:
            answer["error"] = {"code": "ExpressionParsingFailed", "message": str(error)}
            return Reply(200, answer)
        answer["parsingSucceeded"] = True
        answer["parsedExpression"] = to_mapping_source(tree)
        try:
            value = evaluate(tree, source)
        except ExpressionEvaluationError as error:
            answer["error"] = {"code": str(error.code), "message": str(error)}
            return Reply(200, answer)
        answer["evaluationSucceeded"] = True
        answer["evaluationResult"] = (
            value if isinstance(value, list) else [] if value is None else [value]
        )
        return Reply(200, answer)

    # -- provision on demand (§3.7 [C]) --------------------------------------------

    def _limit(self, job_id: str) -> None:
        window = self._on_demand.setdefault(job_id, collections.deque())
        now = time.monotonic()
        while window and now - window[0] >= self.config.on_demand_window_seconds:
            window.popleft()
        if len(window) >= self.config.on_demand_limit:
            wait = self.config.on_demand_window_seconds - (now - window[0])
            raise GraphError(
                429,
                "TooManyRequests",
                f"Too many requests: provisionOnDemand allows "
                f"{self.config.on_demand_limit} requests per "
                f"{self.config.on_demand_window_seconds:g} seconds.",
                headers={"Retry-After": str(max(1, int(wait + 0.999)))},
            )
        window.append(now)

    def on_demand(self, call: Call) -> Reply:
        """`POST .../provisionOnDemand`: one user or group through the pipeline."""
        parameters = call.json_object().get("parameters")
        if not isinstance(parameters, list) or len(parameters) != 1:
            raise bad_request("Exactly one item is expected in 'parameters'.")
        item = parameters[0] if isinstance(parameters[0], dict) else {}
        subjects = item.get("subjects") or []
        if len(subjects) != 1 or not isinstance(subjects[0], dict):
            raise bad_request("Exactly one subject is expected.")
        subject = subjects[0]
        with self.tenant.lock:
            sp, job = self.jobs.job_of(call)
            if schemas.rule(job["schema"], str(item.get("ruleId"))) is None:
                raise bad_request(f"The rule id '{item.get('ruleId')}' is not valid.")
            kind = subject.get("objectTypeName")
            if kind not in ("User", "Group"):
                raise bad_request("objectTypeName must be 'User' or 'Group'.")
            object_id = str(subject.get("objectId"))
            members = self._checked(str(kind), object_id, subject)
            self._limit(job["id"])
            try:
                engine = self.runner.engine(sp, job)
            except NotConfiguredError as error:
                raise bad_request(f"The job is not configured: {error}") from error
            started = self.tenant.stamp()
            record = self._run(engine, sp, job, str(kind), object_id, members)
            self.tenant.save()
        return Reply(200, on_demand_answer(call, record, started, self.tenant.stamp()))

    def _checked(self, kind: str, object_id: str, subject: dict[str, Any]) -> list[str]:
        """404 for an unknown object; for a group, the members to provision with
        it (see the module docstring)."""
        if kind == "User":
            known = (
                self.tenant.collection("users").keys()
                | self.tenant.collection("deletedItems").keys()
            )
            if object_id not in known:
                raise not_found(object_id)
            return []
        group_id = object_id
        group = self.tenant.collection("groups").get(group_id)
        if group is None:
            raise not_found(group_id)
        limit = self.config.on_demand_group_members
        linked = (subject.get("links") or {}).get("members")
        if linked is None:
            return list(group["members"])[:limit]
        if not isinstance(linked, list) or len(linked) > limit:
            raise bad_request(
                f"links.members must list at most {limit} members of the group."
            )
        if not all(isinstance(m, dict) and m.get("objectId") for m in linked):
            raise bad_request("Each item of links.members needs an objectId.")
        chosen = [str(m["objectId"]) for m in linked]
        for member in chosen:
            if member not in group["members"]:
                raise bad_request(
                    f"'{member}' in links.members is not a member of group "
                    f"'{group_id}'."
                )
        return chosen

    def _run(
        self,
        engine: Engine,
        sp: dict[str, Any],
        job: dict[str, Any],
        kind: str,
        object_id: str,
        members: list[str],
    ) -> Record:
        """Members first, each with its own log entry; then the object itself."""
        cycle_id = self.tenant.new_id()
        done = [
            self.runner.process(engine, sp, job, member, cycle_id)
            for member in members
            if member in self.tenant.collection("users")
        ]
        return self.runner.process(engine, sp, job, object_id, cycle_id, kind, done)


def on_demand_answer(
    call: Call, record: Record, started: str, ended: str
) -> dict[str, Any]:
    """The `stringKeyStringValuePair` answer; `key` and `value` are JSON text."""
    key = {
        "result": record.result,
        "details": {"errorCode": record.error_code, "errorMessage": record.reason}
        if record.result != "Success"
        else {},
    }
    value = {
        "action": record.action,
        "changeId": record.change_id,
        "startTime": started,
        "endTime": ended,
        "modifiedProperties": [
            {
                "displayName": m["displayName"],
                "oldValue": m["oldValue"],
                "newValue": m["newValue"],
            }
            for m in record.modified
        ],
        "provisioningSteps": [
            {
                "name": s["name"],
                "type": s["provisioningStepType"].capitalize(),
                "status": s["status"].capitalize(),
                "description": s["description"],
                "timestamp": ended,
                "details": s["details"],
            }
            for s in record.steps
        ],
        "reportableIdentifier": record.source_name,
        "statusInfo": {
            "status": record.result,
            "errorCode": record.error_code or None,
            "reason": record.reason or None,
            "additionalDetails": None,
            "errorCategory": "NonServiceFailure"
            if record.result == "Failure"
            else None,
            "recommendedAction": None,
        },
        "sourceIdentity": {
            "id": record.source_id,
            "type": record.object_type,
            "displayName": record.source_name,
            "details": {},
        },
        "sourceSystem": {"name": SOURCE_SYSTEM},
        "targetIdentity": {
            "id": record.target_id,
            "type": record.object_type,
            "details": {},
        },
        "targetSystem": {"name": record.target_system},
    }
    return {
        "@odata.context": call.context("microsoft.graph.stringKeyStringValuePair"),
        "key": json.dumps(key),
        "value": json.dumps(value),
    }
