"""The organization admin API and the admin SCIM-link API, on the org API key.

Shapes follow jira.js's generated admin models (atlassian.md §4, [C] JSADM,
LASTACT) and §1.9 for the SCIM links ([C] UPADMIN, JSUP). Auth is the org API
key as a bearer token, distinct from the directory key (§4, [C] ORGINTRO).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ssopoc.sandbox.atlassian.directory import Directory, primary_email
from ssopoc.sandbox.atlassian.tenant import Tenant
from ssopoc.sandbox.atlassian.web import HttpProblem, Request, Response

Handler = Callable[[Request, "re.Match[str]"], Response]
ORG = r"/admin/v1/orgs/(?P<org>[^/]+)"
ORG2 = r"/admin/v2/orgs/(?P<org>[^/]+)"
LINKS = r"/admin/user-provisioning/v1/org/(?P<org>[^/]+)"
DIR_USERS = ORG2 + r"/directories/(?P<dir>[^/]+)/users"


def problem(status: int, message: str) -> HttpProblem:
    """The admin API's error body: `{"code", "message"}`."""
    return HttpProblem(status, {"code": status, "message": message})


class AdminApi:
    """Answers `/admin/...` for the one seeded org."""

    def __init__(self, tenant: Tenant, base_url: str) -> None:
        self.tenant = tenant
        self.base_url = base_url
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/admin/v1/orgs"), self.orgs),
            ("GET", re.compile(ORG), self.org),
            ("GET", re.compile(ORG + r"/domains"), self.domains),
            ("GET", re.compile(ORG + r"/domains/(?P<id>[^/]+)"), self.domain),
            ("GET", re.compile(ORG + r"/users"), self.managed_accounts),
            (
                "GET",
                re.compile(ORG + r"/directory/users/(?P<aaid>[^/]+)/last-active-dates"),
                self.last_active,
            ),
            ("GET", re.compile(ORG2 + r"/directories"), self.directories),
            ("GET", re.compile(DIR_USERS), self.list_users),
            ("POST", re.compile(DIR_USERS + r"/search"), self.search_users),
            ("GET", re.compile(DIR_USERS + r"/(?P<aaid>[^/]+)"), self.get_user),
            (
                "POST",
                re.compile(DIR_USERS + r"/(?P<aaid>[^/]+)/(?P<act>suspend|restore)"),
                self.suspend,
            ),
            (
                "GET",
                re.compile(LINKS + r"/user/(?P<aaid>[^/]+)/get-scim-links"),
                self.scim_links,
            ),
            (
                "POST",
                re.compile(LINKS + r"/get-scim-links-for-email"),
                self.scim_links_for_email,
            ),
            (
                "PATCH",
                re.compile(
                    LINKS + r"/scimDirectoryId/(?P<dir>[^/]+)/scimUserId/(?P<id>[^/]+)"
                    r"/unlink"
                ),
                self.unlink,
            ),
            (
                "DELETE",
                re.compile(LINKS + r"/user/(?P<aaid>[^/]+)/onlyDeleteUserInDB"),
                self.only_delete_in_db,
            ),
        ]

    def handle(self, request: Request) -> Response:
        """Route one request; 404 for unknown paths or another org."""
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(request.path.rstrip("/"))
            if match and method == request.method:
                org = match.groupdict().get("org")
                if org is not None and org != self.tenant.org["id"]:
                    raise problem(404, f"organization {org} not found")
                return handler(request, match)
        raise problem(404, f"no admin route {request.method} {request.path}")

    # -- orgs, domains, directories --------------------------------------------

    def orgs(self, request: Request, match: re.Match[str]) -> Response:
        """GET /admin/v1/orgs: the orgs the key administers."""
        return Response(200, {"data": [self._org()], "links": {}})

    def org(self, request: Request, match: re.Match[str]) -> Response:
        """GET /admin/v1/orgs/{org}."""
        return Response(200, {"data": self._org()})

    def _org(self) -> dict[str, Any]:
        org = self.tenant.org
        return {
            "id": org["id"],
            "type": "orgs",
            "attributes": {"name": org["name"]},
            "links": {"self": f"{self.base_url}/admin/v1/orgs/{org['id']}"},
        }

    def _domain(self, domain: dict[str, Any]) -> dict[str, Any]:
        path = f"/admin/v1/orgs/{self.tenant.org['id']}/domains/{domain['id']}"
        return {
            "id": domain["id"],
            "type": "domains",
            "attributes": {
                "name": domain["name"],
                "claim": {"type": domain["claim_type"], "status": domain["status"]},
            },
            "links": {"self": self.base_url + path},
        }

    def domains(self, request: Request, match: re.Match[str]) -> Response:
        """GET .../domains: each domain's verification status (JSADM domainModel)."""
        data = [self._domain(d) for d in self.tenant.org["domains"]]
        return Response(200, {"data": data, "links": {}})

    def domain(self, request: Request, match: re.Match[str]) -> Response:
        """GET .../domains/{id}."""
        for domain in self.tenant.org["domains"]:
            if domain["id"] == match["id"]:
                return Response(200, {"data": self._domain(domain)})
        raise problem(404, f"domain {match['id']} not found")

    def directories(self, request: Request, match: re.Match[str]) -> Response:
        """GET /admin/v2/orgs/{org}/directories: finds the `directoryId`."""
        data = [
            {"directoryId": d["id"], "name": d["name"]}
            for d in self.tenant.doc["directories"].values()
        ]
        return Response(200, {"data": data, "links": {}})

    # -- directory users ------------------------------------------------------

    def _check_directory(self, directory_id: str) -> None:
        if directory_id not in self.tenant.doc["directories"]:
            raise problem(404, f"directory {directory_id} not found")

    def directory_user(self, account_id: str, expand: list[str]) -> dict[str, Any]:
        """The v2 user object (JSADM multiDirectoryUser)."""
        tenant = self.tenant
        account = tenant.accounts[account_id]
        member = tenant.members.get(account_id) or {}
        managed = tenant.is_managed(account)
        profile = self._profile(account_id) if managed else {}
        user: dict[str, Any] = {
            "accountId": account_id,
            "accountType": "atlassian",
            "status": tenant.status(account_id),
            "accountStatus": account["account_status"],
            "membershipStatus": tenant.membership_status(account_id),
            "addedToOrg": member.get("added_to_org"),
            "name": account["name"],
            "nickname": account["name"].split(" ")[0],
            "email": account["email"],
            "emailVerified": account["email_verified"],
            "claimStatus": "managed" if managed else "unmanaged",
            "managementSource": member.get("management_source") if managed else None,
            "mfaEnabled": False,
            "jobTitle": profile.get("title"),
            "department": profile.get("department"),
            "organization": profile.get("organization"),
            "timeZone": profile.get("timezone"),
        }
        if "productAccess" in expand:
            seen = tenant.visible_activity(account_id)
            user["productAccess"] = [
                {"key": key, "id": key, "lastActiveTimestamp": seen.get(key)}
                for key in tenant.product_access(account_id)
            ]
        if "groups" in expand:
            user["groups"] = [
                {"id": g["id"], "name": g["displayName"]}
                for g in tenant.groups_of_account(account_id)
            ]
        return user

    def _profile(self, account_id: str) -> dict[str, Any]:
        for directory_id, user_id in self.tenant.linked_records(account_id):
            record: dict[str, Any] = self.tenant.doc["directories"][directory_id][
                "users"
            ].get(user_id, {})
            return record
        return {}

    def _select(self, filters: dict[str, Any]) -> list[str]:
        tenant = self.tenant
        found = []
        for account_id in tenant.members:
            account = tenant.accounts[account_id]
            managed = tenant.is_managed(account)
            facts = {
                "accountIds": account_id,
                "claimStatus": "managed" if managed else "unmanaged",
                "status": tenant.status(account_id),
                "accountStatus": account["account_status"],
                "membershipStatus": tenant.membership_status(account_id),
                "emailDomains": account["email"].rpartition("@")[2].lower(),
                "emails": account["email"].lower(),
            }
            if not all(
                not wanted or facts[name] in [str(w).lower() for w in wanted]
                for name, wanted in filters.items()
                if name in facts
            ):
                continue
            term = str(filters.get("searchTerm") or "").lower()
            if term and term not in f"{account['name']} {account['email']}".lower():
                continue
            found.append(account_id)
        return sorted(found)

    def _page(
        self, ids: list[str], request_args: dict[str, Any], expand: list[str]
    ) -> Response:
        limit = int(request_args.get("limit") or 100)
        start = int(request_args.get("cursor") or 0)
        chosen = ids[start : start + limit]
        following = str(start + limit) if start + limit < len(ids) else None
        data = [self.directory_user(a, expand) for a in chosen]
        return Response(200, {"data": data, "links": {"next": following}})

    def list_users(self, request: Request, match: re.Match[str]) -> Response:
        """GET .../directories/{dir}/users with the JSADM filters."""
        self._check_directory(match["dir"])
        names = ("accountIds", "claimStatus", "status", "accountStatus")
        filters: dict[str, Any] = {name: request.args(name) for name in names}
        filters["membershipStatus"] = request.args("membershipStatus")
        filters["emailDomains"] = request.args("emailDomains")
        filters["searchTerm"] = request.arg("searchTerm")
        args = {"limit": request.arg("limit"), "cursor": request.arg("cursor")}
        return self._page(self._select(filters), args, request.args("expand"))

    def search_users(self, request: Request, match: re.Match[str]) -> Response:
        """POST .../users/search: exact `emails`, not with `searchTerm` (400)."""
        self._check_directory(match["dir"])
        body = request.json()
        if body.get("emails") and body.get("searchTerm"):
            raise problem(400, "emails and searchTerm cannot be used together")
        return self._page(self._select(body), body, list(body.get("expand") or []))

    def get_user(self, request: Request, match: re.Match[str]) -> Response:
        """GET .../users/{accountId}."""
        self._check_directory(match["dir"])
        if match["aaid"] not in self.tenant.members:
            raise problem(404, f"user {match['aaid']} not found in the directory")
        expand = request.args("expand")
        return Response(200, self.directory_user(match["aaid"], expand))

    def suspend(self, request: Request, match: re.Match[str]) -> Response:
        """POST .../users/{accountId}/suspend|restore: org access only."""
        self._check_directory(match["dir"])
        member = self.tenant.members.get(match["aaid"])
        if member is None:
            raise problem(404, f"user {match['aaid']} not found in the directory")
        member["membership_status"] = (
            "suspended" if match["act"] == "suspend" else "active"
        )
        return Response(200, {"message": f"user {match['act']}ed"})

    # -- managed accounts and activity ------------------------------------------

    def managed_accounts(self, request: Request, match: re.Match[str]) -> Response:
        """GET /admin/v1/orgs/{org}/users: managed accounts only (JSADM user)."""
        data = []
        for account_id in self._select({"claimStatus": ["managed"]}):
            account = self.tenant.accounts[account_id]
            seen = self.tenant.visible_activity(account_id)
            products = self.tenant.product_access(account_id)
            data.append(
                {
                    "account_id": account_id,
                    "account_type": "atlassian",
                    "account_status": account["account_status"],
                    "name": account["name"],
                    "email": account["email"],
                    "access_billable": bool(products),
                    "last_active": max(seen.values(), default=None),
                    "product_access": [
                        {"key": k, "last_active": seen.get(k)} for k in products
                    ],
                }
            )
        return Response(200, {"data": data, "links": {}})

    def last_active(self, request: Request, match: re.Match[str]) -> Response:
        """GET .../directory/users/{aaid}/last-active-dates (LASTACT).

        Empty `product_access` until a simulated sign-in; entries show after
        `last_active_lag_seconds`. External accounts answer 404 when
        `last_active_for_external` is false (U, §9 Q8).
        """
        account_id = match["aaid"]
        account = self.tenant.account(account_id)
        member = self.tenant.members.get(account_id)
        if account is None or member is None:
            raise problem(404, f"user {account_id} not found in the organization")
        external = not self.tenant.is_managed(account)
        if external and not self.tenant.assumptions.last_active_for_external:
            raise problem(404, f"user {account_id} is not a managed account")
        seen = self.tenant.visible_activity(account_id)
        data = {
            "product_access": [
                {
                    "id": key,
                    "key": key,
                    "last_active": when[:10],
                    "last_active_timestamp": when[:19] + "Z",
                }
                for key, when in sorted(seen.items())
            ],
            "added_to_org": member["added_to_org"][:10],
            "added_to_org_timestamp": member["added_to_org"][:19] + "Z",
        }
        return Response(200, {"data": data, "links": {"next": None}})

    # -- SCIM links -----------------------------------------------------------

    def _link(self, directory_id: str, user_id: str) -> dict[str, Any]:
        directory = self.tenant.doc["directories"][directory_id]
        return {
            "scimUserId": user_id,
            "atlassianAccountId": directory["links"].get(user_id),
            "orgId": self.tenant.org["id"],
            "directoryId": directory_id,
        }

    def scim_links(self, request: Request, match: re.Match[str]) -> Response:
        """GET .../user/{aaid}/get-scim-links."""
        records = self.tenant.linked_records(match["aaid"])
        return Response(200, {"scimLinks": [self._link(d, u) for d, u in records]})

    def scim_links_for_email(self, request: Request, match: re.Match[str]) -> Response:
        """POST .../get-scim-links-for-email: null `atlassianAccountId` if unlinked."""
        email = str(request.json().get("email") or "").lower()
        if not email:
            raise problem(400, "email is required")
        links = [
            self._link(directory["id"], user_id)
            for directory in self.tenant.doc["directories"].values()
            for user_id, record in directory["users"].items()
            if (primary_email(record) or "").lower() == email
        ]
        return Response(200, {"scimLinks": links})

    def unlink(self, request: Request, match: re.Match[str]) -> Response:
        """PATCH .../scimUserId/{id}/unlink: keep the record, drop the link."""
        if match["dir"] not in self.tenant.doc["directories"]:
            raise problem(404, f"directory {match['dir']} not found")
        directory = Directory(self.tenant, match["dir"])
        if match["id"] not in directory.users:
            raise problem(404, f"SCIM user {match['id']} not found")
        directory.links[match["id"]] = None
        return Response(204)

    def only_delete_in_db(self, request: Request, match: re.Match[str]) -> Response:
        """DELETE .../user/{aaid}/onlyDeleteUserInDB: managed accounts only."""
        account = self.tenant.account(match["aaid"])
        if account is None:
            raise problem(404, f"account {match['aaid']} not found")
        if not self.tenant.is_managed(account):
            raise problem(400, "onlyDeleteUserInDB applies to managed accounts only")
        for directory_id, user_id in self.tenant.linked_records(match["aaid"]):
            directory = Directory(self.tenant, directory_id)
            directory.remove_from_groups(user_id)
            del directory.users[user_id]
            del directory.links[user_id]
        return Response(204)
