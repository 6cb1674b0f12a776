"""Step 2 of the Entra route: map a second, unverified email to the Atlassian email.

The notebook snapshots the provisioning schema, edits only the mapping to
`emails[type eq "work"].value`, provisions a user whose unverified address sits in
another field, and then goes past the plan: it changes the field, disables,
re-enables and unassigns the user, recording what the reference facts predict
beside what happened. The schema is restored at the end, and by the runner or
`08_cleanup` when the notebook could not.
"""

from __future__ import annotations

import logging
from typing import Any

from ssopoc.atlassian import account_id_of, primary_email_of
from ssopoc.display import Table
from ssopoc.errors import ConfigError
from ssopoc.poc import snapshots
from ssopoc.poc.entra_route import EMAIL_TARGET, EntraRoute
from ssopoc.workbook import Workbook

log = logging.getLogger(__name__)

APP_WRITE = "Application.ReadWrite.OwnedBy"
CLAIM_STEP2 = (
    "A non-primary field holding an email on an unverified domain becomes the "
    "user's email in Atlassian Cloud."
)
UNLINK = "atlassian.md §3 and §8 email change rules ([S] KBEMAILCHG, ACC1396)"
NOT_PUSHED = (
    "microsoft.md §6: MS tutorial says non-verified domain changes are not pushed"
)


