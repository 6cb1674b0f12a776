"""Contract tests of the Atlassian emulator: one per atlassian.md §8 bullet.

Each test names the §8 bullet it checks (and the fact behind it) in its
docstring. Every call goes over HTTPS to the session sandbox; the emulator is
reset before each test.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssopoc.sandbox import SandboxHandle, read_credentials, read_identifiers
from ssopoc.sandbox.atlassian import AtlassianEmulator
from ssopoc.sandbox.base import CredentialBook, EmulatorContext
from ssopoc.sandbox.state import StateStore

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
EXTERNAL = "urn:scim:schemas:extension:atlassian-external:1.0"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Atl:
    """The emulator of the session sandbox, with its seeded ids and keys."""

    base: str
    directory: str
    org: str
    keys: dict[str, str]
    ids: dict[str, str]
    http: httpx.Client

    def scim(self, method: str, path: str, key: str | None = None, **kw: Any):
        headers = kw.pop("headers", {})
        token = self.keys["atlassian_scim_token"] if key is None else key
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = f"{self.base}/scim/directory/{self.directory}{path}"
        return self.http.request(method, url, headers=headers, **kw)

    def admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys['atlassian_org_api_key']}"}
        return self.http.request(method, self.base + path, headers=headers, **kw)

    def site(self, path: str, **params: str) -> httpx.Response:
        auth = (self.ids["jira_email"], self.keys["jira_api_token"])
        return self.http.get(self.base + path, params=params, auth=auth)

    def control(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.http.request(method, f"{self.base}/_atlassian/{path}", json=body)

    def assume(self, **settings: Any) -> None:
        response = self.control("PUT", "assumptions", settings)
        assert response.status_code == 200, response.text

    def create_user(self, email: str, **extra: Any) -> dict[str, Any]:
        body = {
            "schemas": [USER],
            "userName": email,
            "emails": [{"value": email, "type": "work", "primary": True}],
            **extra,
        }
        response = self.scim("POST", "/Users", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def patch_user(self, user_id: str, *operations: dict[str, Any]):
        body = {"schemas": [PATCH], "Operations": list(operations)}
        return self.scim("PATCH", f"/Users/{user_id}", json=body)

    def group(self, name: str) -> dict[str, Any]:
        found = self.scim(
            "GET", "/Groups", params={"filter": f'displayName eq "{name}"'}
        )
        resources: list[dict[str, Any]] = found.json()["Resources"]
        return resources[0]

    def add_to_group(self, group_id: str, *user_ids: str) -> httpx.Response:
        value = [{"value": u} for u in user_ids]
        body = {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": value}],
        }
        return self.scim("PATCH", f"/Groups/{group_id}", json=body)

    def org_user(self, email: str) -> dict[str, Any]:
        path = f"/admin/v2/orgs/{self.org}/directories/{self.directory}/users/search"
        body = {"emails": [email], "expand": ["productAccess", "groups"]}
        found: list[dict[str, Any]] = self.admin("POST", path, json=body).json()["data"]
        assert len(found) == 1, found
        return found[0]


@pytest.fixture
def atl(sandbox: SandboxHandle) -> Iterator[Atl]:
    """The Atlassian emulator, reset to its seeded state."""
    context = ssl.create_default_context(cafile=str(sandbox.ca_file))
    base = sandbox.base_urls["atlassian"]
    with httpx.Client(verify=context, timeout=30) as http:
        assert http.post(f"{base}/_sandbox/reset").status_code == 200
        ids = read_identifiers(sandbox.state_dir)
        yield Atl(
            base=base,
            directory=ids["atlassian_scim_directory_id"],
            org=ids["atlassian_org_id"],
            keys=read_credentials(sandbox.state_dir),
            ids=ids,
            http=http,
        )
        http.post(f"{base}/_sandbox/reset")


def email_body(email: str) -> list[dict[str, Any]]:
    return [{"value": email, "type": "work", "primary": True}]


# -- Transport and auth ------------------------------------------------------


def test_serves_scim_under_directory_path_on_configured_host(atl: Atl) -> None:
    """§8 Transport: `/scim/directory/{id}/...` on the configured host (UPINTRO)."""
    response = atl.scim("GET", "/Users")
    assert response.status_code == 200
    assert atl.base.startswith("https://127.0.0.1:")
    assert response.json()["schemas"] == [
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    ]


def test_missing_authorization_is_401_failure_body(atl: Atl) -> None:
    """§8 Transport: missing header → 401 Failure `{error, traceId}` (§1.7 OAS22)."""
    response = atl.scim("GET", "/Users", key="")
    assert response.status_code == 401
    assert set(response.json()) == {"error", "traceId"}


def test_wrong_or_org_key_is_403_not_authorized(atl: Atl) -> None:
    """§8 Transport: wrong key, or the org key → 403 with OKTAKEY's text."""
    expected = f"Not authorized to access : scim/directory/{atl.directory}/Users"
    for key in ("not-the-key-000", atl.keys["atlassian_org_api_key"]):
        response = atl.scim("GET", "/Users", key=key)
        assert response.status_code == 403
        assert response.json()["error"] == expected
        assert response.json()["traceId"]


def test_unknown_directory_is_404_scim_error(atl: Atl) -> None:
    """§8 Transport: unknown directoryId → 404 ScimError."""
    url = f"{atl.base}/scim/directory/00000000-no-such/Users"
    headers = {"Authorization": f"Bearer {atl.keys['atlassian_scim_token']}"}
    response = atl.http.get(url, headers=headers)
    assert response.status_code == 404
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert response.json()["status"] == "404"


