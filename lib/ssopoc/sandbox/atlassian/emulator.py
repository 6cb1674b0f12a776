"""The Atlassian Cloud emulator: one port for every Atlassian API the workbook uses.

Routes (atlassian.md §8; the site URL is the API URL in the sandbox):

- `/scim/directory/{directoryId}/...`: the SCIM directory (`scim`);
- `/admin/...`: the organization admin and SCIM-link APIs (`admin`);
- `/rest/api/3/...` and `/wiki/rest/api/...`: Jira and Confluence (`sites`);
- `/_atlassian/...`: sandbox controls that Atlassian has no API for: the
  simulated sign-in (`login`), the assumptions in force, the troubleshooting log,
  granting a group product access, and the API user's Jira permission.
  (`/_sandbox/...` belongs to the host.)

Seeded state: the org with `openmrs.org` and `id.openmrs.org` verified and claimed
(SSO enforced) and `openmrs.net` verified but unclaimed; one SCIM directory with
its API key; an org API key; a Jira/Confluence site with an API user and token;
two SCIM groups granting Jira Software and Confluence. Secrets are published to
the credential book and kept in the state only as SHA-256 digests.
"""

from __future__ import annotations

import copy
import logging
import secrets
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ssopoc.sandbox.atlassian.admin import AdminApi
from ssopoc.sandbox.atlassian.assumptions import (
    AtlassianAssumptions,
    describe,
    load_assumptions,
)
from ssopoc.sandbox.atlassian.directory import Directory
from ssopoc.sandbox.atlassian.login import login, signup
from ssopoc.sandbox.atlassian.scim import ScimEndpoint
from ssopoc.sandbox.atlassian.sites import Sites
from ssopoc.sandbox.atlassian.tenant import PRODUCTS, Tenant, digest, same_secret
from ssopoc.sandbox.atlassian.web import HttpProblem, Request, Response
from ssopoc.sandbox.base import Emulator

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

STATE_VERSION = 1
SECRET_NAMES = ("atlassian_scim_token", "atlassian_org_api_key", "jira_api_token")
API_EMAIL = "jira-api@openmrs.org"
SEED_DOMAINS = (
    ("openmrs.org", True, True),
    ("id.openmrs.org", True, True),
    ("openmrs.net", False, False),
)
SEED_GROUPS = {
    "openmrs-jira-users": "jira-software",
    "openmrs-confluence-users": "confluence",
}


