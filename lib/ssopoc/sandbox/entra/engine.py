"""The provisioning engine: one user through import, scoping, matching and export.

microsoft.md §5 and §7 [C]: for each user the engine scopes it, evaluates the
attribute mappings with the expression language, matches it on the mappings with
`matchingPriority` > 0 (lowest first) through a SCIM `eq` filter, then creates it
(POST), updates it (PATCH of the changed attributes only), disables it (PATCH
`active`) or deletes it (DELETE after a permanent delete). Null values are never
sent; default values apply on create only, as do `ObjectAddOnly` mappings; a
multi-valued value for a single-valued target fails with
`SchemaPropertyCanOnlyAcceptValue`. Once matched, the target's id is kept and used
for every later operation (§5 [C]). The outcome is a `Record` (`records`), which
becomes a provisioning log entry and, on demand, the Graph answer. Groups go
through `group_engine`, which uses this engine's evaluation and matching.
"""

from __future__ import annotations

from typing import Any

from ssopoc.sandbox.entra import scim_paths
from ssopoc.sandbox.entra.config import EntraConfig
from ssopoc.sandbox.entra.expressions import (
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    evaluate,
    is_multi_valued,
)
from ssopoc.sandbox.entra.records import SOURCE_SYSTEM, Record, Stop, typed
from ssopoc.sandbox.entra.schema import attributes, object_mapping, source_expression
from ssopoc.sandbox.entra.scim_target import ScimFailure, ScimTarget
from ssopoc.sandbox.entra.scoping import (
    Scope,
    assigned_principals,
    scope_of,
    source_attributes,
)
from ssopoc.sandbox.entra.store import Tenant

# Each target attribute's mapping and evaluated value.
Values = dict[str, tuple[dict[str, Any], Any]]