class EmailMapping:
    """The mapping edit and its follow-ups, on top of an `EntraRoute`."""

    def __init__(self, route: EntraRoute) -> None:
        self.route = route
        self.wb = route.wb
        self.entra = route.entra
        self.field = ""
        self.expression = ""
        self.before: dict[str, Any] | None = None

    # -- the schema --------------------------------------------------------------------

    def snapshot(self) -> Table:
        """Save the whole provisioning schema into the run folder, restore pending."""
        schema = self.entra.provisioning.schema(self.route.sp_id, self.route.job_id)
        self.before = schema.snapshot()
        path = snapshots.save_schema(
            self.wb.settings,
            self.wb.run_dir,
            self.wb.run_id,
            self.route.sp_id,
            self.route.job_id,
            self.before,
        )
        self.wb.evidence.observe(
            "schema snapshot saved", f"{path.relative_to(self.wb.run_dir)}"
        )
        rows = [(EMAIL_TARGET, schema.source_expression(EMAIL_TARGET), path.name)]
        return Table(("target", "source expression now", "snapshot"), rows)

    def source_field(self, field: str, extension_name: str) -> str:
        """The user attribute that will hold the unverified email.

        `extensionAttributeN` and `otherMails` are built in; `directoryExtension`
        declares `extension_<appId>_<extension_name>` on the workbook's own app
        (microsoft.md §2.2 [C]; needs `Application.ReadWrite.OwnedBy`). An empty
        `extension_name` gives one named after the run, which clean-up removes.
        """
        if field == "otherMails" or (
            field.startswith("extensionAttribute") and field[18:].isdigit()
        ):
            self.field = field
        elif field == "directoryExtension":
            name = extension_name or f"{extension_prefix(self.wb)}AltEmail"
            self.field = self._declare_extension(name)
        else:
            raise ConfigError(
                "source_field",
                f"{field!r} is not supported",
                "use extensionAttribute1..15, otherMails or directoryExtension",
            )
        return self.field

    def _declare_extension(self, name: str) -> str:
        app = f"/applications(appId='{self.entra.auth.client_id}')"
        existing = self.entra.call(
            "GET", f"{app}/extensionProperties", permission=APP_WRITE
        )
        for item in existing.get("value", []):
            if str(item["name"]).endswith(f"_{name}"):
                return str(item["name"])
        body = {"name": name, "dataType": "String", "targetObjects": ["User"]}
        created = self.entra.call(
            "POST", f"{app}/extensionProperties", permission=APP_WRITE, body=body
        )
        self.wb.evidence.observe("directory extension declared", created["name"])
        return str(created["name"])

    def default_expression(self, expression: str) -> str:
        """The expression to map: as given, or the source field alone."""
        if expression:
            return expression
        if self.field == "otherMails":
            return "Item([otherMails], 1)"
        return f"[{self.field}]"

    def edit(self, expression: str) -> Table:
        """Point only the work-email mapping at `expression`; show before and after."""
        if self.before is None:
            raise ConfigError("notebook order", "no snapshot", "run the snapshot cell")
        self.expression = self.default_expression(expression)
        schema = self.entra.provisioning.schema(self.route.sp_id, self.route.job_id)
        if self.field.startswith("extension_"):
            schema.add_source_attribute(self.field)
        schema.set_source_expression(EMAIL_TARGET, self.expression)
        self.entra.provisioning.put_schema(self.route.sp_id, self.route.job_id, schema)

        after = self.entra.provisioning.schema(self.route.sp_id, self.route.job_id)
        old = _mappings(self.before)
        new = _mappings(after.document)
        self.wb.evidence.check(
            "the work-email mapping now reads the field",
            self.expression,
            new.get(EMAIL_TARGET),
        )
        changed = sorted(t for t in set(old) | set(new) if old.get(t) != new.get(t))
        self.wb.evidence.check("no other mapping changed", [EMAIL_TARGET], changed)
        rows = [
            (target, old.get(target, "—"), new.get(target, "—"))
            for target in sorted(set(old) | set(new))
        ]
        return Table(("target", "before", "after"), rows)

    def restore(self) -> Table:
        """Put the snapshot back (always the last step) and check it took."""
        done = snapshots.restore_pending(
            self.entra, self.wb.settings, run_id=self.wb.run_id
        )
        now = self.entra.provisioning.schema(self.route.sp_id, self.route.job_id)
        if self.before is not None:
            self.wb.evidence.check(
                "the schema equals its snapshot again",
                "equal",
                _difference(self.before, now.document),
            )
        rows = [(s.job_id, s.marker.name) for s in done]
        return Table(("restored job", "snapshot"), rows or [("—", "nothing pending")])

    # -- the user ----------------------------------------------------------------------

    def mail_for(self, mode: str, alias: str) -> str | None:
        """The user's `mail`: `tenant` (an address on the tenant) or `none`."""
        if mode == "none":
            return None
        if mode != "tenant":
            raise ConfigError("mail", f"{mode!r} is not known", "use tenant or none")
        return f"{self.wb.prefix}{alias}@{self.entra.domain()}".lower()

    def create_user(self, alias: str, unverified_email: str, mail: str | None) -> Table:
        """Create the user with the email in the source field and `mail` as given."""
        values: dict[str, Any] = {}
        if self.field == "otherMails":
            values["other_mails"] = [unverified_email]
        elif self.field.startswith("extensionAttribute"):
            values["extension_attributes"] = {int(self.field[18:]): unverified_email}
        else:
            values[self.field] = unverified_email
        return self.route.create_user(alias, unverified_email, mail=mail, **values)

    def check_email(self) -> Table:
        """The Atlassian record's email must be the field's value."""
        table = self.route.find_in_atlassian()
        person = self.route._person()
        record = self.route.atlassian.scim.find_user(user_name=person.upn)
        person.records["email"] = self.wb.evidence.check(
            "the Atlassian email is the field's value",
            person.email,
            primary_email_of(record) if record else "no record",
            source="microsoft.md §4.4; atlassian.md §3",
        )
        return table

    # -- past the plan -----------------------------------------------------------------

    def _push(self) -> str:
        person = self.route._person()
        outcome = self.entra.provisioning.provision_on_demand(
            self.route.sp_id, person.entra_id, self.route.job_id
        )
        return f"{outcome.result} {outcome.action} {outcome.error_code}".strip()

    def _scim(self) -> Any:
        return self.route.atlassian.scim.find_user(user_name=self.route._person().upn)

    def change_field(self, new_email: str) -> Table:
        """Change the field and provision again: does the change reach Atlassian?"""
        person = self.route._person()
        old_email, old_account = person.email, person.account_id
        if self.field == "otherMails":
            self.entra.users.update(person.entra_id, otherMails=[new_email])
        elif self.field.startswith("extensionAttribute"):
            number = int(self.field[18:])
            self.entra.users.set_extension_attribute(person.entra_id, number, new_email)
        else:
            self.entra.users.update(person.entra_id, **{self.field: new_email})
        pushed = self._push()
        record = self._scim()
        self.wb.evidence.observe("provisioning outcome of the field change", pushed)
        self.wb.evidence.check(
            "the SCIM record takes the new email",
            new_email,
            primary_email_of(record) if record else "no record",
            source=f"prediction: {UNLINK}; counter-claim: {NOT_PUSHED}",
        )
        self.wb.evidence.check(
            "the record is unlinked from the old account",
            "unlinked",
            (account_id_of(record) if record else None) or "unlinked",
            compare=lambda e, o: o == e,
            source=f"prediction: {UNLINK}",
        )
        old = self.route.atlassian.admin.prove_account(old_email)
        self.wb.evidence.check(
            "the old account keeps its email and loses the group's products",
            "exists, no products",
            f"exists={old.exists}, products={','.join(old.products) or 'none'}",
            compare=lambda e, o: o == "exists=True, products=none",
            source=f"prediction: {UNLINK}",
        )
        person.email = new_email
        rows = [
            ("provisioning", pushed),
            ("SCIM email", primary_email_of(record) if record else "—"),
            ("account before", old_account or "—"),
            ("account now", (account_id_of(record) if record else None) or "unlinked"),
            ("old account products", ", ".join(old.products) or "none"),
        ]
        return Table(("after the field change", "value"), rows)

    def set_enabled(self, enabled: bool) -> Table:
        """Disable or re-enable the user in Entra ID and provision again."""
        person = self.route._person()
        self.entra.users.update(person.entra_id, accountEnabled=enabled)
        pushed = self._push()
        record = self._scim()
        word = "enabled" if enabled else "disabled"
        self.wb.evidence.check(
            f"the SCIM record is {'active' if enabled else 'inactive'} once {word}",
            enabled,
            record.active if record else "no record",
            source="microsoft.md §5: disable is a PATCH of active; atlassian.md §8",
        )
        proof = self.route.atlassian.admin.prove_account(person.email)
        seen = "no account has this email"
        if proof.exists:
            seen = (
                f"status {proof.status}, products {','.join(proof.products) or 'none'}"
            )
        self.wb.evidence.observe(
            f"org directory once {word}",
            seen,
            source="atlassian.md §8 active:false (U for external accounts)",
        )
        rows = [
            ("provisioning", pushed),
            ("SCIM active", record.active if record else "—"),
            ("org status", proof.status or "—"),
            ("products", ", ".join(proof.products) or "none"),
        ]
        return Table((f"once {word}", "value"), rows)

    def unassign(self) -> Table:
        """Remove the assignment and provision: out of scope means disabled."""
        person = self.route._person()
        principal = str(self.route.group["id"]) if self.route.group else person.entra_id
        for assignment in self.entra.apps.assignments(self.route.sp_id):
            if str(assignment.get("principalId")) == principal:
                self.entra.apps.unassign(self.route.sp_id, str(assignment["id"]))
        pushed = self._push()
        record = self._scim()
        self.wb.evidence.check(
            "an unassigned user is disabled in Atlassian",
            False,
            record.active if record else "no record",
            source="microsoft.md §5: unassigned → disable, then no longer managed",
        )
        return Table(
            ("once unassigned", "value"),
            [
                ("provisioning", pushed),
                ("SCIM active", record.active if record else "—"),
            ],
        )

    def verdict(self) -> Table:
        """Record the verdict on step 2's claim and show the key values."""
        person = self.route._person()
        keys = ("email", "jira-software", "login")
        supporting = [person.records[k] for k in keys if k in person.records]
        values = {
            "source field": self.field,
            "mapping": self.expression,
            "email in Atlassian": person.records["email"].observed
            if "email" in person.records
            else "—",
            "account type": person.kind or "unknown",
        }
        record = self.wb.evidence.verdict(CLAIM_STEP2, supporting, values)
        return Table(
            ("claim", "verdict"), [(CLAIM_STEP2, record.status), *values.items()]
        )


