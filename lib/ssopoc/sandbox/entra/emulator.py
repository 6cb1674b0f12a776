"""The Entra emulator: sign-in endpoints and Microsoft Graph on one HTTPS port.

Paths:

- `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/oauth2/v2.0/token`,
  `/common/discovery/instance`: the identity platform (`tokens`);
- `/v1.0/...` and `/beta/...`: Graph (`graph_users`, `graph_apps`, `sync_api`,
  `audit_logs`), plus `/$batch`;
- `/_entra/clock` (POST `{"advance_seconds": n}`) and `/_entra/cycle` (POST
  `{"jobId": ...}`, optional): admin calls of the sandbox, not of Graph. The first
  moves the emulator's clock (token expiry, escrow retries, fidelity-profile
  cycles); the second runs a provisioning cycle of started jobs now.

Settings: `sandbox.emulators.entra` (see `config.EntraConfig`); the health
document lists every [U] assumption with its current value.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from ssopoc.sandbox.base import Emulator, EmulatorContext
from ssopoc.sandbox.entra import seed as seeding
from ssopoc.sandbox.entra.audit_logs import ProvisioningLogsApi
from ssopoc.sandbox.entra.batch import run_batch
from ssopoc.sandbox.entra.config import EntraConfig, assumptions
from ssopoc.sandbox.entra.cycles import JobRunner
from ssopoc.sandbox.entra.errors import GraphError
from ssopoc.sandbox.entra.graph_apps import ApplicationsApi
from ssopoc.sandbox.entra.graph_groups import AssignmentsApi
from ssopoc.sandbox.entra.graph_users import UsersApi
from ssopoc.sandbox.entra.routing import Call, Router
from ssopoc.sandbox.entra.store import Tenant
from ssopoc.sandbox.entra.sync_api import SynchronizationApi
from ssopoc.sandbox.entra.sync_on_demand import OnDemandApi
from ssopoc.sandbox.entra.tokens import TokenService

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

GRAPH_PATH = re.compile(r"^/(v1\.0|beta)(/.*)$")
DISCOVERY = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$")
TOKEN = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
KEYS = re.compile(r"^/([^/]+)/discovery/v2\.0/keys$")
GRAPH_CONTENT = (
    "application/json;odata.metadata=minimal;odata.streaming=true;charset=utf-8"
)


class EntraEmulator(Emulator):
    """Microsoft Entra ID: identity platform, Graph and the provisioning service."""

    name = "entra"

    def fault_body(self, status: int) -> dict[str, Any]:
        """Graph's error envelope for an injected 429 or 5xx (microsoft.md §2.5, §2.6).

        [U] The `code` values are assumptions: §2.5 fixes the envelope, not the
        codes Graph puts in a throttling or availability answer.
        """
        code = {429: "TooManyRequests", 503: "serviceNotAvailable"}.get(
            status, "generalException"
        )
        error = GraphError(status, code, "Injected by the sandbox's fault switch.")
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        request_id = str(uuid.uuid4())
        body: dict[str, Any] = error.body(stamp, request_id, request_id)
        return body

    def __init__(self, context: EmulatorContext) -> None:
        self.config = EntraConfig.from_mapping(context.config)
        self.tenant = Tenant(context.store, context.seed)
        self.tokens = TokenService(self.tenant, self.config.token_lifetime_seconds)
        base = context.base_url
        self.users = UsersApi(self.tenant, self.config, base)
        self.apps = ApplicationsApi(self.tenant, base)
        self.assignments = AssignmentsApi(self.tenant, base, self.apps)
        self.runner = JobRunner(
            self.tenant,
            self.config,
            context.ca_file,
            context.base_urls.get("atlassian"),
            self._books,
        )
        self.sync = SynchronizationApi(self.tenant, self.config, self.runner)
        self.on_demand = OnDemandApi(self.tenant, self.config, self.runner, self.sync)
        self.logs = ProvisioningLogsApi(self.tenant, self.config, base)
        self.router = Router(self.apps.owns)
        for api in (
            self.users,
            self.apps,
            self.assignments,
            self.sync,
            self.on_demand,
            self.logs,
        ):
            api.routes(self.router)
        super().__init__(context)
        self._stopping = threading.Event()
        self._scheduler = threading.Thread(
            target=self._schedule, name="sandbox-entra-cycles", daemon=True
        )
        self._scheduler.start()

    # -- lifecycle -----------------------------------------------------------------

    def _books(self) -> tuple[dict[str, str], dict[str, str]]:
        credentials = self.context.credentials
        identifiers = self.context.identifiers
        return (
            credentials.read() if credentials else {},
            identifiers.read() if identifiers else {},
        )

    def seed(self) -> None:
        """Seed the tenant and publish its credentials and ids for the workbook."""
        with self.tenant.lock:
            credentials, identifiers = seeding.seed(
                self.tenant, self.config, self.sync.template()
            )
            self.tenant.doc["published"] = identifiers
            self.tenant.save()
        self._publish(credentials, identifiers)

    def load(self, document: dict[str, Any]) -> None:
        """Take up saved state; publish again (the secrets derive from the seed)."""
        self.tenant.load(document)
        self._publish(self._credentials(), dict(document.get("published", {})))

    def _credentials(self) -> dict[str, str]:
        return {
            "entra_client_secret": self.tenant.derived_secret("workbook"),
            "entra_limited_client_secret": self.tenant.derived_secret("limited"),
        }

    def _publish(
        self, credentials: dict[str, str], identifiers: dict[str, str]
    ) -> None:
        if self.context.credentials is not None:
            self.context.credentials.publish(credentials)
        if self.context.identifiers is not None:
            self.context.identifiers.publish(identifiers)

    def reset(self) -> None:
        """Back to the seeded tenant; the on-demand rate limit starts afresh."""
        with self.tenant.lock:
            self.context.store.clear()
            self.seed()
        self.on_demand.reset_limits()

    def stop(self) -> None:
        """Stop the cycle scheduler (tests that build the emulator in-process)."""
        self._stopping.set()

    def _schedule(self) -> None:
        while not self._stopping.wait(0.5):
            try:
                self.runner.tick()
            except Exception:
                log.exception("the cycle scheduler failed")

    def health(self) -> dict[str, Any]:
        """Tenant, profile, settings and the [U] assumptions with their values."""
        return {
            "tenant_id": self.tenant.doc.get("tenant", {}).get("id"),
            "domain": seeding.DOMAIN,
            "profile": self.config.profile,
            "settings": dataclasses.asdict(self.config),
            "assumptions": assumptions(self.config),
        }

    # -- WSGI ----------------------------------------------------------------------

    def wsgi(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Route a request to the identity platform, Graph or the admin calls."""
        request = Request(environ)
        path = request.path
        graph = GRAPH_PATH.match(path)
        if graph:
            status, body, headers = self._graph(request, graph.group(1), graph.group(2))
        elif path.startswith("/_entra/"):
            status, body, headers = self._admin(request, path[len("/_entra/") :])
        else:
            status, body, headers = self._login(request, path)
        return _respond(start_response, status, body, headers)

    def _login(self, request: Request, path: str) -> tuple[int, Any, dict[str, str]]:
        base = self.context.base_url
        plain = {"Content-Type": "application/json; charset=utf-8"}
        if path == "/common/discovery/instance" and request.method == "GET":
            endpoint = request.args.get("authorization_endpoint", "")
            return 200, self.tokens.instance_metadata(base, endpoint), plain
        if (match := DISCOVERY.match(path)) and request.method == "GET":
            status, body = self.tokens.discovery(match.group(1), base)
            return status, body, plain
        if (match := TOKEN.match(path)) and request.method == "POST":
            form = {k: v for k, v in request.form.items()}
            with self.tenant.lock:
                status, body = self.tokens.issue(match.group(1), form)
            return status, body, {**plain, "Cache-Control": "no-store, no-cache"}
        if (match := KEYS.match(path)) and request.method == "GET":
            return 200, {"keys": []}, plain
        return (
            404,
            {"error": "not_found", "error_description": f"No route for {path}"},
            plain,
        )

    def _graph(
        self, request: Request, version: str, path: str
    ) -> tuple[int, Any, dict[str, str]]:
        request_id = str(uuid.uuid4())
        client_request_id = request.headers.get("client-request-id", request_id)
        headers = {"request-id": request_id, "client-request-id": client_request_id}
        try:
            caller = self.tokens.verify(request.headers.get("Authorization"))
            call = Call(
                method=request.method,
                path=path,
                version=version,
                caller=caller,
                query={k: v for k, v in request.args.items()},
                headers={k.lower(): v for k, v in request.headers.items()},
                body=_json_body(request),
            )
            if path == "/$batch" and request.method == "POST":
                reply = run_batch(self.router, call)
            else:
                reply = self.router.dispatch(call)
        except GraphError as error:
            body = error.body(self.tenant.stamp(), request_id, client_request_id)
            return error.status, body, {**headers, **error.headers}
        except Exception:
            log.exception("graph %s %s failed", request.method, path)
            failure = GraphError(500, "generalException", "An internal error occurred.")
            body = failure.body(self.tenant.stamp(), request_id, client_request_id)
            return 500, body, headers
        return reply.status, reply.body, {**headers, **reply.headers}

    def _admin(self, request: Request, route: str) -> tuple[int, Any, dict[str, str]]:
        try:
            body = _json_body(request) or {}
        except GraphError as error:
            return 400, {"error": error.message}, {}
        if route == "clock" and request.method == "POST":
            self.tenant.advance(float(body.get("advance_seconds", 0)))
            return 200, {"now": self.tenant.stamp()}, {}
        if route == "cycle" and request.method == "POST":
            return self._run_now(str(body.get("jobId") or ""))
        return 404, {"error": f"no admin route {route}"}, {}

    def _run_now(self, job_id: str) -> tuple[int, Any, dict[str, str]]:
        executions = []
        for sp in list(self.tenant.collection("servicePrincipals").values()):
            for job in list(sp.get("synchronization", {}).get("jobs", {}).values()):
                if job_id and job["id"] != job_id:
                    continue
                if job["status"]["code"] not in ("Active", "Quarantine"):
                    if job_id:
                        problem = (
                            f"job {job_id} is {job['status']['code']}; start it first"
                        )
                        return 409, {"error": problem}, {}
                    continue
                execution = self.runner.run_cycle(sp, job)
                executions.append({"jobId": job["id"], "lastExecution": execution})
        if job_id and not executions:
            return 404, {"error": f"no job {job_id}"}, {}
        return 200, {"executions": executions}, {}


def _json_body(request: Request) -> Any:
    raw = request.get_data(cache=True)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as error:
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header "
            "is set and payload is of valid JSON format.",
        ) from error


def _respond(
    start_response: StartResponse, status: int, body: Any, headers: dict[str, str]
) -> list[bytes]:
    head = dict(headers)
    if status == 204 or body is None:
        payload = b""
    elif isinstance(body, int) and head.get("Content-Type") == "text/plain":
        payload = str(body).encode()
    else:
        payload = json.dumps(body).encode()
        head.setdefault("Content-Type", GRAPH_CONTENT)
    head["Content-Length"] = str(len(payload))
    text = HTTPStatus(status).phrase
    start_response(f"{status} {text}", list(head.items()))
    return [payload]
