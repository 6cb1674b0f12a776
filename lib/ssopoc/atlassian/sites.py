"""Jira and Confluence user checks, with Basic `<email>:<API token>` (§5).

For external (unmanaged) users expect no `emailAddress` in Jira and `email: ""`
in Confluence; look them up by accountId (atlassian.md §5, [S] CONF72205).
"""

from __future__ import annotations

from typing import Any

import httpx

from ssopoc.atlassian.errors import error_for

AUTH_FIX = (
    "set JIRA_API_TOKEN to an API token of the account live.jira_email "
    "(id.atlassian.com > Security > API tokens)"
)


class Jira:
    """A Jira Cloud site's user endpoints."""

    def __init__(self, http: httpx.Client, service: str = "jira") -> None:
        self.http = http
        self.service = service

    def _get(self, path: str, params: dict[str, str]) -> Any:
        response = self.http.get(path, params=params)
        if response.status_code >= 400:
            raise error_for(self.service, response, AUTH_FIX)
        return response.json()

    def search_users(self, query: str, max_results: int = 50) -> list[dict[str, Any]]:
        """GET /rest/api/3/user/search: active users, prefix match.

        Empty without the *Browse users and groups* permission.
        """
        params = {"query": query, "maxResults": str(max_results)}
        found: list[dict[str, Any]] = self._get("/rest/api/3/user/search", params)
        return found

    def get_user(self, account_id: str) -> dict[str, Any]:
        """GET /rest/api/3/user with groups and applicationRoles expanded."""
        params = {"accountId": account_id, "expand": "groups,applicationRoles"}
        user: dict[str, Any] = self._get("/rest/api/3/user", params)
        return user

    def application_roles(self, account_id: str) -> list[str]:
        """The Jira products the user can use (e.g. `jira-software`)."""
        roles = self.get_user(account_id).get("applicationRoles") or {}
        return [str(item["key"]) for item in roles.get("items") or []]


class Confluence:
    """A Confluence Cloud site's user endpoint."""

    def __init__(self, http: httpx.Client, service: str = "confluence") -> None:
        self.http = http
        self.service = service

    def get_user(self, account_id: str) -> dict[str, Any]:
        """GET /wiki/rest/api/user?accountId=: `email` is "" when hidden."""
        response = self.http.get(
            "/wiki/rest/api/user", params={"accountId": account_id}
        )
        if response.status_code >= 400:
            raise error_for(self.service, response, AUTH_FIX)
        user: dict[str, Any] = response.json()
        return user
