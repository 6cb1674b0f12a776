"""`EntraClient`: Microsoft Graph for the notebooks, sandbox or live alike.

    entra = EntraClient.from_workbook(wb)
    user = entra.users.create("alice", mail="alice@example.org")
    app = entra.apps.enterprise_app("Atlassian Cloud")
    entra.apps.assign_user(app["id"], user["id"])
    outcome = entra.provisioning.provision_on_demand(app["id"], user["id"])
    outcome.steps  # a table of import, scoping, matching and export

Every call goes through the workbook's HTTP client (TLS trust, retries, one log
line per attempt, a redacted transcript). Errors are the typed `EntraError`s of
`ssopoc.entra.errors`, each naming Graph's code, message, request id and the next
action.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ssopoc.display import Table
from ssopoc.entra.apps import Applications
from ssopoc.entra.auth import MsalAuth
from ssopoc.entra.errors import graph_error
from ssopoc.entra.provisioning import Provisioning
from ssopoc.entra.users import Users
from ssopoc.errors import ConfigError
from ssopoc.http import make_client
from ssopoc.sandbox import SandboxHandle, read_credentials, read_identifiers
from ssopoc.settings import Retries, Timeouts
from ssopoc.transcript import Transcript

if TYPE_CHECKING:
    from ssopoc.workbook import Workbook

log = logging.getLogger(__name__)


class EntraClient:
    """Graph calls with msal tokens, grouped as `users`, `apps`, `provisioning`."""

    def __init__(
        self,
        graph: httpx.Client,
        auth: MsalAuth,
        *,
        prefix: str,
        domain: str | None = None,
        sandbox_url: str | None = None,
        sandbox_ca: Path | None = None,
    ) -> None:
        self.http = graph
        self.auth = auth
        self.prefix = prefix
        self.sandbox_url = sandbox_url
        self.sandbox_ca = sandbox_ca
        self._domain = domain
        self.users = Users(self)
        self.apps = Applications(self)
        self.provisioning = Provisioning(self)

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_values(
        cls,
        *,
        authority: str,
        client_id: str,
        client_secret: str,
        graph_url: str,
        prefix: str = "ssopoc-",
        ca_file: Path | None = None,
        transcript: Transcript | None = None,
        timeouts: Timeouts | None = None,
        retries: Retries | None = None,
        sandbox: bool = False,
        domain: str | None = None,
    ) -> EntraClient:
        """A client from explicit values (tests, scripts).

        `authority` is `https://<login host>/<tenant id>`; with `sandbox` true it is
        the emulator's URL, instance discovery is off and the sandbox admin calls
        (`run_cycle_now`, `sandbox_assumptions`) are allowed.
        """
        options: dict[str, Any] = {
            "timeouts": timeouts,
            "retries": retries,
            "ca_file": ca_file,
            "transcript": transcript,
        }
        login = make_client("entra_login", **options)
        auth = MsalAuth(
            client_id,
            client_secret,
            authority,
            login,
            instance_discovery=not sandbox,
        )
        graph = make_client(
            "graph", base_url=f"{graph_url.rstrip('/')}/v1.0", auth=auth, **options
        )
        return cls(
            graph,
            auth,
            prefix=prefix,
            domain=domain,
            sandbox_url=graph_url.rstrip("/") if sandbox else None,
            sandbox_ca=ca_file if sandbox else None,
        )

    @classmethod
    def from_sandbox(
        cls, sandbox: SandboxHandle, *, app: str = "entra", **options: Any
    ) -> EntraClient:
        """A client of the Entra emulator, signed in as a seeded app registration.

        `app` is `entra` (the workbook's app) or `entra_limited` (the seeded app
        with too few permissions). `options` go to `from_values` (`prefix` is
        required there). Raises `ConfigError` when the emulator published no
        credentials for that app.
        """
        base = sandbox.base_urls["entra"]
        secrets = read_credentials(sandbox.state_dir)
        ids = read_identifiers(sandbox.state_dir)
        secret = secrets.get(f"{app}_client_secret")
        if secret is None or "entra_tenant_id" not in ids:
            raise ConfigError(
                "sandbox credentials",
                f"the Entra emulator has published no {app} client secret or tenant",
                "restart the sandbox (make clean-sandbox, then run again)",
            )
        return cls.from_values(
            authority=f"{base}/{ids['entra_tenant_id']}",
            client_id=ids[f"{app}_client_id"],
            client_secret=secret,
            graph_url=base,
            ca_file=sandbox.ca_file,
            sandbox=True,
            domain=ids.get("entra_tenant_domain"),
            **options,
        )

    @classmethod
    def from_workbook(cls, wb: Workbook) -> EntraClient:
        """The client of a notebook: the emulator in sandbox mode, else the tenant.

        Raises `ConfigError` when the sandbox published no Entra credentials, or a
        live setting or `ENTRA_CLIENT_SECRET` is missing.
        """
        http = wb.settings.params.http
        common: dict[str, Any] = {
            "prefix": wb.prefix,
            "transcript": wb.transcript,
            "timeouts": http.timeouts,
            "retries": http.retries,
        }
        if wb.sandbox is not None:
            return cls.from_sandbox(wb.sandbox, **common)
        live = wb.settings.params.live
        secret = wb.settings.secrets.entra_client_secret
        for name in ("entra_tenant_id", "entra_client_id"):
            if not getattr(live, name):
                raise ConfigError(
                    f"live.{name}", "is empty", f"set live.{name} in the params file"
                )
        if secret is None:
            raise ConfigError(
                "ENTRA_CLIENT_SECRET",
                "is not set",
                "set ENTRA_CLIENT_SECRET in .env (see .env.example)",
            )
        return cls.from_values(
            authority=f"{live.entra_authority.rstrip('/')}/{live.entra_tenant_id}",
            client_id=str(live.entra_client_id),
            client_secret=secret.get_secret_value(),
            graph_url=live.graph_url,
            **common,
        )

    def close(self) -> None:
        """Close the HTTP clients."""
        self.http.close()

    # -- requests -------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        permission: str | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        """One Graph call; the JSON answer, or None for `204`.

        `permission` is the application permission the call needs, named in the
        `GraphPermissionError` of a `403`. Raises an `EntraError` subclass.
        """
        response = self.http.request(
            method, path, params=params, headers=headers, json=body
        )
        if response.status_code >= 400:
            raise graph_error(response, permission)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def pages(
        self,
        path: str,
        *,
        permission: str | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following `@odata.nextLink`."""
        count = 0
        url: str | None = path
        query = params
        while url:
            page = self.call(
                "GET", url, permission=permission, params=query, headers=headers
            )
            for item in page.get("value", []):
                yield item
                count += 1
                if limit is not None and count >= limit:
                    return
            url, query = page.get("@odata.nextLink"), None

    # -- tenant facts ------------------------------------------------------------------

    def domain(self) -> str:
        """The tenant's default verified domain (`GET /organization`)."""
        if self._domain is None:
            org = self.call("GET", "/organization", permission="Directory.Read.All")
            domains = org["value"][0]["verifiedDomains"]
            default = next((d for d in domains if d.get("isDefault")), domains[0])
            self._domain = str(default["name"])
        return self._domain

    def granted_permissions(self) -> list[str]:
        """The Graph application permissions granted to this app, by name.

        Reads the app's service principal's app role assignments to Microsoft
        Graph, and Graph's app roles to name them (`Application.Read.All`).
        """
        need = "Application.Read.All"
        graph = self.call(
            "GET",
            "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')",
            permission=need,
        )
        names = {r["id"]: r["value"] for r in graph.get("appRoles", [])}
        mine = f"/servicePrincipals(appId='{self.auth.client_id}')/appRoleAssignments"
        return sorted(
            names.get(a["appRoleId"], a["appRoleId"])
            for a in self.pages(mine, permission=need)
            if a["resourceId"] == graph["id"]
        )

    def permissions_table(self, required: dict[str, str]) -> Table:
        """Each required permission (name → why), and whether it is granted."""
        granted = set(self.granted_permissions())
        rows = [
            (name, "granted" if name in granted else "MISSING", why)
            for name, why in sorted(required.items())
        ]
        return Table(("permission", "status", "why the workbook needs it"), rows)

    # -- sandbox only ------------------------------------------------------------------

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        if self.sandbox_url is None:
            raise ConfigError(
                "mode", "is live, and this is a sandbox-only call", "skip it when live"
            )
        with make_client("entra_admin", ca_file=self.sandbox_ca) as admin:
            response = admin.request(method, f"{self.sandbox_url}{path}", json=body)
        if response.status_code >= 400:
            raise graph_error(response)
        return response.json()

    def sandbox_assumptions(self) -> Table:
        """The emulator's [U] assumptions with their current values (sandbox only)."""
        health = self._admin("GET", "/_sandbox/health")
        rows = [
            (a["setting"], json.dumps(a["value"]), a["fact"], a["meaning"])
            for a in health.get("assumptions", [])
        ]
        return Table(("setting", "value", "fact", "what it decides"), rows)

    def run_cycle_now(self, job_id: str | None = None) -> list[dict[str, Any]]:
        """Run a provisioning cycle of started jobs now (sandbox only)."""
        found = self._admin(
            "POST", "/_entra/cycle", {"jobId": job_id} if job_id else {}
        )
        executions: list[dict[str, Any]] = found.get("executions", [])
        return executions

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock forward (sandbox only)."""
        self._admin("POST", "/_entra/clock", {"advance_seconds": seconds})