@pytest.mark.parametrize("content_type", ["application/json", "application/scim+json"])
def test_accepts_both_json_types_and_answers_scim_json(
    atl: Atl, content_type: str
) -> None:
    """§8 Transport: bodies as json or scim+json; answers scim+json (§1.1 OAS22)."""
    body = (
        '{"userName":"ct@openmrs.org","emails":'
        '[{"value":"ct@openmrs.org","primary":true}]}'
    )
    response = atl.scim(
        "POST", "/Users", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/scim+json")


# -- Users: POST ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"emails": email_body("a@openmrs.org")}, "userName is required"),
        ({"userName": "a@openmrs.org"}, "emails is required"),
        ({"userName": "a@openmrs.org", "emails": []}, "emails is required"),
        (
            {
                "userName": "a@openmrs.org",
                "emails": [
                    {"value": "a@openmrs.org", "primary": True},
                    {"value": "b@openmrs.org", "primary": True},
                ],
            },
            "exactly one email",
        ),
        (
            {"userName": "a@openmrs.org", "emails": [{"value": "a@openmrs.org"}]},
            "exactly one email",
        ),
    ],
)
def test_post_requires_user_name_and_one_primary_email(
    atl: Atl, body: dict[str, Any], detail: str
) -> None:
    """§8 POST /Users: userName, non-empty emails, one primary → else 400
    invalidValue (§1.3 OAS22; [S] SAILPOINT; detail text (U))."""
    response = atl.scim("POST", "/Users", json={"schemas": [USER], **body})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert detail in response.json()["detail"]


def test_post_ignores_client_id_fills_meta_defaults_active(atl: Atl) -> None:
    """§8 POST /Users: client id ignored, UUID id, meta (resourceType, location,
    ISO timestamps), active defaults to true, 201 with the full user (JSUP)."""
    created = atl.create_user("meta@openmrs.org", id="client-chosen")
    assert created["id"] != "client-chosen"
    assert len(created["id"]) == 36 and created["id"].count("-") == 4
    meta = created["meta"]
    assert meta["resourceType"] == "User"
    expected = f"{atl.base}/scim/directory/{atl.directory}/Users/{created['id']}"
    assert meta["location"] == expected
    assert meta["created"].endswith("Z") and "T" in meta["lastModified"]
    assert created["active"] is True
    assert created["userName"] == "meta@openmrs.org"
    assert created["emails"][0]["value"] == "meta@openmrs.org"


def test_location_base_can_be_api_atlassian_com(atl: Atl) -> None:
    """§8 POST /Users: `location` on `https://api.atlassian.com/...` when the
    `location_base` setting says so (the emulator URL is the default)."""
    atl.assume(location_base="atlassian")
    created = atl.create_user("loc@openmrs.org")
    expected = (
        f"https://api.atlassian.com/scim/directory/{atl.directory}/Users/"
        f"{created['id']}"
    )
    assert created["meta"]["location"] == expected


@pytest.mark.parametrize(
    ("second", "field"),
    [
        ({"userName": "dup@openmrs.org", "email": "other@openmrs.org"}, "userName"),
        ({"userName": "other@openmrs.org", "email": "DUP@openmrs.org"}, "email"),
        (
            {"userName": "x@openmrs.org", "email": "x@openmrs.org", "ext": "E1"},
            "externalId",
        ),
    ],
)
def test_uniqueness_409_body_with_string_status(
    atl: Atl, second: dict[str, str], field: str
) -> None:
    """§8 Uniqueness → 409: duplicate userName, primary email or externalId (U)
    gives Atlassian's body with `status` as a string ([S] KBFAILUPD, KB409)."""
    atl.create_user("dup@openmrs.org", externalId="E1")
    body: dict[str, Any] = {
        "schemas": [USER],
        "userName": second["userName"],
        "emails": email_body(second["email"]),
    }
    if "ext" in second:
        body["externalId"] = second["ext"]
    response = atl.scim("POST", "/Users", json=body)
    assert response.status_code == 409, field
    assert response.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "409",
        "scimType": "uniqueness",
        "detail": f"Resource [USER]: with email[{second['email']}] already exists.",
    }


def test_external_id_uniqueness_is_a_setting(atl: Atl) -> None:
    """§8 Uniqueness: the externalId clash (U) can be turned off."""
    atl.assume(unique_external_id=False)
    atl.create_user("e1@openmrs.org", externalId="SAME")
    atl.create_user("e2@openmrs.org", externalId="SAME")


def test_create_links_to_existing_account_by_email(atl: Atl) -> None:
    """§8 Account linking: an account with the primary email exists → link to it
    (§1.5 OAS22, JSUP; [S] LINKQ)."""
    signed = atl.control(
        "POST", "signup", {"email": "pat@gmail.com", "password": "s3cret-pass"}
    ).json()
    created = atl.create_user("pat@gmail.com")
    assert created[EXTERNAL]["atlassianAccountId"] == signed["accountId"]


def test_create_makes_managed_or_external_accounts(atl: Atl) -> None:
    """§8 Account linking: claimed domain → managed account; unverified domain →
    external account (U default `create`) ([C] MANAGED; [S] KBEMAILCHG)."""
    managed = atl.create_user("kim@openmrs.org")
    external = atl.create_user("lee@gmail.com")
    assert managed[EXTERNAL]["atlassianAccountId"]
    assert external[EXTERNAL]["atlassianAccountId"]
    assert atl.org_user("kim@openmrs.org")["claimStatus"] == "managed"
    assert atl.org_user("lee@gmail.com")["claimStatus"] == "unmanaged"
    assert atl.org_user("lee@gmail.com")["emailVerified"] is False


def test_external_account_can_wait_for_first_login(atl: Atl) -> None:
    """§8 Account linking (U option "leave unlinked until first login")."""
    atl.assume(external_account_on_create="on_first_login")
    created = atl.create_user("max@gmail.com")
    assert EXTERNAL not in created
    signed = atl.control(
        "POST", "signup", {"email": "max@gmail.com", "password": "s3cret-pass"}
    ).json()
    assert signed["linkedScimRecords"] == [created["id"]]
    linked = atl.scim("GET", f"/Users/{created['id']}").json()
    assert linked[EXTERNAL]["atlassianAccountId"] == signed["accountId"]


def test_extension_absent_when_created_inactive(atl: Atl) -> None:
    """§8 Account linking: no `atlassianAccountId` when created `active:false`
    ([S] OKTAWF)."""
    created = atl.create_user("off@openmrs.org", active=False)
    assert EXTERNAL not in created
    assert EXTERNAL not in created["schemas"]


