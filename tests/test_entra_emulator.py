"""Contract tests of the Entra emulator: one per microsoft.md §7 bullet.

Each test's docstring quotes the §7 bullet it checks. Every call goes over HTTPS
to the session sandbox with tokens that unmodified msal obtained; the emulator is
reset before each test.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import msal
import pytest

from ssopoc.http import make_client
from ssopoc.sandbox import SandboxHandle, read_credentials, read_identifiers

SCOPE = ["https://graph.microsoft.com/.default"]
DOMAIN = "openmrs.onmicrosoft.com"


@dataclass
class Entra:
    """The session's Entra emulator, its seeded ids and a way to call Graph."""

    base: str
    ids: dict[str, str]
    secrets: dict[str, str]
    http: httpx.Client
    sandbox: SandboxHandle
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, app: str = "entra") -> str:
        if app not in self.tokens:
            result = msal.ConfidentialClientApplication(
                self.ids[f"{app}_client_id"],
                client_credential=self.secrets[f"{app}_client_secret"],
                authority=f"{self.base}/{self.ids['entra_tenant_id']}",
                http_client=make_client("entra_login", ca_file=self.sandbox.ca_file),
                instance_discovery=False,
            ).acquire_token_for_client(scopes=SCOPE)
            self.tokens[app] = result["access_token"]
        return self.tokens[app]

    def graph(
        self, method: str, path: str, *, app: str = "entra", **kw: Any
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self.token(app)}",
            **kw.pop("headers", {}),
        }
        return self.http.request(
            method, f"{self.base}/v1.0{path}", headers=headers, **kw
        )

    def user(self, alias: str, **extra: Any) -> dict[str, Any]:
        body = {
            "accountEnabled": True,
            "displayName": alias,
            "mailNickname": alias,
            "userPrincipalName": f"{alias}@{DOMAIN}",
            "passwordProfile": {"password": "Sandbox-Passw0rd"},
            **extra,
        }
        response = self.graph("POST", "/users", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    @property
    def sp(self) -> str:
        return self.ids["entra_atlassian_service_principal_id"]

    @property
    def job(self) -> str:
        return self.ids["entra_atlassian_job_id"]

    def sync(self, method: str, tail: str, **kw: Any) -> httpx.Response:
        return self.graph(
            method, f"/servicePrincipals/{self.sp}/synchronization{tail}", **kw
        )

    def assign(self, user_id: str) -> None:
        sp = self.graph("GET", f"/servicePrincipals/{self.sp}").json()
        role = next(r["id"] for r in sp["appRoles"] if r["displayName"] == "User")
        body = {"principalId": user_id, "resourceId": self.sp, "appRoleId": role}
        response = self.graph(
            "POST", f"/servicePrincipals/{self.sp}/appRoleAssignedTo", json=body
        )
        assert response.status_code == 201, response.text

    def on_demand(self, user_id: str, rule: str | None = None) -> httpx.Response:
        schema = self.sync("GET", f"/jobs/{self.job}/schema").json()
        rule_id = rule or schema["synchronizationRules"][0]["id"]
        body = {
            "parameters": [
                {
                    "subjects": [{"objectId": user_id, "objectTypeName": "User"}],
                    "ruleId": rule_id,
                }
            ]
        }
        return self.sync("POST", f"/jobs/{self.job}/provisionOnDemand", json=body)


@pytest.fixture
def entra(sandbox: SandboxHandle) -> Iterator[Entra]:
    context = ssl.create_default_context(cafile=str(sandbox.ca_file))
    with httpx.Client(verify=context, timeout=30) as http:
        base = sandbox.base_urls["entra"]
        # Ids are seeded, so the target's objects from earlier tests must go too.
        for name in ("entra", "atlassian"):
            reset = http.post(f"{sandbox.base_urls[name]}/_sandbox/reset")
            assert reset.status_code == 200
        http.delete(f"{base}/_sandbox/faults")
        yield Entra(
            base,
            read_identifiers(sandbox.state_dir),
            read_credentials(sandbox.state_dir),
            http,
            sandbox,
        )
        # Leave no started job behind to run cycles during later tests.
        http.post(f"{base}/_sandbox/reset")


def atlassian_ready(sandbox: SandboxHandle) -> bool:
    health = httpx.get(
        f"{sandbox.base_urls['atlassian']}/_sandbox/health",
        verify=ssl.create_default_context(cafile=str(sandbox.ca_file)),
    ).json()
    return bool(health.get("implemented"))


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}
    found: dict[str, Any] = error
    return found


# -- Token / msal -------------------------------------------------------------------


