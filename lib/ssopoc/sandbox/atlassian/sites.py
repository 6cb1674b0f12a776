"""The Jira and Confluence sites: the user look-ups the verification code uses.

Basic auth with `<email>:<API token>` (atlassian.md §5, [C] JIRABASIC). In the
sandbox the site URL is the emulator's base URL, as `ssopoc.services` says.

- `GET /rest/api/3/user/search?query=`: a JSON array of *active* users, prefix
  match on display name and email, `emailAddress` left out when hidden, empty
  without the *Browse users and groups* permission ([C] JSJIRA; [S] JIRAEMAILKB,
  PICKER). Site scoping and exact matches on hidden emails are settings (U).
- `GET /rest/api/3/user?accountId=&expand=groups,applicationRoles`:
  `applicationRoles` from the product access that groups grant ([C] JSJIRA).
- `GET /wiki/rest/api/user?accountId=`: `email` is `""` when hidden, with
  `isExternalCollaborator` ([S] CONFJS, CONF72205).

Email visibility: external (unmanaged) accounts hide their email from the site,
managed accounts show it (§5 "Practical consequence").
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

from ssopoc.sandbox.atlassian.tenant import PRODUCTS, Tenant, same_secret
from ssopoc.sandbox.atlassian.web import HttpProblem, Request, Response


class Sites:
    """Jira's and Confluence's user endpoints for the seeded site."""

    def __init__(self, tenant: Tenant, base_url: str, token_digest: str) -> None:
        self.tenant = tenant
        self.base_url = base_url
        self.token_digest = token_digest

    def caller(self, request: Request, confluence: bool) -> dict[str, Any]:
        """The account behind the Basic credentials; 401 otherwise."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        email, _, token = decoded.partition(":")
        account = self.tenant.account_by_email(email) if email else None
        if (
            scheme.lower() != "basic"
            or account is None
            or account["account_id"] != self.tenant.doc["site"]["api_account_id"]
            or not same_secret(token, self.token_digest)
        ):
            message = "Client must be authenticated to access this resource."
            body: dict[str, Any] = (
                {"statusCode": 401, "message": message}
                if confluence
                else {"errorMessages": [message], "errors": {}}
            )
            raise HttpProblem(401, body)
        return account

    def handle(self, request: Request) -> Response:
        """Route a Jira or Confluence request."""
        confluence = request.path.startswith("/wiki/")
        caller = self.caller(request, confluence)
        path = request.path.rstrip("/")
        if request.method == "GET" and path == "/rest/api/3/user/search":
            return self.search(request, caller)
        if request.method == "GET" and path == "/rest/api/3/user":
            return self.jira_user(request, caller)
        if request.method == "GET" and path == "/wiki/rest/api/user":
            return self.confluence_user(request)
        raise HttpProblem(404, {"errorMessages": [f"no route {path}"], "errors": {}})

    def email_hidden(self, account: dict[str, Any]) -> bool:
        """External accounts hide their email from the site."""
        return not self.tenant.is_managed(account)

    def _visible(self, account: dict[str, Any]) -> bool:
        if account["account_status"] != "active":
            return False
        account_id = account["account_id"]
        if self.tenant.assumptions.jira_search_scope == "all":
            return self.tenant.status(account_id) == "active"
        return "jira-software" in self.tenant.product_access(account_id)

    def _matches(self, account: dict[str, Any], query: str) -> bool:
        query = query.lower()
        words = account["name"].lower().split()
        if account["name"].lower().startswith(query) or any(
            word.startswith(query) for word in words
        ):
            return True
        email = account["email"].lower()
        if self.email_hidden(account):
            exact = self.tenant.assumptions.jira_hidden_email_exact_match
            return exact and email == query
        return bool(email.startswith(query))

    def jira_object(self, account: dict[str, Any]) -> dict[str, Any]:
        """A Jira user as the v3 API writes it."""
        account_id = account["account_id"]
        user: dict[str, Any] = {
            "self": f"{self.base_url}/rest/api/3/user?accountId={quote(account_id)}",
            "accountId": account_id,
            "accountType": "atlassian",
            "avatarUrls": {},
            "displayName": account["name"],
            "active": account["account_status"] == "active",
            "timeZone": "UTC",
            "locale": "en_US",
        }
        if not self.email_hidden(account):
            user["emailAddress"] = account["email"]
        return user

    def search(self, request: Request, caller: dict[str, Any]) -> Response:
        """GET /rest/api/3/user/search."""
        query = request.arg("query") or ""
        account_id = request.arg("accountId")
        if not query and not account_id:
            message = "One of 'query', 'accountId' or 'property' is required."
            raise HttpProblem(400, {"errorMessages": [message], "errors": {}})
        if not caller.get("browse_users"):
            return Response(200, [])
        found = [
            self.jira_object(account)
            for account in self.tenant.accounts.values()
            if self._visible(account)
            and (account_id is None or account["account_id"] == account_id)
            and (not query or self._matches(account, query))
        ]
        start = int(request.arg("startAt") or 0)
        size = min(int(request.arg("maxResults") or 50), 1000)
        return Response(200, found[start : start + size])

    def jira_user(self, request: Request, caller: dict[str, Any]) -> Response:
        """GET /rest/api/3/user?accountId=&expand=groups,applicationRoles."""
        account = self.tenant.account(request.arg("accountId"))
        if account is None or not caller.get("browse_users"):
            status = self.tenant.assumptions.jira_unknown_account_status
            message = "Specified user does not exist or you do not have required "
            body = {"errorMessages": [message + "permissions"], "errors": {}}
            raise HttpProblem(status, body)
        user = self.jira_object(account)
        expand = set(request.args("expand"))
        account_id = account["account_id"]
        if "groups" in expand:
            items = [
                {
                    "name": g["displayName"],
                    "groupId": g["id"],
                    "self": f"{self.base_url}/rest/api/3/group?groupId={g['id']}",
                }
                for g in self.tenant.groups_of_account(account_id)
            ]
            user["groups"] = {"size": len(items), "items": items}
        if "applicationRoles" in expand:
            roles = [
                {"key": key, "name": PRODUCTS[key]}
                for key in self.tenant.product_access(account_id)
                if key.startswith("jira")
            ]
            user["applicationRoles"] = {"size": len(roles), "items": roles}
        return Response(200, user)

    def confluence_user(self, request: Request) -> Response:
        """GET /wiki/rest/api/user?accountId=."""
        account = self.tenant.account(request.arg("accountId"))
        if account is None:
            raise HttpProblem(404, {"statusCode": 404, "message": "user not found"})
        account_id = account["account_id"]
        hidden = self.email_hidden(account)
        own = f"{self.base_url}/wiki/rest/api/user?accountId={quote(account_id)}"
        return Response(
            200,
            {
                "type": "known",
                "accountId": account_id,
                "accountType": "atlassian",
                "email": "" if hidden else account["email"],
                "publicName": account["name"],
                "displayName": account["name"],
                "isExternalCollaborator": False,
                "_links": {
                    "self": own,
                    "base": f"{self.base_url}/wiki",
                },
            },
        )