def test_user_carries_read_only_groups(atl: Atl) -> None:
    """§8 Account linking: `groups` (read-only) on the user (§1.3 OAS22)."""
    created = atl.create_user("grp@openmrs.org", groups=[{"value": "forged"}])
    group = atl.group("openmrs-jira-users")
    atl.add_to_group(group["id"], created["id"])
    fetched = atl.scim("GET", f"/Users/{created['id']}").json()
    assert [g["value"] for g in fetched["groups"]] == [group["id"]]
    assert fetched["groups"][0]["display"] == "openmrs-jira-users"


def test_classification_verified_unclaimed_and_public_are_external(atl: Atl) -> None:
    """§8 Classification: managed iff verified and claimed; openmrs.net (verified,
    unclaimed) and gmail.com are external ([C] MANAGED, VERIFY; [S] ACC2172)."""
    for email, claim in (
        ("a@id.openmrs.org", "managed"),
        ("b@openmrs.net", "unmanaged"),
        ("c@gmail.com", "unmanaged"),
    ):
        atl.create_user(email)
        assert atl.org_user(email)["claimStatus"] == claim, email


# -- Users: GET ----------------------------------------------------------------


def test_filter_subset_user_name_and_external_id(atl: Atl) -> None:
    """§8 GET /Users: `userName eq` and `externalId eq` only (OAS22, KBFILTER)."""
    created = atl.create_user("fil@openmrs.org", externalId="OID-1")
    for expression in ('userName eq "fil@openmrs.org"', 'externalId eq "OID-1"'):
        found = atl.scim("GET", "/Users", params={"filter": expression}).json()
        assert found["totalResults"] == 1
        assert found["Resources"][0]["id"] == created["id"]


@pytest.mark.parametrize(
    "expression",
    [
        'displayName eq "x"',
        'emails[type eq "work"].value eq "fil@openmrs.org"',
        'userName co "fil"',
        'userName sw "fil"',
        "userName pr",
        'userName eq "a" and externalId eq "b"',
        'userName eq "a" or userName eq "b"',
    ],
)
def test_other_filters_are_invalid_filter(atl: Atl, expression: str) -> None:
    """§8 GET /Users: anything else → 400 invalidFilter ([S] ACC1424)."""
    response = atl.scim("GET", "/Users", params={"filter": expression})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_sort_by_is_ignored_or_rejected(atl: Atl) -> None:
    """§8 GET /Users: no sorting: sortBy ignored (default) or 400 (U)."""
    response = atl.scim("GET", "/Users", params={"sortBy": "userName"})
    assert response.status_code == 200
    atl.assume(sort_by="reject")
    response = atl.scim("GET", "/Users", params={"sortBy": "userName"})
    assert response.status_code == 400


def test_paging_is_one_based_default_100_and_capped(atl: Atl) -> None:
    """§8 GET /Users: startIndex 1-based, default page 100, count capped at 100
    (U cap) ([S] KBFETCH)."""
    for index in range(102):
        atl.create_user(f"page{index:03d}@openmrs.org")
    first = atl.scim("GET", "/Users").json()
    assert (first["startIndex"], first["itemsPerPage"]) == (1, 100)
    assert first["totalResults"] == 102
    big = atl.scim("GET", "/Users", params={"count": "500"}).json()
    assert big["itemsPerPage"] == 100
    rest = atl.scim("GET", "/Users", params={"startIndex": "101"}).json()
    assert rest["startIndex"] == 101 and rest["itemsPerPage"] == 2
    ids = {r["id"] for r in first["Resources"]} | {r["id"] for r in rest["Resources"]}
    assert len(ids) == 102


def test_list_response_and_attribute_selection(atl: Atl) -> None:
    """§8 GET /Users: ListResponse fields; attributes/excludedAttributes honoured,
    mutually exclusive (§1.4 OAS22)."""
    atl.create_user("sel@openmrs.org", displayName="Sel")
    listed = atl.scim("GET", "/Users", params={"attributes": "userName"}).json()
    assert {"totalResults", "startIndex", "itemsPerPage", "Resources"} <= set(listed)
    only = listed["Resources"][0]
    assert "userName" in only and "displayName" not in only and "emails" not in only
    without = atl.scim("GET", "/Users", params={"excludedAttributes": "emails"}).json()
    assert "emails" not in without["Resources"][0]
    assert without["Resources"][0]["displayName"] == "Sel"
    both = {"attributes": "userName", "excludedAttributes": "emails"}
    assert atl.scim("GET", "/Users", params=both).status_code == 400


def test_filter_without_match_is_empty_200(atl: Atl) -> None:
    """§8 GET /Users: no match → 200 with totalResults 0."""
    response = atl.scim(
        "GET", "/Users", params={"filter": 'userName eq "nobody@openmrs.org"'}
    )
    assert response.status_code == 200
    assert response.json()["totalResults"] == 0


def test_get_unknown_or_deleted_user_is_404(atl: Atl) -> None:
    """§8 GET /Users/{id}: 404 ScimError for unknown ids and deleted records."""
    created = atl.create_user("gone@openmrs.org")
    assert atl.scim("GET", "/Users/no-such-id").status_code == 404
    assert atl.scim("DELETE", f"/Users/{created['id']}").status_code == 204
    response = atl.scim("GET", f"/Users/{created['id']}")
    assert response.status_code == 404
    assert response.json()["status"] == "404"


# -- Users: PUT and PATCH --------------------------------------------------------