def test_discovery_document(entra: Entra) -> None:
    """§7: "Serve GET .../{tenant}/v2.0/.well-known/openid-configuration with at least
    authorization_endpoint, token_endpoint (https, first path segment = tenant),
    issuer; unknown tenant → 400 with a JSON/text body"."""
    tenant = entra.ids["entra_tenant_id"]
    for segment in (tenant, DOMAIN):
        found = entra.http.get(
            f"{entra.base}/{segment}/v2.0/.well-known/openid-configuration"
        )
        assert found.status_code == 200
        document = found.json()
        token_url = httpx.URL(document["token_endpoint"])
        assert token_url.scheme == "https"
        assert token_url.path.split("/")[1] == tenant
        assert document["authorization_endpoint"].startswith("https://")
        assert tenant in document["issuer"]

    unknown = entra.http.get(
        f"{entra.base}/nosuchtenant/v2.0/.well-known/openid-configuration"
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_tenant"


def test_https_authority_with_tenant_segment(entra: Entra) -> None:
    """§7: "Keep the real https hostnames ... msal rejects http:// authorities and
    authorities without a tenant segment". The sandbox serves real TLS on loopback
    instead of an injected transport; msal takes its https authority as it is."""
    with pytest.raises(ValueError):
        msal.ConfidentialClientApplication(
            entra.ids["entra_client_id"],
            client_credential="x" * 10,
            authority=entra.base,
            http_client=httpx.Client(),
            instance_discovery=False,
        )
    assert entra.token().count(".") == 2


def test_instance_discovery(entra: Entra) -> None:
    """§7: "Either require instance_discovery=False, or also serve GET
    .../common/discovery/instance returning tenant_discovery_endpoint and
    metadata:[{"aliases":[...]}]"."""
    tenant = entra.ids["entra_tenant_id"]
    found = entra.http.get(
        f"{entra.base}/common/discovery/instance",
        params={
            "api-version": "1.1",
            "authorization_endpoint": f"{entra.base}/{tenant}/oauth2/v2.0/authorize",
        },
    ).json()
    assert found["tenant_discovery_endpoint"].endswith(
        f"/{tenant}/v2.0/.well-known/openid-configuration"
    )
    assert found["metadata"][0]["aliases"]


def test_token_endpoint_success(entra: Entra) -> None:
    """§7: "POST /{tenant}/oauth2/v2.0/token accepting client_id, client_secret,
    grant_type=client_credentials, scope=https://graph.microsoft.com/.default
    (ignore client_info=1); success 200 {token_type, expires_in 3599,
    ext_expires_in, access_token}"."""
    form = {
        "client_id": entra.ids["entra_client_id"],
        "client_secret": entra.secrets["entra_client_secret"],
        "grant_type": "client_credentials",
        "scope": SCOPE[0],
        "client_info": "1",
    }
    found = entra.http.post(
        f"{entra.base}/{entra.ids['entra_tenant_id']}/oauth2/v2.0/token", data=form
    )
    assert found.status_code == 200
    body = found.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599 and body["ext_expires_in"] == 3599
    assert body["access_token"]


@pytest.mark.parametrize(
    ("change", "status", "error", "number"),
    [
        ({"client_secret": "wrong-secret-value"}, 401, "invalid_client", 7000215),
        (
            {"scope": "https://graph.microsoft.com/User.Read"},
            400,
            "invalid_scope",
            1002012,
        ),
        ({"scope": ""}, 400, "invalid_scope", 70011),
        (
            {"client_id": "00000000-1111-2222-3333-444444444444"},
            400,
            "unauthorized_client",
            700016,
        ),
    ],
)
def test_token_endpoint_errors(
    entra: Entra, change: dict[str, str], status: int, error: str, number: int
) -> None:
    """§7: "Errors as 400/401 JSON {error, error_description "AADSTSnnnn: ...",
    error_codes:[n], timestamp, trace_id, correlation_id}"."""
    form = {
        "client_id": entra.ids["entra_client_id"],
        "client_secret": entra.secrets["entra_client_secret"],
        "grant_type": "client_credentials",
        "scope": SCOPE[0],
        **change,
    }
    found = entra.http.post(
        f"{entra.base}/{entra.ids['entra_tenant_id']}/oauth2/v2.0/token", data=form
    )
    assert found.status_code == status
    body = found.json()
    assert body["error"] == error
    assert body["error_codes"] == [number]
    assert body["error_description"].startswith(f"AADSTS{number}: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_token_lifetime_allows_caching(entra: Entra) -> None:
    """§7: "Issue expires_in > 300 if the client is expected to reuse cached
    tokens"."""
    health = entra.http.get(f"{entra.base}/_sandbox/health").json()
    assert health["settings"]["token_lifetime_seconds"] > 300


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "Access token is empty."),
        ("Bearer garbage", "CompactToken parsing failed"),
        (
            "Bearer eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl",
            "Access token validation failure",
        ),
    ],
)
def test_graph_rejects_bad_tokens(
    entra: Entra, authorization: str | None, message: str
) -> None:
    """§7: "Graph endpoints must reject missing/expired/garbage bearer tokens with
    401 InvalidAuthenticationToken + WWW-Authenticate ..."."""
    headers = {"Authorization": authorization} if authorization else {}
    found = entra.http.get(f"{entra.base}/v1.0/users", headers=headers)
    error = assert_envelope(found, 401, "InvalidAuthenticationToken")
    assert error["message"].startswith(message)
    assert found.headers["WWW-Authenticate"].startswith("Bearer")


