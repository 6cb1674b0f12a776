"""The Microsoft identity platform's endpoints that msal's client-credentials flow uses.

- `GET /{tenant}/v2.0/.well-known/openid-configuration`: the tenant's discovery
  document (microsoft.md §1.2 [C]); an unknown tenant gets `400 invalid_tenant`.
- `GET /common/discovery/instance`: instance metadata (microsoft.md §1.2 [C]). msal
  asks the real login host for it unless `instance_discovery=False`; the client
  passes `False`, and the route is served for completeness.
- `POST /{tenant}/oauth2/v2.0/token`: client credentials with a client secret
  (microsoft.md §1.3 [C]); errors are the documented `AADSTS` documents (§7).

Access tokens are JWTs carrying the app's granted application permissions in
`roles`, as Graph's are. They are signed with a key derived from the sandbox seed
(HS256); Microsoft signs with RS256 keys published at `jwks_uri`. Nothing in the
workbook verifies a Graph token but Graph itself, so the difference is invisible.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

from ssopoc.sandbox.entra.errors import AadstsError, invalid_token
from ssopoc.sandbox.entra.routing import Caller
from ssopoc.sandbox.entra.store import Tenant

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_RESOURCES = ("https://graph.microsoft.com", GRAPH_APP_ID)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def secret_hash(secret: str) -> str:
    """How a client secret is kept in the state: its SHA-256, never its value."""
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenService:
    """Discovery, token issuance and Graph's token check for one tenant."""

    def __init__(self, tenant: Tenant, lifetime: int) -> None:
        self.tenant = tenant
        self.lifetime = lifetime
        self._key = hashlib.sha256(f"ssopoc-entra-signing:{tenant.seed}".encode())

    # -- discovery -----------------------------------------------------------------

    def resolve_tenant(self, segment: str) -> str | None:
        """The tenant id named by a path segment (its id or a verified domain)."""
        tenant_id = self.tenant.tenant_id()
        if segment.lower() in (tenant_id, *self.tenant.verified_domains()):
            return tenant_id
        return None

    def discovery(self, segment: str, base: str) -> tuple[int, dict[str, Any]]:
        """The OpenID configuration of a tenant, or `400 invalid_tenant`."""
        tenant_id = self.resolve_tenant(segment)
        if tenant_id is None:
            error = AadstsError(
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{segment}' not found. Check to make sure you have the "
                "correct tenant ID and are signing into the correct cloud.",
            )
            return 400, self._error_body(error)
        root = f"{base}/{tenant_id}"
        return 200, {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{tenant_id}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{root}/v2.0",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }

    def instance_metadata(
        self, base: str, authorization_endpoint: str
    ) -> dict[str, Any]:
        """The instance-discovery answer (api-version 1.0 and 1.1 fields together)."""
        host = base.split("://", 1)[-1]
        tenant = authorization_endpoint.split(host, 1)[-1].strip("/").split("/")[0]
        return {
            "tenant_discovery_endpoint": (
                f"{base}/{tenant or 'common'}/v2.0/.well-known/openid-configuration"
            ),
            "api-version": "1.1",
            "metadata": [
                {"preferred_network": host, "preferred_cache": host, "aliases": [host]}
            ],
        }

    # -- token endpoint ------------------------------------------------------------

    def issue(self, segment: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer a token request: a token, or the documented AADSTS error."""
        try:
            return 200, self._issue(segment, form)
        except AadstsError as error:
            return error.status, self._error_body(error)

    def _error_body(self, error: AadstsError) -> dict[str, Any]:
        # Trace and correlation ids are random, so they do not shift seeded ids.
        when = self.tenant.stamp().replace("T", " ")
        return error.body(when, str(uuid.uuid4()), str(uuid.uuid4()))

    def _issue(self, segment: str, form: dict[str, str]) -> dict[str, Any]:
        tenant_id = self.resolve_tenant(segment)
        if tenant_id is None:
            raise AadstsError(
                400, "invalid_request", 90002, f"Tenant '{segment}' not found."
            )
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            raise AadstsError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'.",
            )
        client_id = form.get("client_id", "")
        app = self._app(client_id)
        if app is None:
            raise AadstsError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the "
                f"directory '{tenant_id}'. This can happen if the application has not "
                "been installed by the administrator of the tenant or consented to by "
                "any user in the tenant. You may have sent your authentication request "
                "to the wrong tenant.",
            )
        self._check_secret(app, form.get("client_secret"))
        self._check_scope(form.get("scope", ""), tenant_id)
        token = self.mint(app, tenant_id)
        return {
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "ext_expires_in": self.lifetime,
            "access_token": token,
        }

    def _app(self, client_id: str) -> dict[str, Any] | None:
        for app in self.tenant.collection("applications").values():
            if app["appId"] == client_id:
                return app
        return None

    def _check_secret(self, app: dict[str, Any], secret: str | None) -> None:
        if not secret:
            raise AadstsError(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for "
                "the 'client_credentials' grant type.",
            )
        offered = secret_hash(secret)
        for credential in app.get("passwordCredentials", []):
            if hmac.compare_digest(credential["secretHash"], offered):
                if credential["endDateTime"] < self.tenant.stamp():
                    raise AadstsError(
                        401,
                        "invalid_client",
                        7000222,
                        f"The provided client secret keys for app '{app['appId']}' "
                        "are expired.",
                    )
                return
        raise AadstsError(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the "
            "request is the client secret value, not the client secret ID, for a "
            f"secret added to app '{app['appId']}'.",
        )

    def _check_scope(self, scope: str, tenant_id: str) -> None:
        scopes = scope.split()
        if len(scopes) != 1:
            raise AadstsError(
                400,
                "invalid_scope",
                70011,
                "The provided request must include a 'scope' input parameter. The "
                "provided value for the input parameter 'scope' is not valid.",
            )
        resource, _, tail = scopes[0].rpartition("/")
        if tail != ".default":
            raise AadstsError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client "
                "credential flows must have a scope value with /.default suffixed to "
                "the resource identifier (application ID URI).",
            )
        if resource.rstrip("/") not in GRAPH_RESOURCES:
            raise AadstsError(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the "
                f"tenant named {tenant_id}. This can happen if the application has "
                "not been installed by the administrator of the tenant or consented "
                "to by any user in the tenant.",
            )

    # -- tokens --------------------------------------------------------------------

    def roles_of(self, app_id: str) -> tuple[str, list[str]]:
        """The app's service principal id and granted Graph application permissions."""
        sps = self.tenant.collection("servicePrincipals")
        client = next((s for s in sps.values() if s["appId"] == app_id), None)
        graph = next((s for s in sps.values() if s["appId"] == GRAPH_APP_ID), None)
        if client is None or graph is None:
            return "", []
        by_id = {role["id"]: role["value"] for role in graph["appRoles"]}
        roles = sorted(
            by_id[a["appRoleId"]]
            for a in self.tenant.collection("appRoleAssignments").values()
            if a["principalId"] == client["id"]
            and a["resourceId"] == graph["id"]
            and a["appRoleId"] in by_id
        )
        return client["id"], roles

    def mint(self, app: dict[str, Any], tenant_id: str) -> str:
        """A signed access token for Graph, with the app's roles at issuance."""
        sp_id, roles = self.roles_of(app["appId"])
        issued = int(self.tenant.now().timestamp())
        claims = {
            "aud": "https://graph.microsoft.com",
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.lifetime,
            "app_displayname": app["displayName"],
            "appid": app["appId"],
            "appidacr": "1",
            "idtyp": "app",
            "oid": sp_id,
            "roles": roles,
            "sub": sp_id,
            "tid": tenant_id,
            "uti": self.tenant.new_hex()[:22],
            "ver": "1.0",
        }
        header = {"typ": "JWT", "alg": "HS256", "kid": "ssopoc-sandbox"}
        signing_input = (
            f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        )
        signature = hmac.new(self._key.digest(), signing_input.encode(), "sha256")
        return f"{signing_input}.{_b64(signature.digest())}"

    def verify(self, authorization: str | None) -> Caller:
        """The caller a Graph request's bearer token stands for, or `401`.

        microsoft.md §2.5, §7 [C]: missing, expired and malformed tokens all get
        `401 InvalidAuthenticationToken`.
        """
        if not authorization or not authorization.lower().startswith("bearer "):
            raise invalid_token("Access token is empty.")
        token = authorization[7:].strip()
        parts = token.split(".")
        if len(parts) != 3:
            raise invalid_token("CompactToken parsing failed with error code: 80049217")
        expected = hmac.new(
            self._key.digest(), f"{parts[0]}.{parts[1]}".encode(), "sha256"
        ).digest()
        try:
            signature = _unb64(parts[2])
            claims: dict[str, Any] = json.loads(_unb64(parts[1]))
        except ValueError as error:
            raise invalid_token(
                "CompactToken parsing failed with error code: 80049217"
            ) from error
        if not hmac.compare_digest(signature, expected):
            raise invalid_token("Access token validation failure. Invalid signature.")
        if claims.get("aud") not in GRAPH_RESOURCES:
            raise invalid_token("Access token validation failure. Invalid audience.")
        now = self.tenant.now().timestamp()
        if not claims.get("nbf", 0) - 300 <= now < claims.get("exp", 0):
            raise invalid_token("Access token has expired or is not yet valid.")
        return Caller(
            app_id=str(claims.get("appid")),
            service_principal_id=str(claims.get("oid")),
            roles=frozenset(claims.get("roles", [])),
        )
