"""Graph synchronization API: templates, jobs, secrets, schema, on-demand runs.

Base `/servicePrincipals/{id}/synchronization` (microsoft.md §3 and the
"Synchronization" bullets of §7). Permissions (§3.1 [C]): writes need
`Synchronization.ReadWrite.All`, or `Application.ReadWrite.OwnedBy` on an owned
service principal; reads also accept `Synchronization.Read.All`.
"""

from __future__ import annotations

from typing import Any

from ssopoc.sandbox.entra import schema as schemas
from ssopoc.sandbox.entra.config import EntraConfig
from ssopoc.sandbox.entra.cycles import JobRunner, NotConfiguredError, initial_status
from ssopoc.sandbox.entra.errors import bad_request, not_found
from ssopoc.sandbox.entra.routing import Call, Reply, Router, need
from ssopoc.sandbox.entra.scim_target import ScimFailure
from ssopoc.sandbox.entra.store import Tenant

READ = need("Synchronization.Read.All", "Synchronization.ReadWrite.All", owned=True)
WRITE = need("Synchronization.ReadWrite.All", owned=True)
BASE = "/servicePrincipals/{sp}/synchronization"
# Assumption [U]: the code Entra's "Test connection" reports for refused credentials.
CREDENTIALS_CODE = (
    "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable"
)
RESET_SCOPES = frozenset(
    {
        "None",
        "ConnectorDataStore",
        "Escrows",
        "Watermark",
        "QuarantineState",
        "Full",
        "ForceDeletes",
    }
)