class AtlassianEmulator(Emulator):
    """Atlassian Cloud: SCIM directory, org admin API, Jira and Confluence."""

    name = "atlassian"

    def __init__(self, context: Any) -> None:
        self.doc: dict[str, Any] = {}
        self._secrets: dict[str, str] = {}
        self._window: dict[str, list[float]] = {}
        load_assumptions(context.config)
        super().__init__(context)

    # -- state ----------------------------------------------------------------

    @property
    def assumptions(self) -> AtlassianAssumptions:
        """The settings in force: params, then runtime overrides."""
        return load_assumptions(self.context.config, self.doc.get("overrides"))

    def tenant(self) -> Tenant:
        """The tenant view of the state document."""
        return Tenant(self.doc, self.assumptions, self.context.seed)

    @property
    def public_base(self) -> str:
        """The base of `meta.location`: this emulator, or api.atlassian.com."""
        if self.assumptions.location_base == "atlassian":
            return "https://api.atlassian.com"
        return self.context.base_url

    def seed(self) -> None:
        """Build the seeded org and publish its keys and ids."""
        self.doc = {
            "version": STATE_VERSION,
            "counter": 0,
            "directories": {},
            "accounts": {},
            "members": {},
            "grants": {},
            "log": [],
            "overrides": {},
            "keys": {},
        }
        tenant = self.tenant()
        org_id = tenant.new_uuid("org")
        directory_id = tenant.new_uuid("directory")
        self.doc["org"] = {
            "id": org_id,
            "name": "OpenMRS",
            "group_names": ["org-admins", "site-admins"],
            "domains": [
                {
                    "id": tenant.new_uuid("domain"),
                    "name": name,
                    "claim_type": "dns",
                    "status": "verified",
                    "claimed": claimed,
                    "sso_enforced": enforced,
                }
                for name, claimed, enforced in SEED_DOMAINS
            ],
        }
        self.doc["directories"][directory_id] = {
            "id": directory_id,
            "name": "Microsoft Entra ID",
            "users": {},
            "groups": {},
            "links": {},
            "hidden": {},
        }
        api_user = tenant.create_account(
            API_EMAIL, "Jira API", verified=True, source="seed"
        )
        api_user.update(direct_products=sorted(PRODUCTS), browse_users=True)
        tenant.join(api_user["account_id"], "invited")
        self.doc["site"] = {"api_account_id": api_user["account_id"]}
        directory = Directory(tenant, directory_id)
        for name, product in SEED_GROUPS.items():
            group = directory.create_group({"displayName": name})
            self.doc["grants"][group["id"]] = [product]
        self.doc["log"].clear()

        self._secrets = self._secrets or {
            "atlassian_scim_token": secrets.token_urlsafe(32),
            "atlassian_org_api_key": secrets.token_urlsafe(32),
            "jira_api_token": secrets.token_urlsafe(24),
        }
        self.doc["keys"] = {
            "scim": {directory_id: digest(self._secrets["atlassian_scim_token"])},
            "org": digest(self._secrets["atlassian_org_api_key"]),
            "jira": digest(self._secrets["jira_api_token"]),
        }
        self.context.store.save(self.doc)
        self._publish(directory_id)

    def _publish(self, directory_id: str) -> None:
        base = self.context.base_url
        if self.context.credentials is not None:
            self.context.credentials.publish(self._secrets)
        if self.context.identifiers is not None:
            self.context.identifiers.publish(
                {
                    "atlassian_api_url": base,
                    "atlassian_org_id": self.doc["org"]["id"],
                    "atlassian_scim_directory_id": directory_id,
                    "jira_url": base,
                    "confluence_url": base,
                    "jira_email": API_EMAIL,
                }
            )

    def load(self, document: dict[str, Any]) -> None:
        """Take up a saved state; the keys stay those published at seeding.

        A document of another shape (an older version, or the empty one a
        placeholder left before this emulator existed) is replaced by a seed.
        """
        kept = self.context.credentials.read() if self.context.credentials else {}
        fresh = document.get("version") != STATE_VERSION or "org" not in document
        if fresh or any(name not in kept for name in SECRET_NAMES):
            log.info("atlassian state has another shape or lost its keys; reseeding")
            self.seed()
            return
        self.doc = document
        self._secrets = {name: kept[name] for name in SECRET_NAMES}

    def reset(self) -> None:
        """Back to the seeded state, keeping the published keys."""
        with self.context.store.lock:
            self.context.store.clear()
            self._window.clear()
            self.seed()

    def health(self) -> dict[str, Any]:
        """The assumptions in force and the size of the state."""
        with self.context.store.lock:
            return {
                "assumptions": {a["name"]: a["value"] for a in self.assumptions_list()},
                "org_id": self.doc["org"]["id"],
                "accounts": len(self.doc["accounts"]),
            }

    def assumptions_list(self) -> list[dict[str, Any]]:
        """Each (U) setting with its value, default and source."""
        return describe(self.assumptions)

    # -- requests -------------------------------------------------------------

    def wsgi(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Answer one request under the state lock, saving after a change."""
        request = Request.read(environ)
        with self.context.store.lock:
            before = copy.deepcopy(self.doc)
            try:
                response = self._limited(request) or self._route(request)
            except HttpProblem as problem:
                response = Response(problem.status, problem.body)
            except Exception:
                log.exception("atlassian emulator failed on %s", request.path)
                response = Response(500, {"error": "internal error of the emulator"})
            if response.status >= 400:
                # A refused request changes nothing, but Atlassian still writes
                # its troubleshooting line (atlassian.md §1.7, §6).
                written = self.doc["log"][len(before["log"]) :]
                self.doc = before
                if written:
                    self.doc["log"].extend(written)
                    self.context.store.save(self.doc)
            elif request.method != "GET" and self.doc != before:
                self.context.store.save(self.doc)
        return response.send(start_response)

    def _limited(self, request: Request) -> Response | None:
        """429 with `Retry-After` and `X-RateLimit-*` over the (U) rate limit."""
        limit = self.assumptions.rate_limit_per_minute
        if limit is None or request.path.startswith("/_atlassian/"):
            return None
        key = digest(request.headers.get("authorization", ""))
        now = time.time()
        recent = [t for t in self._window.get(key, []) if now - t < 60]
        reset = int(60 - (now - recent[0])) + 1 if recent else 60
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(limit - len(recent) - 1, 0)),
            "X-RateLimit-Reset": time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + reset)
            ),
        }
        if len(recent) >= limit:
            self._window[key] = recent
            body = {"error": "Too many requests", "traceId": secrets.token_hex(8)}
            return Response(429, body, {**headers, "Retry-After": str(reset)})
        self._window[key] = [*recent, now]
        return None

    def _route(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/scim/directory/"):
            return self._scim(request)
        if path.startswith("/admin/"):
            self._require_org_key(request)
            return AdminApi(self.tenant(), self.public_base).handle(request)
        if path.startswith(("/rest/api/3/", "/wiki/rest/api/")):
            site = Sites(self.tenant(), self.context.base_url, self.doc["keys"]["jira"])
            return site.handle(request)
        if path.startswith("/_atlassian/"):
            return self._control(request)
        raise HttpProblem(404, {"error": f"no route {path}"})

    def _scim(self, request: Request) -> Response:
        directory_id, _, rest = request.path[len("/scim/directory/") :].partition("/")
        tenant = self.tenant()
        endpoint = ScimEndpoint(
            directory_for=lambda d: (
                Directory(tenant, d) if d in self.doc["directories"] else None
            ),
            keys=lambda: self.doc["keys"]["scim"],
            assumptions=lambda: tenant.assumptions,
            public_base=lambda: self.public_base,
        )
        refused = endpoint.authorize(
            directory_id, request.headers.get("authorization"), rest
        )
        if refused is not None:
            return Response(*refused)
        query = {name: values[0] for name, values in request.query.items()}
        answer = endpoint.serve(
            directory_id,
            request.method,
            "/" + rest,
            query,
            request.headers,
            request.body,
        )
        headers = {k: v for k, v in answer.headers.items() if k != "Content-Type"}
        return Response(
            int(answer.status),
            answer.body,
            headers,
            answer.headers.get("Content-Type", "application/scim+json"),
        )

    def _require_org_key(self, request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not same_secret(
            key.strip(), self.doc["keys"]["org"]
        ):
            raise HttpProblem(401, {"code": 401, "message": "Unauthorized"})

    def _control(self, request: Request) -> Response:
        route = (request.method, request.path.rstrip("/"))
        tenant = self.tenant()
        if route == ("POST", "/_atlassian/login"):
            return login(tenant, request)
        if route == ("POST", "/_atlassian/signup"):
            return signup(tenant, request)
        if route == ("GET", "/_atlassian/assumptions"):
            return Response(200, self.assumptions_list())
        if route == ("PUT", "/_atlassian/assumptions"):
            overrides = {**self.doc.get("overrides", {}), **request.json()}
            try:
                load_assumptions(self.context.config, overrides)
            except Exception as error:
                raise HttpProblem(400, {"error": str(error)}) from None
            self.doc["overrides"] = overrides
            return Response(200, self.assumptions_list())
        if route == ("GET", "/_atlassian/log"):
            return Response(200, self.doc["log"])
        if route == ("POST", "/_atlassian/product-access"):
            return self._grant(tenant, request.json())
        if route == ("PUT", "/_atlassian/jira-permissions"):
            api_user = tenant.accounts[self.doc["site"]["api_account_id"]]
            api_user["browse_users"] = bool(request.json().get("browse_users"))
            return Response(200, {"browse_users": api_user["browse_users"]})
        raise HttpProblem(404, {"error": f"no sandbox control {route[1]}"})

    def _grant(self, tenant: Tenant, body: dict[str, Any]) -> Response:
        """Give a SCIM group product access, as an admin does in the admin UI."""
        name, products = body.get("group"), body.get("products")
        unknown = set(products or []) - set(PRODUCTS)
        if not isinstance(name, str) or not products or unknown:
            message = f"give group (a name) and products (some of {sorted(PRODUCTS)})"
            raise HttpProblem(400, {"error": message})
        for directory_id in self.doc["directories"]:
            for group in Directory(tenant, directory_id).find_groups(name):
                self.doc["grants"][group["id"]] = sorted(products)
                return Response(200, {"group": group["id"], "products": products})
        raise HttpProblem(404, {"error": f"no SCIM group named {name!r}"})