def test_put_replaces_and_clears_but_keeps_extensions(atl: Atl) -> None:
    """§8 PUT: unspecified attributes cleared except id, meta, groups and the
    extensions; userName required (§1.5 OAS22, JSUP)."""
    created = atl.create_user(
        "put@openmrs.org",
        displayName="Old",
        title="T",
        **{ENTERPRISE: {"department": "D"}},
    )
    body = {"schemas": [USER], "userName": "put@openmrs.org"}
    body["emails"] = email_body("put@openmrs.org")
    body["nickName"] = "New"
    replaced = atl.scim("PUT", f"/Users/{created['id']}", json=body).json()
    assert replaced["nickName"] == "New"
    assert "displayName" not in replaced and "title" not in replaced
    assert replaced[ENTERPRISE] == {"department": "D"}
    assert replaced[EXTERNAL] == created[EXTERNAL]
    assert replaced["id"] == created["id"]
    del body["userName"]
    assert atl.scim("PUT", f"/Users/{created['id']}", json=body).status_code == 400


def test_patch_accepts_entra_forms_and_answers_200(atl: Atl) -> None:
    """§8 PATCH: `operations` or `Operations`, capitalised op, pathless ops and
    the listed paths incl. `emails[type eq "work"].value` and the enterprise
    department; 200 with the user (§1.5; Entra forms (U))."""
    created = atl.create_user("ent@openmrs.org")
    operations = [
        {"op": "Replace", "path": "displayName", "value": "Ent Ra"},
        {"op": "Add", "path": "name.givenName", "value": "Ent"},
        {"op": "replace", "path": "title", "value": "Dev"},
        {"op": "Replace", "path": "nickName", "value": "E"},
        {"op": "Replace", "path": "preferredLanguage", "value": "fr"},
        {"op": "Replace", "path": "timezone", "value": "Africa/Nairobi"},
        {"op": "Replace", "path": "organization", "value": "OpenMRS"},
        {"op": "Replace", "path": "department", "value": "Core"},
        {"op": "Replace", "path": "externalId", "value": "OBJ-1"},
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Ent-Dept"},
        {"op": "Replace", "value": {"active": "True", "userName": "ent@openmrs.org"}},
    ]
    body = {"schemas": [PATCH], "operations": operations}
    response = atl.scim("PATCH", f"/Users/{created['id']}", json=body)
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["displayName"] == "Ent Ra" and user["name"]["givenName"] == "Ent"
    assert (user["title"], user["nickName"], user["preferredLanguage"]) == (
        "Dev",
        "E",
        "fr",
    )
    assert (user["timezone"], user["organization"], user["department"]) == (
        "Africa/Nairobi",
        "OpenMRS",
        "Core",
    )
    assert user["externalId"] == "OBJ-1"
    assert user[ENTERPRISE]["department"] == "Ent-Dept"
    work = [
        {
            "op": "Replace",
            "path": 'emails[type eq "work"].value',
            "value": "e2@openmrs.org",
        }
    ]
    changed = atl.patch_user(created["id"], *work).json()
    assert changed["emails"][0]["value"] == "e2@openmrs.org"


def test_patch_string_booleans_setting(atl: Atl) -> None:
    """§8 PATCH: "True"/"False" for active accepted (U); refused when off."""
    created = atl.create_user("sb@openmrs.org")
    off = {"op": "Replace", "path": "active", "value": "False"}
    assert atl.patch_user(created["id"], off).json()["active"] is False
    atl.assume(accept_string_booleans=False)
    on = {"op": "Replace", "path": "active", "value": "True"}
    response = atl.patch_user(created["id"], on)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


# -- Email change, external updates, active, DELETE ------------------------------


def test_email_change_to_claimed_domain_updates_managed_account(atl: Atl) -> None:
    """§8 Email change: managed → claimed verified domain updates the account's
    email ([S] KB409, KBPUSH)."""
    created = atl.create_user("old@openmrs.org")
    account_id = created[EXTERNAL]["atlassianAccountId"]
    new = {"op": "replace", "path": "emails", "value": email_body("new@id.openmrs.org")}
    changed = atl.patch_user(created["id"], new).json()
    assert changed[EXTERNAL]["atlassianAccountId"] == account_id
    assert atl.org_user("new@id.openmrs.org")["accountId"] == account_id


def test_email_change_to_unclaimed_domain_unlinks(atl: Atl) -> None:
    """§8 Email change: → unverified/unclaimed domain keeps the email, unlinks,
    drops SCIM groups, writes the log line ([S] KBEMAILCHG, ACC1396)."""
    created = atl.create_user("mv@openmrs.org")
    group = atl.group("openmrs-jira-users")
    atl.add_to_group(group["id"], created["id"])
    new = {"op": "replace", "path": "emails", "value": email_body("mv@gmail.com")}
    changed = atl.patch_user(created["id"], new).json()
    assert changed["emails"][0]["value"] == "mv@gmail.com"
    assert EXTERNAL not in changed
    assert "groups" not in changed
    log = [entry["message"] for entry in atl.control("GET", "log").json()]
    assert (
        f"Email update to unmanaged user with ID {created['id']}, primary email "
        "mv@gmail.com, unlinked any associated atlassian account."
    ) in log


def test_email_change_to_email_of_another_account_is_409(atl: Atl) -> None:
    """§8 Email change: new email owned by another account → 409 (KB409)."""
    atl.control("POST", "signup", {"email": "own@gmail.com", "password": "p4ssword!"})
    created = atl.create_user("me@openmrs.org")
    new = {"op": "replace", "path": "emails", "value": email_body("own@gmail.com")}
    response = atl.patch_user(created["id"], new)
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "Resource [USER]: with email[own@gmail.com] already exists."
    )


def test_external_profile_unchanged_and_optional_group_drop(atl: Atl) -> None:
    """§8 Updates to external users: the account profile is untouched; optional
    (U) mode drops SCIM groups on any update ([C] MSTUT; [S] KBEMAILCHG)."""
    created = atl.create_user("ext@gmail.com", displayName="First Name")
    rename = {"op": "replace", "path": "displayName", "value": "Second Name"}
    atl.patch_user(created["id"], rename)
    assert atl.org_user("ext@gmail.com")["name"] == "First Name"

    group = atl.group("openmrs-jira-users")
    atl.add_to_group(group["id"], created["id"])
    atl.assume(external_update_drops_groups=True)
    retitle = {"op": "replace", "path": "title", "value": "Volunteer"}
    assert "groups" not in atl.patch_user(created["id"], retitle).json()