class Engine:
    """Processes users of one job against one SCIM target."""

    def __init__(
        self,
        tenant: Tenant,
        config: EntraConfig,
        sp: dict[str, Any],
        job: dict[str, Any],
        target: ScimTarget,
        sync_all: bool,
    ) -> None:
        self.tenant = tenant
        self.config = config
        self.sp = sp
        self.job = job
        self.target = target
        self.sync_all = sync_all
        self.state: dict[str, Any] = job.setdefault("_engine", {})
        self.links: dict[str, str] = self.state.setdefault("links", {})
        self.rule = (job["schema"].get("synchronizationRules") or [{}])[0]
        self.assigned = assigned_principals(tenant, sp["id"])

    # -- the pipeline --------------------------------------------------------------

    def process_user(self, user_id: str) -> Record:
        """Run one user through the pipeline; never raises for the object's faults."""
        user = self.tenant.collection("users").get(user_id) or self.tenant.collection(
            "deletedItems"
        ).get(user_id)
        purged = user is None
        name = (user or {}).get("userPrincipalName") or user_id
        record = Record(
            user_id, name, self.rule.get("targetDirectoryName", ""), self.tenant.stamp()
        )
        try:
            self._run(record, user, purged)
        except Stop as stop:
            record.stopped(stop)
        except ScimFailure as failure:
            record.failed(failure)
        return record

    def _run(self, record: Record, user: dict[str, Any] | None, purged: bool) -> None:
        mapping = object_mapping(self.job["schema"], "User", self.rule.get("id"))
        if mapping is None:
            raise Stop(
                "Skipped", "EntrySynchronizationSkipped", "no enabled User mapping"
            )
        source = source_attributes(self.tenant, user) if user else {}
        record.step(
            "EntryImport",
            "import",
            "success" if user else "skipped",
            f"Retrieved User '{record.source_name}' from {SOURCE_SYSTEM}"
            if user
            else f"User '{record.source_id}' was permanently deleted",
            **{k: v for k, v in source.items() if isinstance(v, str)},
        )
        scope = scope_of(
            user, source, self.assigned, self.sync_all, mapping.get("scope")
        )
        source["IsSoftDeleted"] = not scope.in_scope
        record.scoped(scope.in_scope, "User", scope.details())
        link = self.links.get(record.source_id)
        if purged:
            self.delete(record, link)
        elif not scope.in_scope:
            self._deprovision(record, link, scope)
        else:
            self._provision(record, mapping, source, link)

    def delete(
        self,
        record: Record,
        link: str | None,
        resource: str = "Users",
        links: dict[str, str] | None = None,
    ) -> None:
        """Delete the linked target object and forget the link (`links`: the
        users' links by default)."""
        if link is None:
            raise Stop("Skipped", "EntrySynchronizationSkipped", "never provisioned")
        self.target.delete(resource, link)
        (self.links if links is None else links).pop(record.source_id, None)
        record.action, record.target_id, record.exported = "Delete", link, True
        record.step(
            "EntryExportDelete",
            "export",
            "success",
            f"{record.object_type} was deleted",
        )

    def _deprovision(self, record: Record, link: str | None, scope: Scope) -> None:
        """Disable a provisioned user that left the scope (§5 [C])."""
        if link is None:
            raise Stop(
                "Skipped",
                "EntrySynchronizationSkipped",
                f"User '{record.source_name}' is not in scope: it is not assigned to "
                "the application, is disabled or deleted, or fails a scoping filter",
                "scoping",
            )
        current = self.target.get("Users", link)
        record.target_id = link
        if current is not None and str(current.get("active")).lower() != "false":
            value = typed("False", {"type": "Boolean"}, self.booleans)
            self.target.patch(
                "Users",
                link,
                [{"op": self.verb("Replace"), "path": "active", "value": value}],
            )
            record.modified.append(
                {"displayName": "active", "oldValue": "True", "newValue": "False"}
            )
            record.action, record.exported = "Disable", True
            record.step(
                "EntryExportUpdateSoftDelete", "export", "success", "User was disabled"
            )
        else:
            record.result, record.error_code = "Skipped", "RedundantExport"
            record.step(
                "EntrySynchronizationSkip",
                "export",
                "skipped",
                "The user is already disabled in the target",
                SkipReason="RedundantExport",
            )
        if not scope.assigned and not scope.sync_all:
            # §5 [C]: an unassigned user is disabled, then no longer managed.
            self.links.pop(record.source_id, None)

    def evaluate(
        self, mapping: dict[str, Any], source: dict[str, Any], object_name: str = "User"
    ) -> Values:
        """Each target attribute's mapping and value; nulls stay None here."""
        target_defs = self.definitions(object_name)
        values: Values = {}
        for item in mapping.get("attributeMappings", []):
            target = item["targetAttributeName"]
            expression = source_expression(item)
            try:
                value = evaluate(expression, source) if expression else None
            except (ExpressionEvaluationError, ExpressionSyntaxError) as error:
                code = str(getattr(error, "code", "ExpressionSyntaxError"))
                raise Stop(
                    "Failure", code, f"The mapping to '{target}' failed: {error}"
                ) from error
            if is_multi_valued(value) and not target_defs.get(target, {}).get(
                "multivalued"
            ):
                value = self._single(target, value)
            values[target] = (item, value)
        return values

    def _single(self, target: str, value: Any) -> Any:
        """microsoft.md §4.4 [C]; one value is the `multi_valued_single_value` [U]."""
        if self.config.multi_valued_single_value == "allow" and len(value) == 1:
            return value[0]
        raise Stop(
            "Failure",
            "SchemaPropertyCanOnlyAcceptValue",
            f"The property '{target}' in the target system can only accept one "
            "value, but the property in the source system has multiple",
        )

    @property
    def booleans(self) -> bool:
        """Booleans go as JSON booleans with `aadOptscim062020`, else as text."""
        return self.config.scim_boolean_style == "boolean"

    def verb(self, op: str) -> str:
        """`Add`/`Replace`/`Remove`; lower-case with `aadOptscim062020` (§5 [C])."""
        return op.lower() if self.booleans else op

    def definitions(self, object_name: str) -> dict[str, dict[str, Any]]:
        """The target directory's attribute definitions of one object type."""
        return attributes(
            self.job["schema"], self.rule.get("targetDirectoryName", ""), object_name
        )

    def by_link(self, record: Record, link: str) -> None:
        """Record that the stored target id found the object (§5 [C])."""
        record.step(
            "EntryImport",
            "matching",
            "success",
            f"Matching {record.object_type} found in {record.target_system} by its "
            "stored id",
            TargetAnchor=link,
        )

    def create_body(
        self, record: Record, values: Values, schema: str
    ) -> dict[str, Any]:
        """The POST body of a new object, each sent attribute recorded."""
        defs = self.definitions(record.object_type)
        body: dict[str, Any] = {"schemas": [schema]}
        for target, (mapping, value) in values.items():
            if value is None and mapping.get("defaultValue") not in (None, ""):
                value = mapping["defaultValue"]  # §4.3 [C]: defaults on create only
            if value is None:
                continue  # §4.3 [C]: null values are never sent
            wire = typed(value, defs.get(target, {}), boolean=True)
            scim_paths.write(body, target, wire)
            record.modified.append(
                {"displayName": target, "oldValue": None, "newValue": value}
            )
        body["meta"] = {"resourceType": record.object_type}
        return body

    def changes(
        self, record: Record, values: Values, current: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """PATCH operations for the mapped attributes whose value changed.

        Nulls and `ObjectAddOnly` mappings are left out (§4.3 [C]); each change is
        recorded.
        """
        defs = self.definitions(record.object_type)
        operations = []
        for target, (mapping, value) in values.items():
            if value is None or mapping.get("flowType") == "ObjectAddOnly":
                continue
            definition = defs.get(target, {})
            old = scim_paths.read(current, target)
            if scim_paths.same(old, value, bool(definition.get("caseExact"))):
                continue
            wire = typed(value, definition, boolean=self.booleans)
            # Assumption [U]: an attribute the target lacks is sent as Add.
            op = self.verb("Add" if old is None else "Replace")
            operations.append({"op": op, "path": target, "value": wire})
            record.modified.append(
                {"displayName": target, "oldValue": old, "newValue": value}
            )
        return operations

    def _provision(
        self,
        record: Record,
        mapping: dict[str, Any],
        source: dict[str, Any],
        link: str | None,
    ) -> None:
        values = self.evaluate(mapping, source)
        current = self.target.get("Users", link) if link else None
        if current is None:
            current = self.match(record, values)
        elif link:
            self.by_link(record, link)
        if current is None:
            self._create(record, values)
        else:
            self._update(record, values, current)

    def match(
        self,
        record: Record,
        values: Values,
        resource: str = "Users",
        links: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """Find the target object on the matching mappings, lowest priority first.

        A match is remembered in `links` (the users' links by default), §5 [C].
        """
        kind = record.object_type
        ordered = sorted(
            (m.get("matchingPriority") or 0, target, value)
            for target, (m, value) in values.items()
            if (m.get("matchingPriority") or 0) > 0
        )
        tried = False
        for _, target, value in ordered:
            if value is None or is_multi_valued(value):
                continue
            tried = True
            found = self.target.query(resource, target, str(value))
            if len(found) > 1:
                raise Stop(
                    "Failure",
                    "SystemForCrossDomainIdentityManagementMultipleEntriesInResponse",
                    f"{len(found)} {resource} in {record.target_system} have "
                    f"{target} '{value}'",
                )
            if found:
                (self.links if links is None else links)[record.source_id] = str(
                    found[0]["id"]
                )
                record.step(
                    "EntryImport",
                    "matching",
                    "success",
                    f"Matching {kind} found in {record.target_system}",
                    MatchingAttribute=target,
                    MatchingValue=value,
                )
                return found[0]
        if not tried:
            raise Stop(
                "Failure",
                "ImportSkipped",
                f"Every matching attribute of the {kind.lower()} is empty, so it "
                "cannot match",
            )
        record.step(
            "EntryImport",
            "matching",
            "success",
            f"No matching {kind} found in {record.target_system}",
        )
        return None

    def _create(self, record: Record, values: Values) -> None:
        body = self.create_body(record, values, scim_paths.CORE_USER)
        created = self.target.create("Users", body)
        self.links[record.source_id] = str(created["id"])
        record.action, record.target_id, record.exported = (
            "Create",
            str(created["id"]),
            True,
        )
        record.step("EntryExportAdd", "export", "success", "User was created")

    def _update(self, record: Record, values: Values, current: dict[str, Any]) -> None:
        operations = self.changes(record, values, current)
        record.target_id = str(current.get("id"))
        if not operations:
            record.redundant(
                "The target already holds every mapped value",
                "No attribute changed, so nothing was exported",
            )
            return
        self.target.patch("Users", record.target_id, operations)
        record.action, record.exported = "Update", True
        record.step("EntryExportUpdate", "export", "success", "User was updated")
