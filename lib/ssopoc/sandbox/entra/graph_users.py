"""Graph v1.0 users: create, read, list, update, delete, restore and purge.

Facts: microsoft.md §2 and the "Graph users" bullets of §7. Permissions per route
follow the Graph permission tables cited there: reads accept `User.Read.All` and
above; writes `User.ReadWrite.All`; delete, restore and purge also accept
`User.DeleteRestore.All` (§2.4 [C]).
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from ssopoc.sandbox.entra import user_rules as rules
from ssopoc.sandbox.entra.config import EntraConfig
from ssopoc.sandbox.entra.errors import (
    bad_request,
    conflict,
    denied,
    invalid_value,
    not_found,
    unsupported_query,
)
from ssopoc.sandbox.entra.odata_filter import matches, parse
from ssopoc.sandbox.entra.routing import (
    Call,
    Reply,
    Router,
    need,
    page_size,
    paged,
    project,
    selected,
)
from ssopoc.sandbox.entra.store import Tenant, parse_iso

READ = need(
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
WRITE = need("User.ReadWrite.All", "Directory.ReadWrite.All")
DELETE = need("User.ReadWrite.All", "User.DeleteRestore.All")
# microsoft.md §2.4 [C]: 30 days in deleted items, then permanently deleted.
RETENTION = timedelta(days=30)


def public(user: dict[str, Any]) -> dict[str, Any]:
    """A user without the emulator's bookkeeping keys (those starting with `_`)."""
    return {k: v for k, v in user.items() if not k.startswith("_")}