def test_active_false_managed_and_external(atl: Atl) -> None:
    """§8 active:false: managed → deactivated; external → suspended, no product
    access, global account untouched (U); active:true restores ([C] OAS22)."""
    managed = atl.create_user("m@openmrs.org")
    external = atl.create_user("x@gmail.com")
    group = atl.group("openmrs-jira-users")
    atl.add_to_group(group["id"], managed["id"], external["id"])
    off = {"op": "replace", "path": "active", "value": False}
    on = {"op": "replace", "path": "active", "value": True}
    for user in (managed, external):
        atl.patch_user(user["id"], off)
    assert atl.org_user("m@openmrs.org")["status"] == "deactivated"
    assert atl.org_user("m@openmrs.org")["accountStatus"] == "inactive"
    ext = atl.org_user("x@gmail.com")
    assert (ext["status"], ext["accountStatus"]) == ("suspended", "active")
    assert ext["productAccess"] == []
    for user in (managed, external):
        atl.patch_user(user["id"], on)
    assert atl.org_user("m@openmrs.org")["status"] == "active"
    assert [p["key"] for p in atl.org_user("x@gmail.com")["productAccess"]] == [
        "jira-software"
    ]


def test_delete_current_semantics(atl: Atl) -> None:
    """§8 DELETE (current, default): 204; record removed and unlinked; managed
    account deactivated; later calls 404 ([C] JSUP, BLINK)."""
    created = atl.create_user("del@openmrs.org")
    assert atl.scim("DELETE", f"/Users/{created['id']}").status_code == 204
    assert atl.scim("GET", f"/Users/{created['id']}").status_code == 404
    assert atl.scim("DELETE", f"/Users/{created['id']}").status_code == 404
    assert atl.org_user("del@openmrs.org")["status"] == "deactivated"
    path = f"/admin/user-provisioning/v1/org/{atl.org}/get-scim-links-for-email"
    links = atl.admin("POST", path, json={"email": "del@openmrs.org"}).json()
    assert links["scimLinks"] == []


def test_delete_legacy_semantics(atl: Atl) -> None:
    """§8 DELETE (legacy setting): deactivate only; later calls 404 (OAS22)."""
    atl.assume(delete_semantics="legacy")
    created = atl.create_user("leg@openmrs.org")
    assert atl.scim("DELETE", f"/Users/{created['id']}").status_code == 204
    assert atl.scim("GET", f"/Users/{created['id']}").status_code == 404
    assert atl.org_user("leg@openmrs.org")["status"] == "deactivated"
    again = {"schemas": [USER], "userName": "leg@openmrs.org"}
    again["emails"] = email_body("leg@openmrs.org")
    assert atl.scim("POST", "/Users", json=again).status_code == 409


# -- Groups --------------------------------------------------------------------


def test_group_post_201_and_409_on_existing_name(atl: Atl) -> None:
    """§8 Groups POST: 201; 409 when the name exists in the org, case-insensitive
    by default (U) (§1.6 OAS22; [S] ACC1369)."""
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}
    response = atl.scim("POST", "/Groups", json={**body, "displayName": "Team"})
    assert response.status_code == 201
    for name in ("Team", "TEAM", "site-admins"):
        clash = atl.scim("POST", "/Groups", json={**body, "displayName": name})
        assert clash.status_code == 409, name
        assert clash.json()["scimType"] == "uniqueness"


def test_a_refused_group_keeps_its_troubleshooting_line(atl: Atl) -> None:
    """§8 Groups POST 409 changes nothing, yet the log keeps Atlassian's line
    ("Failed to create group ... due to existing group", §1.7 [S] ACC1369)."""
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}
    groups = atl.scim("GET", "/Groups").json()["totalResults"]
    clash = atl.scim("POST", "/Groups", json={**body, "displayName": "site-admins"})
    assert clash.status_code == 409
    lines = [entry["message"] for entry in atl.control("GET", "log").json()]
    assert any(
        line.startswith("Failed to create group of name site-admins") for line in lines
    )
    assert atl.scim("GET", "/Groups").json()["totalResults"] == groups


def test_group_list_filter_only_display_name(atl: Atl) -> None:
    """§8 Groups GET list: only `displayName eq`, else 400 invalidFilter."""
    assert atl.group("openmrs-jira-users")["displayName"] == "openmrs-jira-users"
    for expression in ('displayName co "jira"', 'externalId eq "x"'):
        response = atl.scim("GET", "/Groups", params={"filter": expression})
        assert response.status_code == 400
        assert response.json()["scimType"] == "invalidFilter"


def test_group_get_put_and_member_shape(atl: Atl) -> None:
    """§8 Groups GET by id, PUT (400 for unknown members), member shape
    `{type, value, display, $ref}` and meta (§1.6 OAS22 example)."""
    user = atl.create_user("mem@openmrs.org")
    group = atl.group("openmrs-confluence-users")
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "openmrs-confluence-users",
        "members": [{"value": user["id"]}],
    }
    replaced = atl.scim("PUT", f"/Groups/{group['id']}", json=body).json()
    member = replaced["members"][0]
    assert member["type"] == "User" and member["value"] == user["id"]
    assert member["display"] == "mem@openmrs.org"
    assert member["$ref"].endswith(
        f"/scim/directory/{atl.directory}/Users/{user['id']}"
    )
    fetched = atl.scim("GET", f"/Groups/{group['id']}").json()
    assert fetched["meta"]["resourceType"] == "Group"
    assert fetched["meta"]["location"].endswith(f"/Groups/{group['id']}")
    body["members"] = [{"value": "no-such-user"}]
    assert atl.scim("PUT", f"/Groups/{group['id']}", json=body).status_code == 400