def test_graph_rejects_expired_tokens(entra: Entra) -> None:
    """§7 (same bullet): an expired token is a 401 too."""
    token = entra.token()
    entra.http.post(f"{entra.base}/_entra/clock", json={"advance_seconds": 3600})
    found = entra.graph("GET", "/users")
    error = assert_envelope(found, 401, "InvalidAuthenticationToken")
    assert "expired" in error["message"]
    assert token


def test_graph_refuses_calls_outside_granted_permissions(entra: Entra) -> None:
    """§7: "... and calls the app has no permission for with 403
    Authorization_RequestDenied "Insufficient privileges to complete the
    operation." (optionally driven by a roles claim list)"."""
    allowed = entra.graph("GET", "/users", app="entra_limited")
    denied = entra.graph("GET", "/auditLogs/provisioning", app="entra_limited")
    write = entra.graph("POST", "/users", app="entra_limited", json={})

    assert allowed.status_code == 200
    error = assert_envelope(denied, 403, "Authorization_RequestDenied")
    assert error["message"] == "Insufficient privileges to complete the operation."
    assert_envelope(write, 403, "Authorization_RequestDenied")


# -- Graph users --------------------------------------------------------------------


def test_create_user_rules(entra: Entra) -> None:
    """§7: "POST /v1.0/users requires accountEnabled, displayName, mailNickname,
    passwordProfile.password, userPrincipalName; UPN domain must be verified ...;
    duplicate UPN → 400 ... ObjectConflict; success 201 with @odata.context and the
    default property set"."""
    created = entra.user("carol")
    assert created["@odata.context"].endswith("$metadata#users/$entity")
    assert {"id", "businessPhones", "mail", "userPrincipalName"} <= set(created)

    base = {
        "accountEnabled": True,
        "displayName": "d",
        "mailNickname": "d",
        "passwordProfile": {"password": "Sandbox-Passw0rd"},
    }
    missing = entra.graph("POST", "/users", json={**base, "userPrincipalName": None})
    assert_envelope(missing, 400, "Request_BadRequest")
    unverified = entra.graph(
        "POST", "/users", json={**base, "userPrincipalName": "d@example.org"}
    )
    error = assert_envelope(unverified, 400, "Request_BadRequest")
    assert error["message"] == "Property userPrincipalName is invalid."
    duplicate = entra.graph(
        "POST", "/users", json={**base, "userPrincipalName": f"carol@{DOMAIN}"}
    )
    error = assert_envelope(duplicate, 400, "Request_BadRequest")
    assert "same value for property userPrincipalName" in error["message"]
    assert error["details"][0] == {
        "target": "userPrincipalName",
        "code": "ObjectConflict",
    }


def test_default_projection_and_select(entra: Entra) -> None:
    """§7: "Default GET projection: businessPhones, displayName, ... ; otherMails,
    onPremisesExtensionAttributes, employeeId, directory extensions only with
    $select"."""
    user = entra.user("dan", otherMails=["dan@example.org"])
    plain = entra.graph("GET", f"/users/{user['id']}").json()
    assert "otherMails" not in plain and "onPremisesExtensionAttributes" not in plain
    assert set(plain) - {"@odata.context"} == {
        "businessPhones",
        "displayName",
        "givenName",
        "id",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
    }
    chosen = entra.graph(
        "GET", f"/users/{user['id']}", params={"$select": "otherMails,employeeId"}
    ).json()
    assert chosen["otherMails"] == ["dan@example.org"]
    assert "displayName" not in chosen


def test_patch_user_properties(entra: Entra) -> None:
    """§7: "PATCH /users/{id|upn} → 204; accept mail, otherMails,
    onPremisesExtensionAttributes.extensionAttribute1..15 (≤ 1024 chars, partial
    object merge) for cloud-only users; employeeId ≤ 16 chars; directory extension
    keys ... only if defined via extensionProperties (String ≤ 256)"."""
    user = entra.user("erin")
    attrs = {
        "extensionAttribute1": "erin@unverified.example",
        "extensionAttribute2": "b",
    }
    assert (
        entra.graph(
            "PATCH",
            f"/users/{user['id']}",
            json={"onPremisesExtensionAttributes": attrs},
        ).status_code
        == 204
    )
    merge = {"onPremisesExtensionAttributes": {"extensionAttribute2": "c"}}
    assert entra.graph("PATCH", f"/users/erin@{DOMAIN}", json=merge).status_code == 204
    found = entra.graph(
        "GET",
        f"/users/{user['id']}",
        params={"$select": "onPremisesExtensionAttributes"},
    ).json()
    assert (
        found["onPremisesExtensionAttributes"]["extensionAttribute1"]
        == "erin@unverified.example"
    )
    assert found["onPremisesExtensionAttributes"]["extensionAttribute2"] == "c"

    too_long = {"onPremisesExtensionAttributes": {"extensionAttribute3": "x" * 1025}}
    assert_envelope(
        entra.graph("PATCH", f"/users/{user['id']}", json=too_long),
        400,
        "Request_BadRequest",
    )
    assert_envelope(
        entra.graph("PATCH", f"/users/{user['id']}", json={"employeeId": "x" * 17}),
        400,
        "Request_BadRequest",
    )

    app_id = entra.ids["entra_client_id"]
    name = f"extension_{app_id.replace('-', '')}_secondaryEmail"
    before = entra.graph("PATCH", f"/users/{user['id']}", json={name: "a@b.example"})
    assert_envelope(before, 400, "Request_BadRequest")
    declared = entra.graph(
        "POST",
        f"/applications(appId='{app_id}')/extensionProperties",
        json={
            "name": "secondaryEmail",
            "dataType": "String",
            "targetObjects": ["User"],
        },
    )
    assert declared.status_code == 201 and declared.json()["name"] == name
    assert (
        entra.graph(
            "PATCH", f"/users/{user['id']}", json={name: "a@b.example"}
        ).status_code
        == 204
    )
    assert (
        entra.graph("GET", f"/users/{user['id']}", params={"$select": name}).json()[
            name
        ]
        == "a@b.example"
    )
    assert_envelope(
        entra.graph("PATCH", f"/users/{user['id']}", json={name: "x" * 257}),
        400,
        "Request_BadRequest",
    )


