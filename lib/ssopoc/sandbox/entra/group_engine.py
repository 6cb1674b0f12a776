"""Group provisioning: one Entra group through import, scoping, matching, export.

The facts it encodes:

- microsoft.md §4.5 [C] (Atlassian tutorial): the Atlassian Cloud app provisions
  groups with `displayName` (the matching attribute), `externalId` and `members`.
  The fixture maps `[displayName]`, `[objectId]` and `[members]` to them; the
  sources are [U] (the tutorial names targets only, §8.1).
- §5 [C]: "Sync only assigned users and groups" puts a group in scope when it is
  assigned to the app itself (nested groups are not supported); "Sync all" takes
  every group; the Group mapping's scoping filter narrows it.
- Matching: the group matching attribute through a SCIM `eq` filter, which for
  Atlassian can only be `displayName eq "<name>"` (atlassian.md §1.4 [C] OAS22);
  groups are queried with `excludedAttributes=members` (§5 [C]) and then read by
  id for their members.
- Create: `POST /Groups`; Atlassian answers 409 when the name exists in the org
  (atlassian.md §1.6 [C]), which is an export failure with a log entry and an
  escrow retry like any other (§5 [C]).
- Members: references are resolved after the objects exist (§5 [C]), so only
  members this job has provisioned (that have a target id) can be referenced;
  membership changes are one PATCH with `Add`/`Remove` of `members` carrying
  `[{"value": <target id>}]` (atlassian.md §1.6 [C] form; ops capitalised unless
  `aadOptscim062020`, §5 [C], the `scim_boolean_style` setting). Whether the
  connector also sends `display` is [U]: it is not sent.
- A changed group name is exported like any attribute, and Atlassian refuses it:
  renames are not supported (atlassian.md §1.6 [C], microsoft.md §6 [C]).
- A group deleted in Entra is deleted in the target (§5 [C] says so for
  hard-deleted objects; that groups follow it is [U]). A group that leaves the
  scope is handled by the `group_out_of_scope` setting [U] (default: deleted).
  Deleting a synced group removes the product access it granted (atlassian.md
  §1.6 [C]).
"""

from __future__ import annotations

from typing import Any

from ssopoc.sandbox.entra import scim_paths
from ssopoc.sandbox.entra.engine import Engine, Values
from ssopoc.sandbox.entra.records import SOURCE_SYSTEM, Record, Stop
from ssopoc.sandbox.entra.schema import object_mapping
from ssopoc.sandbox.entra.scim_target import ScimFailure
from ssopoc.sandbox.entra.scoping import (
    Scope,
    assigned_groups,
    group_source_attributes,
    passes,
)