class UsersApi:
    """The users routes and the lookups other modules share."""

    def __init__(self, tenant: Tenant, config: EntraConfig, base_url: str) -> None:
        self.tenant = tenant
        self.config = config
        self.base_url = base_url

    def routes(self, router: Router) -> None:
        """Register the users and deleted-items routes."""
        router.add("POST", "/users", self.create, WRITE)
        router.add("GET", "/users", self.list_users, READ)
        router.add("GET", "/users/$count", self.count, READ)
        router.add("GET", "/users/{user}", self.get, READ)
        router.add("PATCH", "/users/{user}", self.update, WRITE)
        router.add("DELETE", "/users/{user}", self.delete, DELETE)
        router.add(
            "GET", "/directory/deletedItems/microsoft.graph.user", self.deleted, DELETE
        )
        router.add("GET", "/directory/deletedItems/{item}", self.deleted_one, DELETE)
        router.add(
            "POST", "/directory/deletedItems/{item}/restore", self.restore, DELETE
        )
        router.add("DELETE", "/directory/deletedItems/{item}", self.purge, DELETE)

    # -- lookups -------------------------------------------------------------------

    def find(self, key: str) -> dict[str, Any]:
        """A live user by id or userPrincipalName, or `404`."""
        users = self.tenant.collection("users")
        if key in users:
            return users[key]
        for user in users.values():
            if (user.get("userPrincipalName") or "").lower() == key.lower():
                return user
        raise not_found(key)

    def extensions(self) -> dict[str, str]:
        """Declared directory extensions for users: name -> data type."""
        found = {}
        for app in self.tenant.collection("applications").values():
            for prop in app.get("extensionProperties", []):
                if "User" in prop.get("targetObjects", []):
                    found[prop["name"]] = prop["dataType"]
        return found

    def _check_unique(self, user: dict[str, Any]) -> None:
        upn = (user.get("userPrincipalName") or "").lower()
        mail = (user.get("mail") or "").lower()
        for other in self.tenant.collection("users").values():
            if other["id"] == user["id"]:
                continue
            if (other.get("userPrincipalName") or "").lower() == upn:
                raise conflict("userPrincipalName")
            proxies = [p.split(":", 1)[-1].lower() for p in other["proxyAddresses"]]
            if mail and mail in proxies:
                raise bad_request(
                    "Another object with the same value for property proxyAddresses "
                    "already exists.",
                    details=[
                        {"target": "proxyAddresses", "code": "ObjectConflict"},
                        {"target": other["id"], "code": "ConflictingObjects"},
                    ],
                )

    def _finish(self, user: dict[str, Any]) -> None:
        """Check UPN, mail and uniqueness; recompute proxyAddresses from mail."""
        rules.check_upn(user.get("userPrincipalName"), self.tenant.verified_domains())
        mail = user.get("mail")
        if mail:
            domain = mail.rsplit("@", 1)[-1].lower()
            verified = domain in self.tenant.verified_domains()
            if not verified and self.config.unverified_mail == "reject":
                # Assumption [U] (microsoft.md §2.2, §8.2): the refusal's text.
                raise invalid_value("mail")
        user["proxyAddresses"] = [f"SMTP:{mail}"] if mail else []
        self._check_unique(user)

    # -- routes --------------------------------------------------------------------

    def create(self, call: Call) -> Reply:
        """`POST /users` → `201` with the default projection (§2.1, §7 [C])."""
        body = call.json_object()
        rules.check_required(body)
        with self.tenant.lock:
            user = rules.blank_user(self.tenant.new_id(), self.tenant.stamp())
            rules.apply_changes(user, body, self.extensions())
            self._finish(user)
            self.tenant.collection("users")[user["id"]] = user
            self.tenant.touch(user["id"])
            self.tenant.save()
        shown = project(public(user), list(rules.DEFAULT_PROPERTIES))
        return Reply(201, {"@odata.context": call.context("users/$entity"), **shown})

    def get(self, call: Call) -> Reply:
        """`GET /users/{id|upn}` with the default projection or `$select`."""
        names = self._select(call)
        user = public(self.find(call.params["user"]))
        fragment = (
            f"users({','.join(names)})/$entity"
            if call.query.get("$select")
            else "users/$entity"
        )
        return Reply(
            200, {"@odata.context": call.context(fragment), **project(user, names)}
        )

    def _select(self, call: Call) -> list[str]:
        allowed = [*rules.ALL_PROPERTIES, *self.extensions()]
        return selected(call, allowed, "user") or list(rules.DEFAULT_PROPERTIES)

    def _advanced(self, call: Call) -> bool:
        return (call.header("ConsistencyLevel") or "").lower() == "eventual" and (
            call.query.get("$count", "").lower() == "true"
        )

    def list_users(self, call: Call) -> Reply:
        """`GET /users` with `$filter`, `$select`, `$top`, `$count`, `$orderby`.

        microsoft.md §2.3, §7 [C]: advanced clauses need `ConsistencyLevel:
        eventual` and `$count=true`, else `400 Request_UnsupportedQuery`.
        """
        names = self._select(call)
        advanced = self._advanced(call)
        if call.query.get("$count") and not advanced:
            raise bad_request("$count is not currently supported.")
        if call.query.get("$search") and not advanced:
            raise unsupported_query(
                "Request with $search query parameter only works through MSGraph "
                "with a special request header: 'ConsistencyLevel: eventual'"
            )
        users = [public(u) for u in self.tenant.collection("users").values()]
        text = call.query.get("$filter")
        if text:
            node = parse(text)
            needs = rules.filter_needs_advanced(node)
            if rules.has_null_equality(node):
                needs = needs or "eq null"
            if needs and not advanced:
                raise unsupported_query(
                    "Unsupported or invalid query filter clause specified for "
                    f"property '{needs}' of resource 'User'."
                )
            users = [u for u in users if matches(node, u)]
        users = self._searched(call, users)
        users = self._ordered(call, users, advanced or not text)
        size = page_size(call, 100, 999)
        shown = [project(u, names) for u in users]
        return paged(call, self.base_url, shown, size, "users", count=advanced)

    def _searched(
        self, call: Call, users: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        search = call.query.get("$search", "").strip('"')
        if not search:
            return users
        prop, _, term = search.partition(":")
        return [u for u in users if term.lower() in str(u.get(prop) or "").lower()]

    def _ordered(
        self, call: Call, users: list[dict[str, Any]], allowed: bool
    ) -> list[dict[str, Any]]:
        order = call.query.get("$orderby")
        if not order:
            return users
        if not allowed:
            raise unsupported_query("Sorting not supported for current query.")
        prop, _, direction = order.partition(" ")
        if prop not in ("displayName", "userPrincipalName"):
            raise unsupported_query(f"Order by '{prop}' not supported.")
        return sorted(
            users,
            key=lambda u: str(u.get(prop) or "").lower(),
            reverse=direction.strip().lower() == "desc",
        )

    def count(self, call: Call) -> Reply:
        """`GET /users/$count`: only with `ConsistencyLevel: eventual` (§2.3 [C])."""
        if (call.header("ConsistencyLevel") or "").lower() != "eventual":
            raise bad_request("$count is not currently supported.")
        return Reply(
            200, len(self.tenant.collection("users")), {"Content-Type": "text/plain"}
        )

    def update(self, call: Call) -> Reply:
        """`PATCH /users/{id|upn}` → `204` (§2.4, §7 [C])."""
        body = call.json_object()
        with self.tenant.lock:
            user = self.find(call.params["user"])
            changed = copy.deepcopy(user)
            rules.apply_changes(changed, body, self.extensions())
            if "passwordProfile" in body:
                rules.check_password(str(body["passwordProfile"].get("password", "")))
            self._finish(changed)
            user.clear()
            user.update(changed)
            self.tenant.touch(user["id"])
            self.tenant.save()
        return Reply(204)

    def delete(self, call: Call) -> Reply:
        """`DELETE /users/{id}` → `204`, into deleted items for 30 days (§2.4 [C])."""
        with self.tenant.lock:
            user = self.find(call.params["user"])
            del self.tenant.collection("users")[user["id"]]
            user["deletedDateTime"] = self.tenant.stamp()
            self.tenant.collection("deletedItems")[user["id"]] = user
            self.tenant.touch(user["id"])
            self.tenant.save()
        return Reply(204)

    def expire_deleted(self) -> None:
        """Permanently delete users that have been in deleted items for 30 days."""
        with self.tenant.lock:
            now = self.tenant.now()
            for user_id, user in list(self.tenant.collection("deletedItems").items()):
                if now - parse_iso(user["deletedDateTime"]) >= RETENTION:
                    self._purge(user_id)

    def _purge(self, user_id: str) -> None:
        del self.tenant.collection("deletedItems")[user_id]
        seq = int(self.tenant.doc.get("changeSeq", 0)) + 1
        self.tenant.doc["changeSeq"] = seq
        self.tenant.collection("purged")[user_id] = {"id": user_id, "_changeSeq": seq}
        for key, item in list(self.tenant.collection("appRoleAssignments").items()):
            if item["principalId"] == user_id:
                del self.tenant.collection("appRoleAssignments")[key]
        for group in self.tenant.collection("groups").values():
            if user_id in group["members"]:
                group["members"].remove(user_id)
        self.tenant.save()

    def _deleted(self, item: str) -> dict[str, Any]:
        self.expire_deleted()
        found = self.tenant.collection("deletedItems").get(item)
        if found is None:
            raise not_found(item)
        return found

    def deleted(self, call: Call) -> Reply:
        """`GET /directory/deletedItems/microsoft.graph.user` (§2.4 [C])."""
        self.expire_deleted()
        names = [*self._select(call), "deletedDateTime"]
        items = [
            project(public(u), names)
            for u in self.tenant.collection("deletedItems").values()
        ]
        size = page_size(call, 100, 999)
        return paged(call, self.base_url, items, size, "directoryObjects")

    def deleted_one(self, call: Call) -> Reply:
        """`GET /directory/deletedItems/{id}`."""
        user = public(self._deleted(call.params["item"]))
        names = [*self._select(call), "deletedDateTime"]
        body = {"@odata.type": "#microsoft.graph.user", **project(user, names)}
        return Reply(
            200, {"@odata.context": call.context("directoryObjects/$entity"), **body}
        )

    def restore(self, call: Call) -> Reply:
        """`POST /directory/deletedItems/{id}/restore` → `200` with the user."""
        with self.tenant.lock:
            user = self._deleted(call.params["item"])
            user["deletedDateTime"] = None
            self._check_unique(user)
            del self.tenant.collection("deletedItems")[user["id"]]
            self.tenant.collection("users")[user["id"]] = user
            self.tenant.touch(user["id"])
            self.tenant.save()
        shown = project(public(user), list(rules.DEFAULT_PROPERTIES))
        body = {"@odata.type": "#microsoft.graph.user", **shown}
        return Reply(
            200, {"@odata.context": call.context("directoryObjects/$entity"), **body}
        )

    def purge(self, call: Call) -> Reply:
        """`DELETE /directory/deletedItems/{id}` → `204`, irreversible (§2.4 [C]).

        Whether an app may do this is the `app_only_purge` assumption [U].
        """
        if not self.config.app_only_purge:
            raise denied()
        with self.tenant.lock:
            self._deleted(call.params["item"])
            self._purge(call.params["item"])
        return Reply(204)