def test_mail_proxy_address_conflict(entra: Entra) -> None:
    """§7: "mail conflicting with another object's proxy address → 400
    Request_BadRequest "Another object with the same value for property
    proxyAddresses already exists."" """
    entra.user("fay", mail="shared@example.org")
    other = entra.user("gus")
    found = entra.graph(
        "PATCH", f"/users/{other['id']}", json={"mail": "SHARED@example.org"}
    )
    error = assert_envelope(found, 400, "Request_BadRequest")
    assert error["message"] == (
        "Another object with the same value for property proxyAddresses already exists."
    )


def test_user_filters_and_advanced_queries(entra: Entra) -> None:
    """§7: "$filter: eq/startsWith on userPrincipalName, mail, displayName by
    default; extensionAttributeN eq, endsWith, ne, not, $count only with
    ConsistencyLevel: eventual + $count=true ...; lambda otherMails/any(x:x eq
    '...')"."""
    entra.user(
        "hal",
        mail="hal@example.org",
        otherMails=["hal@other.example"],
        onPremisesExtensionAttributes={"extensionAttribute1": "hal-x"},
    )
    entra.user("ida", mail="ida@example.org")

    def ids(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return sorted(u["userPrincipalName"] for u in response.json()["value"])

    assert ids(
        entra.graph(
            "GET", "/users", params={"$filter": "startswith(userPrincipalName,'hal')"}
        )
    ) == [f"hal@{DOMAIN}"]
    assert ids(
        entra.graph(
            "GET",
            "/users",
            params={"$filter": "otherMails/any(x:x eq 'hal@other.example')"},
        )
    ) == [f"hal@{DOMAIN}"]

    advanced = "onPremisesExtensionAttributes/extensionAttribute1 eq 'hal-x'"
    refused = entra.graph("GET", "/users", params={"$filter": advanced})
    assert_envelope(refused, 400, "Request_UnsupportedQuery")
    for text in (
        advanced,
        "endswith(mail,'@example.org')",
        "not(mail eq 'ida@example.org')",
    ):
        assert_envelope(
            entra.graph("GET", "/users", params={"$filter": text}),
            400,
            "Request_UnsupportedQuery",
        )
    answered = entra.graph(
        "GET",
        "/users",
        params={"$filter": advanced, "$count": "true"},
        headers={"ConsistencyLevel": "eventual"},
    )
    assert ids(answered) == [f"hal@{DOMAIN}"]
    assert answered.json()["@odata.count"] == 1
    ending = entra.graph(
        "GET",
        "/users",
        params={"$filter": "endswith(mail,'@example.org')", "$count": "true"},
        headers={"ConsistencyLevel": "eventual"},
    )
    assert ids(ending) == [f"hal@{DOMAIN}", f"ida@{DOMAIN}"]


def test_user_paging(entra: Entra) -> None:
    """§7 (Graph users): paging with @odata.nextLink."""
    for n in range(3):
        entra.user(f"page{n}")
    first = entra.graph("GET", "/users", params={"$top": "2"}).json()
    assert len(first["value"]) == 2
    rest = entra.http.get(
        first["@odata.nextLink"], headers={"Authorization": f"Bearer {entra.token()}"}
    ).json()
    assert len(rest["value"]) == 1 and "@odata.nextLink" not in rest


def test_not_found(entra: Entra) -> None:
    """§7: "Not found → 404 Request_ResourceNotFound "Resource '<id>' does not exist
    or one of its queried reference-property objects are not present."" """
    found = entra.graph("GET", "/users/nobody-here")
    error = assert_envelope(found, 404, "Request_ResourceNotFound")
    assert error["message"] == (
        "Resource 'nobody-here' does not exist or one of its queried "
        "reference-property objects are not present."
    )


def test_soft_delete_restore_purge(entra: Entra) -> None:
    """§7: "DELETE /users/{id} → 204 soft delete into /directory/deletedItems
    (30-day retention, restorable via POST .../restore, purge via DELETE
    /directory/deletedItems/{id} → 204)"."""
    user = entra.user("jay")
    assert entra.graph("DELETE", f"/users/{user['id']}").status_code == 204
    assert entra.graph("GET", f"/users/{user['id']}").status_code == 404
    deleted = entra.graph("GET", "/directory/deletedItems/microsoft.graph.user").json()[
        "value"
    ]
    assert [d["id"] for d in deleted] == [user["id"]] and deleted[0]["deletedDateTime"]
    restored = entra.graph("POST", f"/directory/deletedItems/{user['id']}/restore")
    assert restored.status_code == 200 and restored.json()["id"] == user["id"]
    assert entra.graph("GET", f"/users/{user['id']}").status_code == 200

    entra.graph("DELETE", f"/users/{user['id']}")
    assert (
        entra.graph("DELETE", f"/directory/deletedItems/{user['id']}").status_code
        == 204
    )
    assert (
        entra.graph("GET", f"/directory/deletedItems/{user['id']}").status_code == 404
    )

    expiring = entra.user("kim")
    entra.graph("DELETE", f"/users/{expiring['id']}")
    entra.http.post(f"{entra.base}/_entra/clock", json={"advance_seconds": 31 * 86400})
    entra.tokens.clear()
    assert (
        entra.graph("GET", f"/directory/deletedItems/{expiring['id']}").status_code
        == 404
    )


def test_error_envelope(entra: Entra) -> None:
    """§7: "Error envelope always {"error":{"code","message","innerError":{"date",
    "request-id","client-request-id"}}}"."""
    found = entra.graph(
        "GET", "/users/nobody", headers={"client-request-id": "abc-123"}
    )
    error = assert_envelope(found, 404, "Request_ResourceNotFound")
    assert error["innerError"]["client-request-id"] == "abc-123"
    assert error["innerError"]["request-id"] == found.headers["request-id"]


def test_throttling_and_batch(entra: Entra) -> None:
    """§7: "Optional but faithful: 429 with integer Retry-After; $batch with ≤ 20
    requests (more → 400), unique ids, per-item status, outer 200"."""
    fault = [
        {
            "kind": "status",
            "status": 429,
            "retry_after": 1,
            "count": 1,
            "path_prefix": "/v1.0/users",
        }
    ]
    assert (
        entra.http.put(f"{entra.base}/_sandbox/faults", json=fault).status_code == 200
    )
    throttled = entra.graph("GET", "/users")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"].isdigit()

    requests = [
        {"id": "1", "method": "GET", "url": "/users"},
        {"id": "2", "method": "GET", "url": "/users/nobody"},
        {"id": "3", "method": "GET", "url": "/organization", "dependsOn": ["2"]},
    ]
    batch = entra.graph("POST", "/$batch", json={"requests": requests})
    assert batch.status_code == 200
    statuses = {r["id"]: r["status"] for r in batch.json()["responses"]}
    assert statuses == {"1": 200, "2": 404, "3": 424}
    many = [{"id": str(n), "method": "GET", "url": "/users"} for n in range(21)]
    assert_envelope(
        entra.graph("POST", "/$batch", json={"requests": many}),
        400,
        "Request_BadRequest",
    )
    twice = [{"id": "1", "method": "GET", "url": "/users"}] * 2
    assert_envelope(
        entra.graph("POST", "/$batch", json={"requests": twice}),
        400,
        "Request_BadRequest",
    )


# -- Synchronization ----------------------------------------------------------------


def test_service_principal_templates_and_jobs(entra: Entra) -> None:
    """§7: "GET /servicePrincipals?$filter=displayName eq '...', GET
    .../synchronization/templates (one template with id + factoryTag + full schema
    fixture), POST .../synchronization/jobs {"templateId"} → 201 job
    {id:"<templateId>.<32hex>", templateId, schedule{interval, state:"Disabled"},
    status{code:"NotConfigured", ...}}"."""
    found = entra.graph(
        "GET",
        "/servicePrincipals",
        params={"$filter": "displayName eq 'Atlassian Cloud'"},
    ).json()
    assert [sp["id"] for sp in found["value"]] == [entra.sp]
    templates = entra.sync("GET", "/templates").json()["value"]
    assert len(templates) == 1
    template = templates[0]
    assert template["factoryTag"] and template["schema"]["synchronizationRules"]

    limited = entra.graph(
        "GET",
        "/servicePrincipals",
        params={"$filter": "displayName eq 'ssopoc limited reader'"},
    ).json()["value"][0]
    put = entra.graph(
        "PUT",
        f"/servicePrincipals/{limited['id']}/synchronization/secrets",
        json={"value": []},
    )
    assert put.status_code == 204
    created = entra.graph(
        "POST",
        f"/servicePrincipals/{limited['id']}/synchronization/jobs",
        json={"templateId": template["id"]},
    )
    assert created.status_code == 201, created.text
    job = created.json()
    prefix, _, tail = job["id"].partition(".")
    assert prefix == template["id"] and len(tail) == 32 and int(tail, 16) >= 0
    assert job["schedule"]["state"] == "Disabled"
    assert job["status"]["code"] == "NotConfigured"


def test_secrets_and_validate_credentials(entra: Entra) -> None:
    """§7: "PUT .../synchronization/secrets → 204 (stores BaseAddress/SecretToken;
    status code leaves NotConfigured ... [U]); POST .../validateCredentials → 204 or
    error after probing the SCIM endpoint with a random userName eq query"."""
    if not atlassian_ready(entra.sandbox):
        pytest.skip("the Atlassian emulator is not installed")
    assert (
        entra.sync(
            "POST",
            f"/jobs/{entra.job}/validateCredentials",
            json={"useSavedCredentials": True},
        ).status_code
        == 204
    )
    atl = read_identifiers(entra.sandbox.state_dir)["atlassian_scim_directory_id"]
    bad = [
        {
            "key": "BaseAddress",
            "value": f"{entra.sandbox.base_urls['atlassian']}/scim/directory/{atl}",
        },
        {"key": "SecretToken", "value": "not-the-scim-token"},
    ]
    refused = entra.sync(
        "POST",
        f"/jobs/{entra.job}/validateCredentials",
        json={"useSavedCredentials": False, "credentials": bad},
    )
    assert_envelope(refused, 400, "Request_BadRequest")
    assert entra.sync("PUT", "/secrets", json={"value": bad}).status_code == 204
    job = entra.sync("GET", f"/jobs/{entra.job}").json()
    assert job["status"]["code"] != "NotConfigured"


def test_job_lifecycle(entra: Entra) -> None:
    """§7: "POST .../start → 204 (status Active, schedule Active); pause → 204
    (Paused, state kept); restart {criteria.resetScope} → 204 ...; DELETE job →
    204"."""
    path = f"/jobs/{entra.job}"
    assert entra.sync("POST", f"{path}/start").status_code == 204
    job = entra.sync("GET", path).json()
    assert (job["status"]["code"], job["schedule"]["state"]) == ("Active", "Active")
    assert entra.sync("POST", f"{path}/pause").status_code == 204
    job = entra.sync("GET", path).json()
    assert (job["status"]["code"], job["schedule"]["state"]) == ("Paused", "Paused")
    restart = {"criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}}
    assert entra.sync("POST", f"{path}/restart", json=restart).status_code == 204
    assert entra.sync("GET", path).json()["status"]["code"] == "Active"
    bad = entra.sync(
        "POST", f"{path}/restart", json={"criteria": {"resetScope": "Everything"}}
    )
    assert_envelope(bad, 400, "Request_BadRequest")
    assert entra.sync("DELETE", path).status_code == 204
    assert entra.sync("GET", path).status_code == 404


def test_job_status_fields(entra: Entra) -> None:
    """§7: "GET .../jobs/{id} exposes status fields with the documented names
    (code, lastExecution{...}, lastSuccessfulExecution, quarantine,
    steadyStateFirstAchievedTime = 0001-01-01T00:00:00Z until steady,
    countSuccessiveCompleteFailures, escrowsPruned)"."""
    status = entra.sync("GET", f"/jobs/{entra.job}").json()["status"]
    assert {
        "code",
        "lastExecution",
        "lastSuccessfulExecution",
        "quarantine",
        "countSuccessiveCompleteFailures",
        "escrowsPruned",
        "steadyStateLastAchievedTime",
    } <= set(status)
    assert status["steadyStateFirstAchievedTime"] == "0001-01-01T00:00:00Z"


def test_schema_get_put_delete(entra: Entra) -> None:
    """§7: "GET .../schema returns {id, version, directories, synchronizationRules}
    using the Atlassian fixture; PUT replaces it wholesale (204), bumps version,
    validates source and target attributes [U: error shape], and marks the job for a
    new initial cycle; DELETE schema restores the template"."""
    path = f"/jobs/{entra.job}/schema"
    schema = entra.sync("GET", path).json()
    assert {"id", "version", "directories", "synchronizationRules"} <= set(schema)
    mappings = schema["synchronizationRules"][0]["objectMappings"][0][
        "attributeMappings"
    ]
    email = next(
        m
        for m in mappings
        if m["targetAttributeName"] == 'emails[type eq "work"].value'
    )
    email["source"] = {
        "expression": "[extensionAttribute1]",
        "name": "extensionAttribute1",
        "parameters": [],
        "type": "Attribute",
    }
    assert entra.sync("PUT", path, json=schema).status_code == 204
    changed = entra.sync("GET", path).json()
    assert changed["version"] != schema["version"]
    assert "[extensionAttribute1]" in json.dumps(changed)

    email["source"]["expression"] = "[noSuchAttribute]"
    assert_envelope(entra.sync("PUT", path, json=schema), 400, "Request_BadRequest")
    email["source"]["expression"] = "[extensionattribute1]"
    assert_envelope(entra.sync("PUT", path, json=schema), 400, "Request_BadRequest")

    assert entra.sync("DELETE", path).status_code == 204
    assert "[extensionAttribute1]" not in json.dumps(entra.sync("GET", path).json())


def test_parse_expression(entra: Entra) -> None:
    """§7: "POST .../schema/parseExpression evaluates an expression against
    testInputObject.properties and returns {parsingSucceeded, evaluationSucceeded,
    evaluationResult:[...], parsedExpression, error}"."""
    body = {
        "expression": "Item([otherMails], 1)",
        "testInputObject": {
            "definition": None,
            "properties": [
                {
                    "key": "otherMails",
                    "value@odata.type": "#Collection(String)",
                    "value": ["a@x.org", "b@x.org"],
                }
            ],
        },
        "targetAttributeDefinition": None,
    }
    found = entra.sync(
        "POST", f"/jobs/{entra.job}/schema/parseExpression", json=body
    ).json()
    assert found["parsingSucceeded"] and found["evaluationSucceeded"]
    assert found["evaluationResult"] == ["a@x.org"]
    assert found["parsedExpression"]["type"] == "Function"
    broken = entra.sync(
        "POST",
        f"/jobs/{entra.job}/schema/parseExpression",
        json={**body, "expression": "Item([otherMails], "},
    ).json()
    assert not broken["parsingSucceeded"] and "position" in broken["error"]["message"]


def test_provision_on_demand(entra: Entra) -> None:
    """§7: "POST .../provisionOnDemand ...; reject unknown ruleId; rate-limit 5 per
    10 s (429); respond 200 {"@odata.context":"...stringKeyStringValuePair",
    "key":"<json result>","value":"<json details>"} with the import → scoping →
    matching → export steps, modifiedProperties, statusInfo, RedundantExport skip
    when nothing changed"."""
    if not atlassian_ready(entra.sandbox):
        pytest.skip("the Atlassian emulator is not installed")
    user = entra.user(
        "odin",
        mail="odin@openmrs.onmicrosoft.com",
        givenName="Odin",
        surname="Allfather",
    )
    entra.assign(user["id"])
    assert_envelope(
        entra.on_demand(user["id"], rule="no-such-rule"), 400, "Request_BadRequest"
    )

    first = entra.on_demand(user["id"])
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["@odata.context"].endswith("microsoft.graph.stringKeyStringValuePair")
    key, value = json.loads(answer["key"]), json.loads(answer["value"])
    assert key["result"] == "Success", key
    assert value["action"] == "Create"
    kinds = [s["type"] for s in value["provisioningSteps"]]
    assert kinds == ["Import", "Scoping", "Matching", "Export"]
    assert {m["displayName"] for m in value["modifiedProperties"]} >= {
        "userName",
        'emails[type eq "work"].value',
    }

    again = json.loads(entra.on_demand(user["id"]).json()["key"])
    assert again["result"] == "Skipped"
    assert again["details"]["errorCode"] == "RedundantExport"
    statuses = [entra.on_demand(user["id"]).status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429


def test_engine_semantics(entra: Entra) -> None:
    """§7: "Provisioning engine semantics: scope ...; null results are skipped;
    defaultValue only on create; ... create via POST, update via PATCH Replace ops
    only for changed attributes ...; multi-valued source into single-valued target →
    SchemaPropertyCanOnlyAcceptValue failure". (Details: tests/test_entra_engine.py.)"""
    if not atlassian_ready(entra.sandbox):
        pytest.skip("the Atlassian emulator is not installed")
    outside = entra.user("pat", mail="pat@openmrs.onmicrosoft.com")
    skipped = json.loads(entra.on_demand(outside["id"]).json()["key"])
    assert skipped["result"] == "Skipped"

    user = entra.user(
        "quinn", mail="quinn@openmrs.onmicrosoft.com", otherMails=["a@x.org", "b@x.org"]
    )
    entra.assign(user["id"])
    path = f"/jobs/{entra.job}/schema"
    schema = entra.sync("GET", path).json()
    mappings = schema["synchronizationRules"][0]["objectMappings"][0][
        "attributeMappings"
    ]
    title = next(m for m in mappings if m["targetAttributeName"] == "title")
    title["source"] = {
        "expression": "[otherMails]",
        "name": "otherMails",
        "parameters": [],
        "type": "Attribute",
    }
    assert entra.sync("PUT", path, json=schema).status_code == 204
    failed = json.loads(entra.on_demand(user["id"]).json()["key"])
    assert failed["result"] == "Failure"
    assert failed["details"]["errorCode"] == "SchemaPropertyCanOnlyAcceptValue"


def test_provisioning_logs(entra: Entra) -> None:
    """§7: "Write a provisioningObjectSummary for every processed object (GET
    /auditLogs/provisioning with case-sensitive eq/contains/gt/lt filters, $top,
    $orderby, @odata.nextLink paging), with provisioningAction,
    provisioningStatusInfo, provisioningSteps, modifiedProperties, sourceIdentity,
    targetIdentity, jobId, cycleId, changeId, initiatedBy.displayName"."""
    if not atlassian_ready(entra.sandbox):
        pytest.skip("the Atlassian emulator is not installed")
    users = [
        entra.user(f"log{n}", mail=f"log{n}@openmrs.onmicrosoft.com") for n in range(2)
    ]
    for user in users:
        entra.assign(user["id"])
        entra.on_demand(user["id"])
    found = entra.graph(
        "GET",
        "/auditLogs/provisioning",
        params={"$filter": f"sourceIdentity/id eq '{users[0]['id']}'"},
    ).json()["value"]
    assert len(found) == 1
    entry = found[0]
    assert entry["provisioningAction"] == "create"
    assert entry["provisioningStatusInfo"]["status"] == "success"
    assert entry["initiatedBy"]["displayName"] == "Azure AD Provisioning Service"
    assert entry["jobId"] == entra.job and entry["cycleId"] and entry["changeId"]
    assert (
        entry["provisioningSteps"]
        and entry["modifiedProperties"]
        and entry["targetIdentity"]["id"]
    )

    upper = users[0]["userPrincipalName"].upper()
    assert (
        entra.graph(
            "GET",
            "/auditLogs/provisioning",
            params={"$filter": f"sourceIdentity/displayName eq '{upper}'"},
        ).json()["value"]
        == []
    )
    contains = entra.graph(
        "GET",
        "/auditLogs/provisioning",
        params={"$filter": "contains(sourceIdentity/displayName, 'log')"},
    ).json()["value"]
    assert len(contains) == 2
    page = entra.graph(
        "GET",
        "/auditLogs/provisioning",
        params={"$top": "1", "$orderby": "activityDateTime asc"},
    ).json()
    assert len(page["value"]) == 1 and "@odata.nextLink" in page
    assert (
        entra.graph(
            "GET",
            "/auditLogs/provisioning",
            params={"$filter": "activityDateTime gt 2100-01-01T00:00:00Z"},
        ).json()["value"]
        == []
    )


def test_escrow_and_quarantine(entra: Entra) -> None:
    """§7: "Escrow failed objects and retry them in later cycles; enter Quarantine
    (EncounteredQuarantineException) when the SCIM endpoint rejects the token
    (401/403) for all calls; start/restart clears it"."""
    if not atlassian_ready(entra.sandbox):
        pytest.skip("the Atlassian emulator is not installed")
    atl = read_identifiers(entra.sandbox.state_dir)["atlassian_scim_directory_id"]
    bad = [
        {
            "key": "BaseAddress",
            "value": f"{entra.sandbox.base_urls['atlassian']}/scim/directory/{atl}",
        },
        {"key": "SecretToken", "value": "not-the-scim-token"},
    ]
    assert entra.sync("PUT", "/secrets", json={"value": bad}).status_code == 204
    assert entra.sync("POST", f"/jobs/{entra.job}/start").status_code == 204
    cycle = entra.http.post(
        f"{entra.base}/_entra/cycle", json={"jobId": entra.job}
    ).json()
    assert cycle["executions"][0]["lastExecution"]["state"] == "Failed"
    status = entra.sync("GET", f"/jobs/{entra.job}").json()["status"]
    assert status["code"] == "Quarantine"
    assert status["quarantine"]["reason"] == "EncounteredQuarantineException"
    assert entra.sync("POST", f"/jobs/{entra.job}/start").status_code == 204
    status = entra.sync("GET", f"/jobs/{entra.job}").json()["status"]
    assert status["code"] == "Active" and status["quarantine"] is None


def test_run_cycle_now(entra: Entra) -> None:
    """§7: "Time: the live service needs up to ~40 min per incremental cycle; the
    emulator should expose a way to "run a cycle now" (and treat provisionOnDemand
    as synchronous) while keeping the same observable state transitions"."""
    if not atlassian_ready(entra.sandbox):
        pytest.skip("the Atlassian emulator is not installed")
    refused = entra.http.post(f"{entra.base}/_entra/cycle", json={"jobId": entra.job})
    assert refused.status_code == 409
    user = entra.user("ray", mail="ray@openmrs.onmicrosoft.com")
    entra.assign(user["id"])
    assert entra.sync("POST", f"/jobs/{entra.job}/start").status_code == 204
    run = entra.http.post(
        f"{entra.base}/_entra/cycle", json={"jobId": entra.job}
    ).json()
    execution = run["executions"][0]["lastExecution"]
    assert execution["state"] == "Succeeded" and execution["countExported"] >= 1
    status = entra.sync("GET", f"/jobs/{entra.job}").json()["status"]
    assert (
        status["lastSuccessfulExecutionWithExports"]["activityIdentifier"]
        == execution["activityIdentifier"]
    )
    assert status["steadyStateFirstAchievedTime"] != "0001-01-01T00:00:00Z"


def test_injected_throttling_speaks_graphs_error_envelope(
    sandbox: SandboxHandle,
) -> None:
    """§7 Graph users: "429 with integer Retry-After", in the error envelope (§2.5)."""
    tls = ssl.create_default_context(cafile=str(sandbox.ca_file))
    base = sandbox.base_urls["entra"]
    fault = [
        {"kind": "status", "status": 429, "retry_after": 2, "path_prefix": "/v1.0/"}
    ]
    assert (
        httpx.put(f"{base}/_sandbox/faults", json=fault, verify=tls).status_code == 200
    )
    try:
        answer = httpx.get(f"{base}/v1.0/users", verify=tls)
    finally:
        httpx.delete(f"{base}/_sandbox/faults", verify=tls)
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "2"
    error = answer.json()["error"]
    assert error["code"] == "TooManyRequests"
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
