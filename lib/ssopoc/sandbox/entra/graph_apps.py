"""Graph applications, their extension properties, service principals, organization.

Facts: microsoft.md §2.2 (extension properties), §3.2 (finding the service
principal), §7. App role assignments and groups are in `graph_groups`. An app's
granted application permissions are app role assignments of its service principal
to the Microsoft Graph service principal, as in a real tenant; a token carries the
grants at the time it was issued.
"""

from __future__ import annotations

from typing import Any

from ssopoc.sandbox.entra.errors import GraphError, bad_request, not_found
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
from ssopoc.sandbox.entra.store import Tenant

DIR_READ = ("Directory.Read.All", "Directory.ReadWrite.All")
APP_READ = need(
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    *DIR_READ,
)
APP_WRITE = need("Application.ReadWrite.All", owned=True)
ORG_READ = need("Organization.Read.All", "User.Read.All", *DIR_READ)


class ApplicationsApi:
    """Routes for applications, service principals, assignments, groups, org."""

    def __init__(self, tenant: Tenant, base_url: str) -> None:
        self.tenant = tenant
        self.base_url = base_url

    def routes(self, router: Router) -> None:
        """Register the routes."""
        add = router.add
        add("GET", "/organization", self.organization, ORG_READ)
        add("GET", "/applications", self.list_apps, APP_READ)
        add("GET", "/applications(appId='{appId}')", self.get_app, APP_READ)
        add("GET", "/applications/{app}", self.get_app, APP_READ)
        for prefix in ("/applications(appId='{appId}')", "/applications/{app}"):
            add("GET", f"{prefix}/extensionProperties", self.list_ext, APP_READ)
            add("POST", f"{prefix}/extensionProperties", self.add_ext, APP_WRITE)
            extension = f"{prefix}/extensionProperties/{{ext}}"
            add("DELETE", extension, self.del_ext, APP_WRITE)
        add("GET", "/servicePrincipals", self.list_sps, APP_READ)
        add("GET", "/servicePrincipals(appId='{appId}')", self.get_sp, APP_READ)
        add("GET", "/servicePrincipals/{sp}", self.get_sp, APP_READ)

    # -- lookups -------------------------------------------------------------------

    def find(self, collection: str, key: str, app_id: str | None) -> dict[str, Any]:
        items = self.tenant.collection(collection)
        if app_id is not None:
            found = next((i for i in items.values() if i["appId"] == app_id), None)
        else:
            found = items.get(key)
        if found is None:
            raise not_found(app_id or key)
        return found

    def application(self, call: Call) -> dict[str, Any]:
        """The application a path names by object id or `appId`."""
        return self.find(
            "applications", call.params.get("app", ""), call.params.get("appId")
        )

    def service_principal(self, call: Call) -> dict[str, Any]:
        """The service principal a path names by object id or `appId`."""
        return self.find(
            "servicePrincipals", call.params.get("sp", ""), call.params.get("appId")
        )

    def owns(self, call: Call) -> bool:
        """Whether the caller owns the application or service principal named."""
        try:
            if "/applications" in call.path.lower():
                target = self.application(call)
            else:
                target = self.service_principal(call)
        except GraphError:
            return False
        return call.caller.service_principal_id in target.get("owners", [])

    def listed(
        self, call: Call, items: list[dict[str, Any]], fragment: str, type_name: str
    ) -> Reply:
        """A page of `items` after `$filter` and `$select`."""
        text = call.query.get("$filter")
        if text:
            node = parse(text)
            items = [i for i in items if matches(node, i)]
        allowed = sorted(
            {k for i in items for k in i} - {"owners", "passwordCredentials"}
        )
        names = selected(call, allowed or ["id"], type_name)
        visible = [project(i, names) if names else shown(i) for i in items]
        size = page_size(call, 100, 999)
        return paged(call, self.base_url, visible, size, fragment)

    # -- organization, applications, service principals ----------------------------

    def organization(self, call: Call) -> Reply:
        """`GET /organization` with the verified domains (§2.1 [C])."""
        tenant = self.tenant.doc["tenant"]
        return Reply(
            200, {"@odata.context": call.context("organization"), "value": [tenant]}
        )

    def list_apps(self, call: Call) -> Reply:
        """`GET /applications`."""
        items = list(self.tenant.collection("applications").values())
        return self.listed(call, items, "applications", "application")

    def get_app(self, call: Call) -> Reply:
        """`GET /applications/{id}` or `/applications(appId='...')`."""
        return Reply(200, shown(self.application(call)))

    def list_ext(self, call: Call) -> Reply:
        """`GET .../extensionProperties`."""
        items = self.application(call).get("extensionProperties", [])
        return Reply(200, {"value": items})

    def add_ext(self, call: Call) -> Reply:
        """`POST .../extensionProperties` → `201` with `extension_<appId>_<name>`.

        microsoft.md §2.2 [C]; the name is case-sensitive.
        """
        body = call.json_object()
        name, data_type = body.get("name"), body.get("dataType", "String")
        targets = body.get("targetObjects") or []
        if not isinstance(name, str) or not name.isidentifier():
            raise bad_request("Property 'name' is invalid.")
        if data_type not in (
            "String",
            "Boolean",
            "Integer",
            "DateTime",
            "Binary",
            "LargeInteger",
        ):
            raise bad_request(
                f"Invalid value specified for property 'dataType': {data_type}."
            )
        with self.tenant.lock:
            app = self.application(call)
            full = f"extension_{app['appId'].replace('-', '')}_{name}"
            props = app.setdefault("extensionProperties", [])
            if any(p["name"] == full for p in props):
                raise bad_request(
                    "Property with the same name already exists.",
                    details=[{"target": "name", "code": "ObjectConflict"}],
                )
            prop = {
                "id": self.tenant.new_id(),
                "deletedDateTime": None,
                "appDisplayName": app["displayName"],
                "dataType": data_type,
                "isMultiValued": bool(body.get("isMultiValued", False)),
                "isSyncedFromOnPremises": False,
                "name": full,
                "targetObjects": list(targets),
            }
            props.append(prop)
            self.tenant.save()
        context = call.context(
            "applications('" + app["id"] + "')/extensionProperties/$entity"
        )
        return Reply(201, {"@odata.context": context, **prop})

    def del_ext(self, call: Call) -> Reply:
        """`DELETE .../extensionProperties/{id}` → `204`."""
        with self.tenant.lock:
            app = self.application(call)
            props = app.get("extensionProperties", [])
            kept = [p for p in props if p["id"] != call.params["ext"]]
            if len(kept) == len(props):
                raise not_found(call.params["ext"])
            app["extensionProperties"] = kept
            self.tenant.save()
        return Reply(204)

    def list_sps(self, call: Call) -> Reply:
        """`GET /servicePrincipals?$filter=displayName eq '...'` (§3.2 [C])."""
        items = list(self.tenant.collection("servicePrincipals").values())
        return self.listed(call, items, "servicePrincipals", "servicePrincipal")

    def get_sp(self, call: Call) -> Reply:
        """`GET /servicePrincipals/{id}`."""
        return Reply(200, shown(self.service_principal(call)))


def shown(item: dict[str, Any]) -> dict[str, Any]:
    """An object as Graph shows it: no secrets, owners or bookkeeping."""
    hidden = {"owners", "members", "synchronization"}
    out = {k: v for k, v in item.items() if k not in hidden and not k.startswith("_")}
    if "passwordCredentials" in out:
        out["passwordCredentials"] = [
            {k: v for k, v in c.items() if k != "secretHash"}
            for c in out["passwordCredentials"]
        ]
    return out