def test_group_patch_add_remove_and_batched(atl: Atl) -> None:
    """§8 Groups PATCH: add/remove, `members` value arrays, the
    `members[value eq "id"]` remove, batched ops (§1.6 OAS22; Entra batches)."""
    one, two = atl.create_user("g1@openmrs.org"), atl.create_user("g2@openmrs.org")
    group = atl.group("openmrs-jira-users")
    operations = [
        {"op": "Add", "path": "members", "value": [{"value": one["id"]}]},
        {"op": "Add", "path": "members", "value": [{"value": two["id"]}]},
        {"op": "Remove", "path": f'members[value eq "{one["id"]}"]'},
    ]
    body = {"schemas": [PATCH], "Operations": operations}
    patched = atl.scim("PATCH", f"/Groups/{group['id']}", json=body).json()
    assert [m["value"] for m in patched["members"]] == [two["id"]]
    remove = {
        "op": "remove",
        "path": "members",
        "value": [{"value": two["id"]}],
    }
    body = {"schemas": [PATCH], "Operations": [remove]}
    emptied = atl.scim("PATCH", f"/Groups/{group['id']}", json=body).json()
    assert not emptied.get("members")


def test_group_rename_rejected_or_ignored(atl: Atl) -> None:
    """§8 Groups PATCH: a displayName change is rejected (400, code (U)) or
    ignored by setting (§1.6 OAS22, JSUP, MSTUT)."""
    group = atl.group("openmrs-jira-users")
    rename = {"op": "replace", "path": "displayName", "value": "renamed"}
    body = {"schemas": [PATCH], "Operations": [rename]}
    response = atl.scim("PATCH", f"/Groups/{group['id']}", json=body)
    assert response.status_code == 400
    assert response.json()["scimType"] == "mutability"
    atl.assume(group_rename="ignore")
    response = atl.scim("PATCH", f"/Groups/{group['id']}", json=body)
    assert response.status_code == 200
    assert response.json()["displayName"] == "openmrs-jira-users"


def test_group_delete_removes_product_access(atl: Atl) -> None:
    """§8 Groups DELETE: 204 (404 unknown); the access it granted goes
    ([C] JSUP, UPGROUPS)."""
    user = atl.create_user("acc@openmrs.org")
    group = atl.group("openmrs-jira-users")
    atl.add_to_group(group["id"], user["id"])
    assert [p["key"] for p in atl.org_user("acc@openmrs.org")["productAccess"]] == [
        "jira-software"
    ]
    assert atl.scim("DELETE", f"/Groups/{group['id']}").status_code == 204
    assert atl.scim("DELETE", f"/Groups/{group['id']}").status_code == 404
    assert atl.org_user("acc@openmrs.org")["productAccess"] == []


# -- Discovery and limits ------------------------------------------------------


def test_discovery_endpoints_never_page(atl: Atl) -> None:
    """§8 Discovery: /Schemas (all and per URN), /ResourceTypes (all, User,
    Group), /ServiceProviderConfig; no pagination (§1.2 OAS22, JSUP)."""
    schemas = atl.scim("GET", "/Schemas", params={"count": "1"}).json()
    ids = {s["id"] for s in schemas["Resources"]}
    assert {USER, ENTERPRISE, EXTERNAL} <= ids and len(ids) == schemas["totalResults"]
    for urn in (USER, "urn:ietf:params:scim:schemas:core:2.0:Group", ENTERPRISE):
        assert atl.scim("GET", f"/Schemas/{urn}").json()["id"] == urn
    types = atl.scim("GET", "/ResourceTypes", params={"startIndex": "2"}).json()
    assert {t["id"] for t in types["Resources"]} == {"User", "Group"}
    for name in ("User", "Group"):
        assert atl.scim("GET", f"/ResourceTypes/{name}").json()["name"] == name


def test_service_provider_config_advertises_atlassian_features(atl: Atl) -> None:
    """§8 Discovery: patch yes, bulk no, filter yes (maxResults 100 (U)), sort,
    etag, changePassword no, OAuth bearer scheme."""
    config = atl.scim("GET", "/ServiceProviderConfig").json()
    assert config["patch"]["supported"] is True
    assert config["bulk"]["supported"] is False
    assert config["filter"] == {"supported": True, "maxResults": 100}
    assert config["sort"]["supported"] is False
    assert config["etag"]["supported"] is False
    assert config["changePassword"]["supported"] is False
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_no_bulk_route(atl: Atl) -> None:
    """§8 Discovery: no `/Bulk` (404) (§1.2: absent from OAS22, JSUP)."""
    response = atl.scim("POST", "/Bulk", json={"Operations": []})
    assert response.status_code == 404


def test_directory_and_group_limits(atl: Atl) -> None:
    """§8 Limits: over the user limit new users are not synced (silent, (U))
    or refused by setting; groups cap members ([C] UUP)."""
    atl.assume(max_users_per_directory=1, max_members_per_group=1)
    first = atl.create_user("lim1@openmrs.org")
    silent = atl.create_user("lim2@openmrs.org")
    assert EXTERNAL not in silent
    group = atl.group("openmrs-jira-users")
    assert atl.add_to_group(group["id"], first["id"], silent["id"]).status_code == 400
    atl.assume(over_limit="reject")
    body = {"schemas": [USER], "userName": "lim3@openmrs.org"}
    body["emails"] = email_body("lim3@openmrs.org")
    response = atl.scim("POST", "/Users", json=body)
    assert response.status_code == 400
    assert response.json()["scimType"] == "tooMany"