class GroupEngine:
    """Processes groups of one job, next to the user engine whose links it uses."""

    def __init__(self, users: Engine) -> None:
        self.users = users
        self.tenant = users.tenant
        self.job = users.job
        self.target = users.target
        self.rule = users.rule
        self.links: dict[str, str] = users.state.setdefault("groupLinks", {})
        self.assigned = assigned_groups(users.tenant, users.sp["id"])
        self.definitions = users.definitions("Group")

    def process_group(
        self, group_id: str, members: list[Record] | None = None
    ) -> Record:
        """Run one group through the pipeline; never raises for the group's faults.

        `members` are the records of members provisioned just before (on demand);
        they are shown in the import step.
        """
        group = self.tenant.collection("groups").get(group_id)
        name = str((group or {}).get("displayName") or group_id)
        record = Record(
            group_id,
            name,
            self.rule.get("targetDirectoryName", ""),
            self.tenant.stamp(),
            object_type="Group",
        )
        try:
            self._run(record, group, members or [])
        except Stop as stop:
            record.stopped(stop)
        except ScimFailure as failure:
            record.failed(failure)
        return record

    def _run(
        self, record: Record, group: dict[str, Any] | None, members: list[Record]
    ) -> None:
        mapping = object_mapping(self.job["schema"], "Group", self.rule.get("id"))
        if mapping is None:
            raise Stop(
                "Skipped", "EntrySynchronizationSkipped", "no enabled Group mapping"
            )
        source = group_source_attributes(group) if group else {}
        shown = {
            f"Member{n}": f"{m.source_name}: {m.result} {m.action}"
            for n, m in enumerate(members, 1)
        }
        record.step(
            "EntryImport",
            "import",
            "success" if group else "skipped",
            f"Retrieved Group '{record.source_name}' from {SOURCE_SYSTEM}"
            if group
            else f"Group '{record.source_id}' was deleted",
            displayName=source.get("displayName"),
            objectId=source.get("objectId"),
            MemberCount=len(source.get("members") or []),
            **shown,
        )
        scope = Scope(
            assigned=group is not None and record.source_id in self.assigned,
            active=group is not None,
            filter_passed=passes(mapping.get("scope"), source),
            sync_all=self.users.sync_all,
        )
        source["IsSoftDeleted"] = not scope.in_scope
        record.scoped(scope.in_scope, "Group", scope.details())
        link = self.links.get(record.source_id)
        if group is None:
            self.users.delete(record, link, "Groups", self.links)
        elif not scope.in_scope:
            self._out_of_scope(record, link)
        else:
            self._provision(record, mapping, source, link)

    # -- deprovisioning ------------------------------------------------------------

    def _out_of_scope(self, record: Record, link: str | None) -> None:
        """The `group_out_of_scope` setting [U] decides: delete, or keep."""
        if link is None:
            raise Stop(
                "Skipped",
                "EntrySynchronizationSkipped",
                f"Group '{record.source_name}' is not in scope: it is not assigned "
                "to the application or fails a scoping filter",
                "scoping",
            )
        if self.users.config.group_out_of_scope == "delete":
            self.users.delete(record, link, "Groups", self.links)
            return
        self.links.pop(record.source_id, None)
        record.target_id = link
        raise Stop(
            "Skipped",
            "EntrySynchronizationSkipped",
            f"Group '{record.source_name}' left the scope; it stays in the target "
            "and is no longer managed (group_out_of_scope: keep)",
        )

    # -- provisioning --------------------------------------------------------------

    def _provision(
        self,
        record: Record,
        mapping: dict[str, Any],
        source: dict[str, Any],
        link: str | None,
    ) -> None:
        plain: list[dict[str, Any]] = []
        references: list[dict[str, Any]] = []
        for item in mapping.get("attributeMappings", []):
            target = self.definitions.get(item["targetAttributeName"], {})
            kind = target.get("type")
            (references if kind == "Reference" else plain).append(item)
        values = self.users.evaluate(
            {**mapping, "attributeMappings": plain}, source, "Group"
        )
        wanted = self._wanted_members(references, source)
        current = self.target.get("Groups", link) if link else None
        if current is None:
            found = self.users.match(record, values, "Groups", self.links)
            if found is not None:
                current = self.target.get("Groups", str(found["id"])) or found
        elif link:
            self.users.by_link(record, link)
        if current is None:
            self._create(record, values, wanted)
        else:
            self._update(record, values, wanted, current)

    def _wanted_members(
        self, references: list[dict[str, Any]], source: dict[str, Any]
    ) -> dict[str, list[str]]:
        """Per reference target (`members`): the target ids of provisioned members.

        Members without a target id cannot be referenced (§5 [C]: references are
        resolved to objects already in the target); nested groups are not
        supported (§5 [C]), so only users count.
        """
        wanted: dict[str, list[str]] = {}
        for item in references:
            name = str((item.get("source") or {}).get("name") or "")
            ids: list[str] = []
            for member in source.get(name) or []:
                target_id = self.users.links.get(str(member))
                if target_id and target_id not in ids:
                    ids.append(target_id)
            wanted[item["targetAttributeName"]] = ids
        return wanted

    def _member_op(self, op: str, path: str, ids: list[str]) -> dict[str, Any]:
        return {
            "op": self.users.verb(op),
            "path": path,
            "value": [{"value": target_id} for target_id in ids],
        }

    def _create(
        self, record: Record, values: Values, wanted: dict[str, list[str]]
    ) -> None:
        body = self.users.create_body(record, values, scim_paths.CORE_GROUP)
        created = self.target.create("Groups", body)
        link = str(created["id"])
        self.links[record.source_id] = link
        record.action, record.target_id, record.exported = "Create", link, True
        record.step("EntryExportAdd", "export", "success", "Group was created")
        operations = [
            self._member_op("Add", path, ids) for path, ids in wanted.items() if ids
        ]
        if not operations:
            return
        self.target.patch("Groups", link, operations)
        for path, ids in wanted.items():
            if ids:
                record.modified.append(
                    {"displayName": path, "oldValue": None, "newValue": ", ".join(ids)}
                )
        added = ", ".join(i for ids in wanted.values() for i in ids)
        record.step(
            "EntryExportUpdate",
            "export",
            "success",
            "Members were added to the group",
            MembersAdded=added,
        )

    def _update(
        self,
        record: Record,
        values: Values,
        wanted: dict[str, list[str]],
        current: dict[str, Any],
    ) -> None:
        operations = self.users.changes(record, values, current)
        added_all: list[str] = []
        removed_all: list[str] = []
        for path, ids in wanted.items():
            have = [
                str(m["value"])
                for m in current.get(path) or []
                if isinstance(m, dict) and m.get("value")
            ]
            added = [i for i in ids if i not in have]
            removed = [i for i in have if i not in ids]
            if added:
                operations.append(self._member_op("Add", path, added))
            if removed:
                operations.append(self._member_op("Remove", path, removed))
            if added or removed:
                record.modified.append(
                    {
                        "displayName": path,
                        "oldValue": ", ".join(have) or None,
                        "newValue": ", ".join(ids) or None,
                    }
                )
            added_all += added
            removed_all += removed
        record.target_id = str(current.get("id"))
        if not operations:
            record.redundant(
                "The target group already holds every mapped value",
                "Nothing changed, so nothing was exported",
            )
            return
        self.target.patch("Groups", record.target_id, operations)
        record.action, record.exported = "Update", True
        record.step(
            "EntryExportUpdate",
            "export",
            "success",
            "Group was updated",
            MembersAdded=", ".join(added_all),
            MembersRemoved=", ".join(removed_all),
        )
