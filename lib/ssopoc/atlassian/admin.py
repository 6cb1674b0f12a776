"""The organization admin API client: does an account exist, what kind, what access.

Calls `https://api.atlassian.com/admin/...` with the org API key (atlassian.md
§4, §1.9; [C] JSADM, LASTACT, UPADMIN). `prove_account` gathers what a notebook
needs to prove about one person: the account exists, is managed or external,
has Jira or Confluence access, and has logged in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from ssopoc.atlassian.errors import error_for

AUTH_FIX = "set ATLASSIAN_ORG_API_KEY to an org API key (Settings > API keys)"


@dataclass(frozen=True)
class AccountProof:
    """What the org directory says about one email address."""

    email: str
    exists: bool
    account_id: str | None = None
    claim_status: str | None = None
    status: str | None = None
    products: tuple[str, ...] = ()
    last_active: dict[str, str] = field(default_factory=dict)

    @property
    def managed(self) -> bool:
        """Whether the account is managed by the org (claimStatus managed)."""
        return self.claim_status == "managed"

    @property
    def has_logged_in(self) -> bool:
        """Whether any product shows a last-active date."""
        return bool(self.last_active)

    def has_access(self, product: str) -> bool:
        """Whether the account has access to `product` (e.g. `jira-software`)."""
        return product in self.products


class OrgAdmin:
    """The Organizations REST API and the admin SCIM-link API of one org."""

    def __init__(
        self,
        http: httpx.Client,
        org_id: str,
        directory_id: str,
        service: str = "atlassian_api",
    ) -> None:
        self.http = http
        self.org_id = org_id
        self.directory_id = directory_id
        self.service = service

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise error_for(self.service, response, AUTH_FIX)
        return response.json() if response.content else None

    @property
    def _org(self) -> str:
        return f"/admin/v1/orgs/{quote(self.org_id)}"

    @property
    def _users(self) -> str:
        return (
            f"/admin/v2/orgs/{quote(self.org_id)}/directories/"
            f"{quote(self.directory_id)}/users"
        )

    def orgs(self) -> list[dict[str, Any]]:
        """GET /admin/v1/orgs."""
        data: list[dict[str, Any]] = self._call("GET", "/admin/v1/orgs")["data"]
        return data

    def domains(self) -> list[dict[str, Any]]:
        """GET .../domains: each domain with `attributes.claim.status`."""
        data: list[dict[str, Any]] = self._call("GET", f"{self._org}/domains")["data"]
        return data

    def directories(self) -> list[dict[str, Any]]:
        """GET /admin/v2/orgs/{org}/directories."""
        path = f"/admin/v2/orgs/{quote(self.org_id)}/directories"
        data: list[dict[str, Any]] = self._call("GET", path)["data"]
        return data

    def list_users(self, **filters: str | list[str]) -> Iterator[dict[str, Any]]:
        """Every directory user matching JSADM filters (e.g. `claimStatus`)."""
        cursor: str | None = None
        while True:
            params = {**filters, **({"cursor": cursor} if cursor else {})}
            page = self._call("GET", self._users, params=params)
            yield from page["data"]
            cursor = (page.get("links") or {}).get("next")
            if not cursor:
                return

    def search_users(
        self,
        *,
        emails: list[str] | None = None,
        search_term: str | None = None,
        expand: tuple[str, ...] = ("productAccess", "groups"),
    ) -> list[dict[str, Any]]:
        """POST .../users/search by exact emails or a search term."""
        body: dict[str, Any] = {"expand": list(expand)}
        if emails:
            body["emails"] = emails
        if search_term:
            body["searchTerm"] = search_term
        data: list[dict[str, Any]] = self._call(
            "POST", f"{self._users}/search", json=body
        )["data"]
        return data

    def get_user(
        self, account_id: str, expand: tuple[str, ...] = ("productAccess", "groups")
    ) -> dict[str, Any]:
        """GET .../users/{accountId}."""
        params = {"expand": ",".join(expand)}
        user: dict[str, Any] = self._call(
            "GET", f"{self._users}/{quote(account_id)}", params=params
        )
        return user

    def managed_accounts(self) -> list[dict[str, Any]]:
        """GET /admin/v1/orgs/{org}/users: managed accounts only."""
        data: list[dict[str, Any]] = self._call("GET", f"{self._org}/users")["data"]
        return data

    def last_active(self, account_id: str) -> dict[str, Any]:
        """GET .../directory/users/{aaid}/last-active-dates: the `data` object."""
        path = f"{self._org}/directory/users/{quote(account_id)}/last-active-dates"
        data: dict[str, Any] = self._call("GET", path)["data"]
        return data

    def scim_links(self, account_id: str) -> list[dict[str, Any]]:
        """GET .../user/{aaid}/get-scim-links."""
        path = (
            f"/admin/user-provisioning/v1/org/{quote(self.org_id)}/user/"
            f"{quote(account_id)}/get-scim-links"
        )
        links: list[dict[str, Any]] = self._call("GET", path)["scimLinks"]
        return links

    def scim_links_for_email(self, email: str) -> list[dict[str, Any]]:
        """POST .../get-scim-links-for-email; unlinked records have a null AAID."""
        path = (
            f"/admin/user-provisioning/v1/org/{quote(self.org_id)}"
            "/get-scim-links-for-email"
        )
        links: list[dict[str, Any]] = self._call("POST", path, json={"email": email})[
            "scimLinks"
        ]
        return links

    def unlink(self, scim_user_id: str, directory_id: str | None = None) -> None:
        """PATCH .../unlink: unlink a SCIM record from its account."""
        path = (
            f"/admin/user-provisioning/v1/org/{quote(self.org_id)}/scimDirectoryId/"
            f"{quote(directory_id or self.directory_id)}/scimUserId/"
            f"{quote(scim_user_id)}/unlink"
        )
        self._call("PATCH", path)

    def only_delete_in_db(self, account_id: str) -> None:
        """DELETE .../onlyDeleteUserInDB: drop a managed account's SCIM records."""
        path = (
            f"/admin/user-provisioning/v1/org/{quote(self.org_id)}/user/"
            f"{quote(account_id)}/onlyDeleteUserInDB"
        )
        self._call("DELETE", path)

    def prove_account(self, email: str) -> AccountProof:
        """Exists? managed or external? which products? logged in?"""
        found = self.search_users(emails=[email])
        if not found:
            return AccountProof(email=email, exists=False)
        user = found[0]
        account_id = str(user["accountId"])
        activity = self.last_active(account_id)
        seen = {
            str(entry["key"]): str(entry["last_active_timestamp"])
            for entry in activity.get("product_access") or []
        }
        return AccountProof(
            email=email,
            exists=True,
            account_id=account_id,
            claim_status=user.get("claimStatus"),
            status=user.get("status"),
            products=tuple(p["key"] for p in user.get("productAccess") or []),
            last_active=seen,
        )