def test_optional_rate_limit_429(atl: Atl) -> None:
    """§8 Limits: optional 429 with Retry-After and X-RateLimit-* (U for SCIM)
    ([C] ORGINTRO)."""
    atl.assume(rate_limit_per_minute=2)
    statuses = [atl.scim("GET", "/Users").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = atl.scim("GET", "/Users")
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Limit"] == "2"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["X-RateLimit-Reset"].endswith("Z")


# -- Side models ---------------------------------------------------------------


def test_admin_orgs_directories_and_auth(atl: Atl) -> None:
    """§8 Side models: /admin/v1/orgs and /admin/v2/orgs/{org}/directories on the
    org key; the SCIM key is refused ([C] JSADM, ORGINTRO)."""
    orgs = atl.admin("GET", "/admin/v1/orgs").json()["data"]
    assert [o["id"] for o in orgs] == [atl.org]
    path = f"/admin/v2/orgs/{atl.org}/directories"
    directories = atl.admin("GET", path).json()["data"]
    assert [d["directoryId"] for d in directories] == [atl.directory]
    scim_key = {"Authorization": f"Bearer {atl.keys['atlassian_scim_token']}"}
    assert atl.http.get(atl.base + path, headers=scim_key).status_code == 401


def test_admin_directory_users_and_search(atl: Atl) -> None:
    """§8 Side models: directory users and search with claimStatus, status,
    membershipStatus, emailVerified, productAccess under expand ([C] JSADM)."""
    atl.create_user("dm@openmrs.org")
    atl.create_user("de@gmail.com")
    path = f"/admin/v2/orgs/{atl.org}/directories/{atl.directory}/users"
    managed = atl.admin("GET", path, params={"claimStatus": "managed"}).json()["data"]
    assert "dm@openmrs.org" in {u["email"] for u in managed}
    assert "de@gmail.com" not in {u["email"] for u in managed}
    user = atl.org_user("de@gmail.com")
    assert user["membershipStatus"] == "active" and user["status"] == "active"
    assert user["emailVerified"] is False and user["productAccess"] == []
    plain = atl.admin("GET", f"{path}/{user['accountId']}").json()
    assert "productAccess" not in plain
    both = {"emails": ["de@gmail.com"], "searchTerm": "de"}
    assert atl.admin("POST", f"{path}/search", json=both).status_code == 400


def test_admin_v1_users_lists_managed_only(atl: Atl) -> None:
    """§8 Side models: /admin/v1/orgs/{org}/users lists managed accounts only."""
    atl.create_user("v1m@openmrs.org")
    atl.create_user("v1e@gmail.com")
    data = atl.admin("GET", f"/admin/v1/orgs/{atl.org}/users").json()["data"]
    emails = {a["email"] for a in data}
    assert "v1m@openmrs.org" in emails and "v1e@gmail.com" not in emails


def test_last_active_dates_empty_until_login_with_lag(atl: Atl) -> None:
    """§8 Side models: last-active-dates empty until a simulated login; a
    configurable ≤24 h lag hides fresh activity ([C] LASTACT)."""
    user = atl.create_user("act@openmrs.org")
    account_id = user[EXTERNAL]["atlassianAccountId"]
    atl.add_to_group(atl.group("openmrs-jira-users")["id"], user["id"])
    path = f"/admin/v1/orgs/{atl.org}/directory/users/{account_id}/last-active-dates"
    assert atl.admin("GET", path).json()["data"]["product_access"] == []
    atl.assume(last_active_lag_seconds=3600)
    signed = atl.control(
        "POST",
        "login",
        {"email": "act@openmrs.org", "method": "sso", "product": "jira-software"},
    )
    assert signed.json()["signedIn"] is True
    assert atl.admin("GET", path).json()["data"]["product_access"] == []
    atl.assume(last_active_lag_seconds=0)
    entries = atl.admin("GET", path).json()["data"]["product_access"]
    assert [e["key"] for e in entries] == ["jira-software"]
    assert entries[0]["last_active_timestamp"].endswith("Z")


def test_domains_claim_status(atl: Atl) -> None:
    """§8 Side models: /admin/v1/orgs/{org}/domains with claim.status ([C] JSADM)."""
    data = atl.admin("GET", f"/admin/v1/orgs/{atl.org}/domains").json()["data"]
    names = {d["attributes"]["name"]: d["attributes"]["claim"]["status"] for d in data}
    assert names["openmrs.org"] == "verified"
    assert names["id.openmrs.org"] == "verified"


def test_scim_link_admin_calls(atl: Atl) -> None:
    """§8 Side models: get-scim-links, get-scim-links-for-email (null AAID when
    unlinked), unlink, onlyDeleteUserInDB (managed only) ([C] UPADMIN, JSUP)."""
    managed = atl.create_user("lnk@openmrs.org")
    external = atl.create_user("lnk@gmail.com")
    account_id = managed[EXTERNAL]["atlassianAccountId"]
    prefix = f"/admin/user-provisioning/v1/org/{atl.org}"
    links = atl.admin("GET", f"{prefix}/user/{account_id}/get-scim-links").json()
    assert links["scimLinks"][0]["scimUserId"] == managed["id"]
    unlink = (
        f"{prefix}/scimDirectoryId/{atl.directory}/scimUserId/{managed['id']}/unlink"
    )
    assert atl.admin("PATCH", unlink).status_code == 204
    by_email = atl.admin(
        "POST", f"{prefix}/get-scim-links-for-email", json={"email": "lnk@openmrs.org"}
    ).json()["scimLinks"]
    assert by_email == [
        {
            "scimUserId": managed["id"],
            "atlassianAccountId": None,
            "orgId": atl.org,
            "directoryId": atl.directory,
        }
    ]
    external_id = external[EXTERNAL]["atlassianAccountId"]
    refused = atl.admin("DELETE", f"{prefix}/user/{external_id}/onlyDeleteUserInDB")
    assert refused.status_code == 400
    relinked = atl.create_user("lnk2@openmrs.org")
    relinked_id = relinked[EXTERNAL]["atlassianAccountId"]
    deleted = atl.admin("DELETE", f"{prefix}/user/{relinked_id}/onlyDeleteUserInDB")
    assert deleted.status_code == 204
    assert atl.scim("GET", f"/Users/{relinked['id']}").status_code == 404


def test_jira_user_search_rules(atl: Atl) -> None:
    """§8 Side models, Jira search: active users with site access (U scope),
    prefix match, hidden emailAddress for external users, partial email finds
    nothing, exact does (U) ([C] JSJIRA; [S] PICKER)."""
    group = atl.group("openmrs-jira-users")
    ext = atl.create_user("zed.ext@gmail.com", displayName="Zed External")
    man = atl.create_user("zed.man@openmrs.org", displayName="Zed Managed")
    atl.create_user("zed.noaccess@openmrs.org", displayName="Zed Nobody")
    atl.add_to_group(group["id"], ext["id"], man["id"])
    found = atl.site("/rest/api/3/user/search", query="zed").json()
    assert {u["displayName"] for u in found} == {"Zed External", "Zed Managed"}
    by_name = {u["displayName"]: u for u in found}
    assert "emailAddress" not in by_name["Zed External"]
    assert by_name["Zed Managed"]["emailAddress"] == "zed.man@openmrs.org"
    assert atl.site("/rest/api/3/user/search", query="zed.ext@g").json() == []
    exact = atl.site("/rest/api/3/user/search", query="zed.ext@gmail.com").json()
    assert [u["accountId"] for u in exact] == [ext[EXTERNAL]["atlassianAccountId"]]
    atl.patch_user(man["id"], {"op": "replace", "path": "active", "value": False})
    after = atl.site("/rest/api/3/user/search", query="zed").json()
    assert {u["displayName"] for u in after} == {"Zed External"}


def test_jira_user_application_roles_and_browse_permission(atl: Atl) -> None:
    """§8 Side models, Jira user: applicationRoles from group product access;
    without Browse users and groups, search is empty ([C] JSJIRA)."""
    user = atl.create_user("roles@openmrs.org", displayName="Roles Person")
    account_id = user[EXTERNAL]["atlassianAccountId"]
    expand = "groups,applicationRoles"
    before = atl.site("/rest/api/3/user", accountId=account_id, expand=expand).json()
    assert before["applicationRoles"]["items"] == []
    atl.add_to_group(atl.group("openmrs-jira-users")["id"], user["id"])
    after = atl.site("/rest/api/3/user", accountId=account_id, expand=expand).json()
    assert [r["key"] for r in after["applicationRoles"]["items"]] == ["jira-software"]
    assert after["groups"]["items"][0]["name"] == "openmrs-jira-users"
    atl.control("PUT", "jira-permissions", {"browse_users": False})
    assert atl.site("/rest/api/3/user/search", query="roles").json() == []


def test_confluence_user_hidden_email(atl: Atl) -> None:
    """§8 Side models, Confluence: `email: ""` when hidden, and
    `isExternalCollaborator` ([S] CONFJS, CONF72205)."""
    ext = atl.create_user("conf@gmail.com")
    man = atl.create_user("conf@openmrs.org")
    for user, email in ((ext, ""), (man, "conf@openmrs.org")):
        account_id = user[EXTERNAL]["atlassianAccountId"]
        found = atl.site("/wiki/rest/api/user", accountId=account_id).json()
        assert found["email"] == email
        assert found["isExternalCollaborator"] is False


def test_simulated_login_rules(atl: Atl) -> None:
    """§8 Side models, simulated login: an external account sets its password,
    then signs in; a managed account under enforced SSO cannot use a password;
    a sign-in records last-active ([C] VERIFY, EXTUSERS, LASTACT)."""
    external = atl.create_user("sim@gmail.com")
    atl.add_to_group(atl.group("openmrs-confluence-users")["id"], external["id"])
    login = {"email": "sim@gmail.com", "password": "p4ssword!", "product": "confluence"}
    refused = atl.control("POST", "login", login)
    assert refused.status_code == 403 and refused.json()["reason"] == "unverified"
    atl.control("POST", "signup", {"email": "sim@gmail.com", "password": "p4ssword!"})
    signed = atl.control("POST", "login", login).json()
    assert signed["simulated"] is True and signed["signedIn"] is True
    assert signed["productAccess"] is True
    atl.create_user("sso@openmrs.org")
    by_password = {"email": "sso@openmrs.org", "password": "p4ssword!"}
    sso = atl.control("POST", "login", by_password)
    assert sso.status_code == 403 and sso.json()["reason"] == "sso_required"
    account_id = external[EXTERNAL]["atlassianAccountId"]
    path = f"/admin/v1/orgs/{atl.org}/directory/users/{account_id}/last-active-dates"
    entries = atl.admin("GET", path).json()["data"]["product_access"]
    assert [e["key"] for e in entries] == ["confluence"]


def test_health_lists_assumptions(atl: Atl) -> None:
    """§8 (U) items are settings, surfaced in the health document."""
    atl.assume(delete_semantics="legacy")
    health = atl.http.get(f"{atl.base}/_sandbox/health").json()
    assert health["emulator"] == "atlassian" and health["implemented"] is True
    assert health["assumptions"]["delete_semantics"] == "legacy"
    assert health["assumptions"]["external_account_on_create"] == "create"
    bad = atl.control("PUT", "assumptions", {"delete_semantics": "sometimes"})
    assert bad.status_code == 400


def test_restart_keeps_state_and_reseeds_foreign_documents(tmp_path: Path) -> None:
    """Persistence: a restarted emulator takes up the saved state and keys (the
    host's contract); an empty placeholder document is replaced by a seed."""

    def context() -> EmulatorContext:
        return EmulatorContext(
            name="atlassian",
            store=StateStore(tmp_path / "state" / "atlassian.json"),
            base_urls={"atlassian": "https://127.0.0.1:9"},
            ca_file=tmp_path / "ca.pem",
            seed=7,
            credentials=CredentialBook(tmp_path / "credentials.json"),
            identifiers=CredentialBook(tmp_path / "identifiers.json"),
        )

    first = AtlassianEmulator(context())
    first.doc["log"].append({"time": "t", "message": "kept across restart"})
    first.context.store.save(first.doc)
    keys = CredentialBook(tmp_path / "credentials.json").read()
    second = AtlassianEmulator(context())
    assert second.doc == first.doc
    assert CredentialBook(tmp_path / "credentials.json").read() == keys

    StateStore(tmp_path / "state" / "atlassian.json").save({})
    third = AtlassianEmulator(context())
    assert third.doc["org"]["id"] == first.doc["org"]["id"]
    assert third.doc["log"] == []