def iso_duration(seconds: float) -> str:
    """Seconds as an ISO 8601 duration (`PT40M`, `PT5S`)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs or text == "PT" else "")


def new_job(
    tenant: Tenant, config: EntraConfig, template: dict[str, Any]
) -> dict[str, Any]:
    """A job created from a template: disabled, not configured (§3.2, §7 [C])."""
    job_id = f"{template['id']}.{tenant.new_hex()}"
    return {
        "id": job_id,
        "templateId": template["id"],
        "schedule": {
            "expiration": None,
            "interval": iso_duration(config.cycle_interval_seconds),
            "state": "Disabled",
        },
        "status": initial_status("NotConfigured"),
        "synchronizationJobSettings": [
            {"name": "QuarantineTooManyDeletesThreshold", "value": "500"}
        ],
        "schema": schemas.fresh(template["schema"], job_id),
        "_engine": {"links": {}, "escrows": {}, "watermark": None, "nextRun": None},
    }


def public_job(job: dict[str, Any]) -> dict[str, Any]:
    """A job as Graph shows it."""
    return {k: v for k, v in job.items() if k not in ("schema", "_engine")}


class SynchronizationApi:
    """The routes under `/servicePrincipals/{id}/synchronization`."""

    def __init__(self, tenant: Tenant, config: EntraConfig, runner: JobRunner) -> None:
        self.tenant = tenant
        self.config = config
        self.runner = runner
        self.template_schema = schemas.load_fixture(config.schema_fixture)

    def template(self) -> dict[str, Any]:
        """The Atlassian Cloud template (§3.2: id [U], factoryTag, full schema)."""
        return {
            "id": self.config.template_id,
            "applicationId": None,
            "default": True,
            "description": "Atlassian Cloud (SCIM 2.0)",
            "discoverable": True,
            "factoryTag": "CustomSCIM",
            "metadata": [],
            "schema": schemas.fresh(self.template_schema, self.config.template_id),
        }

    def routes(self, router: Router) -> None:
        """Register the synchronization routes."""
        add = router.add
        add("GET", f"{BASE}/templates", self.templates, READ)
        add("GET", f"{BASE}/jobs", self.jobs, READ)
        add("POST", f"{BASE}/jobs", self.create_job, WRITE)
        add("PUT", f"{BASE}/secrets", self.put_secrets, WRITE)
        add("GET", f"{BASE}/jobs/{{job}}", self.get_job, READ)
        add("DELETE", f"{BASE}/jobs/{{job}}", self.delete_job, WRITE)
        add("POST", f"{BASE}/jobs/{{job}}/validateCredentials", self.validate, WRITE)
        add("POST", f"{BASE}/jobs/{{job}}/start", self.start, WRITE)
        add("POST", f"{BASE}/jobs/{{job}}/pause", self.pause, WRITE)
        add("POST", f"{BASE}/jobs/{{job}}/restart", self.restart, WRITE)
        add("GET", f"{BASE}/jobs/{{job}}/schema", self.get_schema, READ)
        add("PUT", f"{BASE}/jobs/{{job}}/schema", self.put_schema, WRITE)
        add("DELETE", f"{BASE}/jobs/{{job}}/schema", self.delete_schema, WRITE)

    # -- lookups -------------------------------------------------------------------

    def _sp(self, call: Call) -> dict[str, Any]:
        sp = self.tenant.collection("servicePrincipals").get(call.params["sp"])
        if sp is None:
            raise not_found(call.params["sp"])
        return sp

    def job_of(self, call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
        sp = self._sp(call)
        job = sp.get("synchronization", {}).get("jobs", {}).get(call.params["job"])
        if job is None:
            raise not_found(call.params["job"])
        return sp, job

    # -- templates, jobs, secrets --------------------------------------------------

    def templates(self, call: Call) -> Reply:
        """`GET .../templates` → one template with its full schema."""
        sp = self._sp(call)
        value = [self.template()] if sp.get("synchronization") is not None else []
        return Reply(
            200,
            {"@odata.context": call.context("synchronizationTemplate"), "value": value},
        )

    def jobs(self, call: Call) -> Reply:
        """`GET .../jobs`."""
        jobs = self._sp(call).get("synchronization", {}).get("jobs", {})
        return Reply(200, {"value": [public_job(j) for j in jobs.values()]})

    def create_job(self, call: Call) -> Reply:
        """`POST .../jobs {"templateId"}` → `201`, disabled (§3.2 [C])."""
        template_id = call.json_object().get("templateId")
        with self.tenant.lock:
            sp = self._sp(call)
            if (
                template_id != self.config.template_id
                or sp.get("synchronization") is None
            ):
                raise bad_request(f"The template '{template_id}' was not found.")
            job = new_job(self.tenant, self.config, self.template())
            sync = sp["synchronization"]
            if self.runner.secrets(sp).get("BaseAddress"):
                job["status"]["code"] = self.config.status_after_secrets
            sync.setdefault("jobs", {})[job["id"]] = job
            self.tenant.save()
        return Reply(
            201,
            {
                "@odata.context": call.context("synchronizationJob/$entity"),
                **public_job(job),
            },
        )

    def get_job(self, call: Call) -> Reply:
        """`GET .../jobs/{id}` with the documented status fields (§3.5 [C])."""
        return Reply(200, public_job(self.job_of(call)[1]))

    def delete_job(self, call: Call) -> Reply:
        """`DELETE .../jobs/{id}` → `204`, with all its state."""
        with self.tenant.lock:
            sp, job = self.job_of(call)
            del sp["synchronization"]["jobs"][job["id"]]
            self.tenant.save()
        return Reply(204)

    def put_secrets(self, call: Call) -> Reply:
        """`PUT .../secrets` → `204` (§3.3 [C]); the status after it is [U]."""
        value = call.json_object().get("value")
        if not isinstance(value, list) or not all(
            isinstance(i, dict) and isinstance(i.get("key"), str) for i in value
        ):
            raise bad_request('The body must be {"value": [{"key", "value"}]}.')
        with self.tenant.lock:
            sp = self._sp(call)
            sync = sp.setdefault("synchronization", {"jobs": {}})
            kept = {s["key"]: s for s in sync.get("secrets", [])}
            for item in value:
                kept[item["key"]] = {
                    "key": item["key"],
                    "value": str(item.get("value", "")),
                }
            sync["secrets"] = list(kept.values())
            sync["sandboxLinked"] = False
            for job in sync.get("jobs", {}).values():
                if job["status"]["code"] == "NotConfigured":
                    job["status"]["code"] = self.config.status_after_secrets
            self.tenant.save()
        return Reply(204)

    def validate(self, call: Call) -> Reply:
        """`POST .../validateCredentials` → `204`, or `400` after a failed probe.

        §3.3 [C]: the service queries the target for a random userName. The
        error's code and text when the probe fails are [U].
        """
        body = call.body if isinstance(call.body, dict) else {}
        sp, _ = self.job_of(call)
        probe_sp = sp
        if not body.get("useSavedCredentials", True) or body.get("credentials"):
            given = {c["key"]: c.get("value") for c in body.get("credentials", [])}
            probe_sp = {
                **sp,
                "synchronization": {
                    "secrets": [{"key": k, "value": v} for k, v in given.items()]
                },
            }
        try:
            self.runner.target(probe_sp).query(
                "Users", "userName", self.tenant.new_hex()
            )
        except (NotConfiguredError, ScimFailure) as error:
            raise bad_request(
                "You appear to have entered invalid credentials. Error code: "
                f"{CREDENTIALS_CODE}; {error}",
                details=[
                    {"code": "CredentialValidationUnavailable", "target": "SecretToken"}
                ],
            ) from error
        return Reply(204)

    # -- lifecycle (§3.4 [C]) ------------------------------------------------------

    def start(self, call: Call) -> Reply:
        """`POST .../start` → `204`: Active, quarantine cleared, a cycle soon."""
        with self.tenant.lock:
            _, job = self.job_of(call)
            if job["status"]["code"] == "NotConfigured":
                raise bad_request(
                    "The job cannot start: its credentials are not configured."
                )
            self._activate(job)
            self.tenant.save()
        return Reply(204)

    def _activate(self, job: dict[str, Any]) -> None:
        job["schedule"]["state"] = "Active"
        job["status"]["code"] = "Active"
        job["status"]["quarantine"] = None
        job["_engine"]["nextRun"] = self.tenant.stamp()

    def pause(self, call: Call) -> Reply:
        """`POST .../pause` → `204`; the state is kept."""
        with self.tenant.lock:
            _, job = self.job_of(call)
            job["schedule"]["state"] = "Paused"
            job["status"]["code"] = "Paused"
            self.tenant.save()
        return Reply(204)

    def restart(self, call: Call) -> Reply:
        """`POST .../restart {"criteria": {"resetScope"}}` → `204`.

        An empty scope means QuarantineState, Watermark and Escrows; `Full` also
        forgets which target object each user is linked to.
        """
        body = call.body if isinstance(call.body, dict) else {}
        text = str((body.get("criteria") or {}).get("resetScope") or "")
        scopes = {s.strip() for s in text.split(",") if s.strip()}
        unknown = scopes - RESET_SCOPES
        if unknown:
            raise bad_request(f"Invalid resetScope value '{sorted(unknown)[0]}'.")
        if not scopes:
            scopes = {"QuarantineState", "Watermark", "Escrows"}
        with self.tenant.lock:
            _, job = self.job_of(call)
            state = job["_engine"]
            if scopes & {"Watermark", "Full"}:
                state["watermark"] = None
            if scopes & {"Escrows", "Full"}:
                state["escrows"] = {}
            if "Full" in scopes:
                state["links"] = {}
                state["groupLinks"] = {}
            self._activate(job)
            self.tenant.save()
        return Reply(204)

    # -- schema (§3.6 [C]) ---------------------------------------------------------

    def get_schema(self, call: Call) -> Reply:
        """`GET .../schema`."""
        return Reply(200, self.job_of(call)[1]["schema"])

    def put_schema(self, call: Call) -> Reply:
        """`PUT .../schema` → `204`: validated, version bumped, new initial cycle."""
        body = call.json_object()
        schemas.validate(body)
        with self.tenant.lock:
            _, job = self.job_of(call)
            count = int(job["_engine"].get("schemaVersion", 0)) + 1
            body = {
                **body,
                "id": job["id"],
                "version": f"Date:{self.tenant.stamp()}~Tag:{count}",
            }
            job["schema"] = body
            job["_engine"]["schemaVersion"] = count
            job["_engine"]["watermark"] = None  # §4.3 [C]: a new initial cycle
            self.tenant.save()
        return Reply(204)

    def delete_schema(self, call: Call) -> Reply:
        """`DELETE .../schema` → `204`: back to the template's schema."""
        with self.tenant.lock:
            _, job = self.job_of(call)
            job["schema"] = schemas.fresh(self.template_schema, job["id"])
            job["_engine"]["watermark"] = None
            self.tenant.save()
        return Reply(204)
