"""Clean-up (notebook 08): remove what runs created, restore what they changed.

Only objects whose name carries the prefix are touched: this run's
`<object_prefix>-<run id>-`, or every run's `<object_prefix>-` when asked. Every
removal is checked against the prefix once more just before it happens, and
refused otherwise. Running it twice removes nothing the second time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from ssopoc.atlassian import Atlassian
from ssopoc.display import Table
from ssopoc.entra import EntraClient
from ssopoc.errors import SsopocError
from ssopoc.poc import snapshots
from ssopoc.poc.email_mapping import extension_prefix
from ssopoc.poc.entra_route import APP_NAME
from ssopoc.workbook import Workbook

log = logging.getLogger(__name__)


class UnprefixedObjectError(SsopocError):
    """A removal was asked for an object that does not carry the prefix."""


class Cleanup:
    """Removes prefixed objects from Entra ID and Atlassian, and restores schemas."""

    def __init__(
        self, wb: Workbook, entra: EntraClient, atlassian: Atlassian, all_runs: bool
    ) -> None:
        self.wb = wb
        self.entra = entra
        self.atlassian = atlassian
        self.all_runs = all_runs
        base = f"{wb.settings.params.object_prefix}-"
        self.prefix = base if all_runs else wb.prefix
        self.entra.prefix = self.prefix
        self.removed: dict[str, list[str]] = {}

    @classmethod
    def open(cls, wb: Workbook, all_runs: bool) -> Cleanup:
        """Connect to both services for `wb`; `all_runs` widens the prefix."""
        return cls(
            wb, EntraClient.from_workbook(wb), Atlassian.from_workbook(wb), all_runs
        )

    def _remove(
        self,
        kind: str,
        name: str,
        action: Callable[..., None],
        *args: str,
        prefix: str | None = None,
    ) -> None:
        prefix = prefix or self.prefix
        if not name.lower().startswith(prefix.lower()):
            raise UnprefixedObjectError(
                f"refusing to remove {kind} {name!r}: it lacks the prefix {prefix}"
            )
        action(*args)
        self.removed.setdefault(kind, []).append(name)
        log.info("removed %s %s", kind, name)

    def _report(self, kinds: Iterable[str]) -> Table:
        rows = []
        for kind in kinds:
            names = self.removed.get(kind, [])
            self.wb.evidence.observe(f"removed: {kind}", len(names))
            rows.append((kind, len(names), ", ".join(names[:5])))
        return Table(("kind", "removed", "first names"), rows)

    def restore_snapshots(self) -> Table:
        """Restore every schema snapshot still pending (of any run of this mode)."""
        restored = snapshots.restore_pending(self.entra, self.wb.settings)
        self.wb.evidence.check(
            "no schema snapshot is left unrestored",
            0,
            len(snapshots.pending(self.wb.settings)),
        )
        rows = [(s.run_id, s.job_id) for s in restored]
        self.wb.evidence.observe("schema snapshots restored", len(rows))
        return Table(("run", "job restored"), rows or [("—", "none pending")])

    def entra_objects(self) -> Table:
        """App assignments, groups and users carrying the prefix, users purged."""
        app = self.entra.apps.enterprise_app(APP_NAME)
        for assignment in self.entra.apps.assignments(app["id"]):
            name = str(assignment.get("principalDisplayName") or "")
            if name.lower().startswith(self.prefix.lower()):
                unassign = self.entra.apps.unassign
                self._remove(
                    "app assignment", name, unassign, app["id"], assignment["id"]
                )
        for group in self._entra_groups():
            delete_group = self.entra.apps.delete_group
            self._remove("Entra group", group["displayName"], delete_group, group["id"])
        for user in self.entra.users.mine():
            upn = str(user["userPrincipalName"])
            self._remove(
                "Entra user", upn, lambda u=user: self.entra.users.delete(u["id"])
            )
        for user in self.entra.users.deleted():
            upn = str(user["userPrincipalName"])
            self._remove("Entra user purged", upn, self.entra.users.purge, user["id"])
        self._extensions()
        kinds = (
            "app assignment",
            "Entra group",
            "Entra user",
            "Entra user purged",
            "directory extension",
        )
        return self._report(kinds)

    def _extensions(self) -> None:
        """Directory extensions notebook 02 declared on the workbook's own app."""
        app = f"/applications(appId='{self.entra.auth.client_id}')"
        listed = self.entra.call(
            "GET", f"{app}/extensionProperties", permission="Application.Read.All"
        )
        compact = extension_prefix(self.wb, self.all_runs)
        for item in listed.get("value", []):
            short = str(item["name"]).split("_", 2)[-1]
            if short.lower().startswith(compact.lower()):
                path = f"{app}/extensionProperties/{item['id']}"
                self._remove(
                    "directory extension",
                    short,
                    self._delete,
                    path,
                    prefix=compact,
                )

    def _delete(self, path: str) -> None:
        self.entra.call("DELETE", path, permission="Application.ReadWrite.OwnedBy")

    def _entra_groups(self) -> list[dict[str, Any]]:
        quoted = self.prefix.replace("'", "''")
        params = {"$filter": f"startswith(displayName,'{quoted}')"}
        return list(
            self.entra.pages("/groups", permission="Group.Read.All", params=params)
        )

    def atlassian_records(self) -> Table:
        """SCIM users and groups in the Atlassian directory carrying the prefix."""
        scim = self.atlassian.scim
        for user in list(scim.list_users()):
            name = str(user.user_name)
            if name.lower().startswith(self.prefix.lower()):
                self._remove("SCIM user", name, scim.delete_user, str(user.id))
        for group in list(scim.list_groups()):
            name = str(group.display_name)
            if name.lower().startswith(self.prefix.lower()):
                self._remove(
                    "SCIM group", name, lambda g=group: scim.delete_group(g.id)
                )
        return self._report(("SCIM user", "SCIM group"))

    def verify(self) -> Table:
        """Check that nothing carrying the prefix remains, on either side."""
        left = {
            "Entra users": len(self.entra.users.mine()),
            "Entra deleted users": len(self.entra.users.deleted()),
            "Entra groups": len(self._entra_groups()),
            "SCIM users": sum(
                1
                for u in self.atlassian.scim.list_users()
                if str(u.user_name).lower().startswith(self.prefix.lower())
            ),
            "SCIM groups": sum(
                1
                for g in self.atlassian.scim.list_groups()
                if str(g.display_name).lower().startswith(self.prefix.lower())
            ),
        }
        for kind, count in left.items():
            self.wb.evidence.check(f"no prefixed {kind} remain", 0, count)
        return Table(("kind", "left"), list(left.items()))