def extension_prefix(wb: Workbook, all_runs: bool = False) -> str:
    """The run's prefix as an extension name allows it: letters and digits only."""
    base = wb.settings.params.object_prefix
    return base if all_runs else f"{base}{wb.run_id}"


def _difference(before: dict[str, Any], after: dict[str, Any]) -> str:
    """`equal`, or which mapping targets differ between two schema documents.

    `version` is left out: every PUT of a schema bumps it (microsoft.md §3.6).
    """
    if _without_version(before) == _without_version(after):
        return "equal"
    old, new = _mappings(before), _mappings(after)
    changed = sorted(t for t in set(old) | set(new) if old.get(t) != new.get(t))
    return "differs in " + (", ".join(changed) or "parts other than the mappings")


def _without_version(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "version"}


def _mappings(document: dict[str, Any]) -> dict[str, str]:
    """Target attribute → source expression of the User object mapping."""
    found: dict[str, str] = {}
    for rule in document.get("synchronizationRules", []):
        for mapping in rule.get("objectMappings", []):
            if mapping.get("sourceObjectName") != "User":
                continue
            for item in mapping.get("attributeMappings", []):
                source = item.get("source") or {}
                found[str(item.get("targetAttributeName"))] = str(
                    source.get("expression") or source.get("name") or ""
                )
    return found
