"""The Entra ID → Atlassian Cloud route, step by step, for notebooks 01 and 02.

Each method is one step of a notebook: it calls the clients, records what it
expected and observed as evidence, and returns a table to display. Notebook cells
stay one or two lines long.
"""

from __future__ import annotations

import logging
from typing import Any

from ssopoc.atlassian import Atlassian
from ssopoc.display import Table
from ssopoc.entra import EntraClient
from ssopoc.errors import ConfigError, ServiceError
from ssopoc.poc.proof import AtlassianProof, Person
from ssopoc.workbook import Workbook

log = logging.getLogger(__name__)

APP_NAME = "Atlassian Cloud"
EMAIL_TARGET = 'emails[type eq "work"].value'
CLAIM_STEP1 = (
    "A user created in Entra ID is pushed to Jira Cloud by SCIM provisioning, "
    "and can log in."
)


class EntraRoute:
    """The clients, the Atlassian Cloud app and job, and the person under test."""

    def __init__(self, wb: Workbook, entra: EntraClient, atlassian: Atlassian) -> None:
        self.wb = wb
        self.entra = entra
        self.atlassian = atlassian
        self.proof = AtlassianProof(wb, atlassian)
        self.app = entra.apps.enterprise_app(APP_NAME)
        self.sp_id = str(self.app["id"])
        self.job_id = str(entra.provisioning.job(self.sp_id)["id"])
        self.person: Person | None = None
        self.group: dict[str, Any] | None = None

    @classmethod
    def open(cls, wb: Workbook) -> EntraRoute:
        """Connect to Entra ID and Atlassian Cloud (sandbox or live) for `wb`."""
        return cls(wb, EntraClient.from_workbook(wb), Atlassian.from_workbook(wb))

    def assumptions(self) -> Table:
        """The behaviours the sandbox assumes where no source confirmed them.

        In live mode the real services decide, and this lists what to verify.
        """
        rows: list[tuple[str, str, str]] = []
        for item in self.atlassian.assumptions():
            rows.append(("Atlassian", str(item.get("name")), str(item.get("value"))))
        if self.wb.mode == "sandbox":
            entra_rows = self.entra.sandbox_assumptions().rows
            rows += [("Entra ID", row[0], row[1]) for row in entra_rows]
        return Table(("service", "assumption", "value in this run"), rows)

    # -- the person ------------------------------------------------------------------

    def email_for(self, alias: str, email: str, domain: str) -> str:
        """The email to use: `email` if given, else `<prefix><alias>@<domain>`.

        Live mode needs an address the engineer owns, so it must be given.
        """
        if email:
            return email
        if self.wb.mode == "live":
            raise ConfigError(
                "email",
                "is empty in live mode",
                "set notebooks.NN.email to an address you own and can sign in with",
            )
        return f"{self.wb.prefix}{alias}@{domain}".lower()

    def create_user(
        self,
        alias: str,
        email: str,
        *,
        mail: str | None = "",
        existing_upn: str = "",
        **fields: Any,
    ) -> Table:
        """Create the test user (with the run prefix), or pick up one made by hand.

        `mail` is the user's `mail`: `""` means `email`, None means no mail.
        `fields` go to `EntraClient.users.create`.
        """
        if existing_upn:
            found = self.entra.users.find(upn=existing_upn)
            self.wb.evidence.check(
                "the hand-made user exists in Entra ID", "found", "found" if found else
                "not found", source="existing_user_upn",
            )  # fmt: skip
            if not found:
                raise ConfigError(
                    "existing_user_upn",
                    f"no user {existing_upn!r} in the tenant",
                    "give the UPN of a user made in the Entra portal, or leave empty",
                )
            user = found[0]
            self.wb.evidence.observe(
                "hand-made user: clean-up leaves it and its assignment (no run prefix)",
                user["userPrincipalName"],
            )
            email = email or str(user.get("mail") or "")
        else:
            user = self.entra.users.create(
                alias, mail=email if mail == "" else mail, **fields
            )
            self.wb.evidence.check(
                "the test user carries the run prefix",
                f"{self.wb.prefix}…",
                user["userPrincipalName"][: len(self.wb.prefix)] + "…",
            )
        self.person = Person(
            upn=str(user["userPrincipalName"]),
            email=email,
            entra_id=str(user["id"]),
            alias=alias,
        )
        rows = [
            (key, user.get(key))
            for key in ("userPrincipalName", "mail", "otherMails", "accountEnabled")
        ]
        extension = (user.get("onPremisesExtensionAttributes") or {}).get(
            "extensionAttribute1"
        )
        rows.append(("extensionAttribute1", extension))
        return Table(("Entra ID user", "value"), rows)

    def _person(self) -> Person:
        if self.person is None:
            raise ConfigError(
                "notebook order", "no user yet", "run the create-user cell first"
            )
        return self.person

    # -- assignment and provisioning -------------------------------------------------

    def assign(self, by: str) -> Table:
        """Assign the user to the Atlassian Cloud app, directly or through a group.

        The group is named after the user, `<prefix><alias>-atlassian-users`.
        """
        person = self._person()
        group_alias = f"{person.alias}-atlassian-users"
        if by == "user":
            self.entra.apps.assign_user(self.sp_id, person.entra_id)
            principal = person.entra_id
        elif by == "group":
            self.group = self.entra.apps.create_group(group_alias)
            self.entra.apps.add_member(self.group["id"], person.entra_id)
            self.entra.apps.assign_group(self.sp_id, self.group["id"])
            principal = str(self.group["id"])
        else:
            raise ConfigError("assign_by", f"{by!r} is not known", "use user or group")
        assigned = {
            str(a.get("principalId")) for a in self.entra.apps.assignments(self.sp_id)
        }
        self.wb.evidence.check(
            f"the {by} is assigned to the {APP_NAME} app",
            "assigned",
            "assigned" if principal in assigned else "not assigned",
            source="microsoft.md §5: scope is assigned users and groups",
        )
        rows = [("assigned by", by), ("principal", principal)]
        if self.group:
            rows.append(("group", self.group["displayName"]))
        return Table(("assignment", "value"), rows)

    def provision(self, trigger: str, timeout: float) -> Table:
        """Provision now: on demand (user, then its group), or by a whole cycle."""
        person = self._person()
        if trigger == "on_demand":
            return self._on_demand(person)
        if trigger != "cycle":
            raise ConfigError(
                "trigger", f"{trigger!r} is not known", "use on_demand or cycle"
            )
        job = self.entra.provisioning.job(self.sp_id, self.job_id)
        was_running = (job.get("status") or {}).get("code") == "Active"
        self.entra.provisioning.start(self.sp_id, self.job_id)
        try:
            last = self.entra.provisioning.wait_for_cycle(
                self.sp_id,
                self.job_id,
                timeout=timeout,
                run_now=self.wb.mode == "sandbox",
            )
        except ServiceError as error:
            self.wb.evidence.error("a provisioning cycle ends", error)
            return Table(("cycle", "value"), [("outcome", str(error))])
        finally:
            # The job goes back to how the run found it: a paused job stays paused.
            if not was_running:
                self.entra.provisioning.pause(self.sp_id, self.job_id)
        self.wb.evidence.check(
            "a provisioning cycle ends", "Succeeded", last.get("state")
        )
        return Table(("cycle", "value"), sorted(last.items()))

    def _on_demand(self, person: Person) -> Table:
        outcomes = [("User", person.entra_id, "provision on demand pushes the user")]
        if self.group is not None:
            outcomes.append(
                (
                    "Group",
                    str(self.group["id"]),
                    "provision on demand pushes the group and its membership",
                )
            )
        rows = []
        for kind, object_id, criterion in outcomes:
            outcome = self.entra.provisioning.provision_on_demand(
                self.sp_id, object_id, self.job_id, object_type=kind
            )
            self.wb.evidence.check(
                criterion,
                "Success",
                f"{outcome.result} {outcome.action} {outcome.error_code}".strip(),
                compare=lambda _e, seen: seen.startswith("Success"),
                source="microsoft.md §3.7; §4.5 group mappings",
            )
            rows += [(kind, *row) for row in outcome.steps.rows]
        return Table(("object", "step", "type", "status", "description"), rows)

    def provisioning_log(self) -> Table:
        """The provisioning log entries of the user, newest first."""
        person = self._person()
        entries = self.entra.provisioning.logs_for_user(
            person.entra_id, job_id=self.job_id
        )
        statuses = [
            str((entry.get("provisioningStatusInfo") or {}).get("status"))
            for entry in entries
        ]
        self.wb.evidence.check(
            "the provisioning log has a successful entry for the user",
            "success",
            "success" if "success" in statuses else ", ".join(statuses) or "no entry",
            source="microsoft.md §3.8: GET /auditLogs/provisioning",
        )
        return self.entra.provisioning.logs_table(entries)

    # -- the Atlassian side ----------------------------------------------------------

    def find_in_atlassian(self) -> Table:
        """The user's SCIM record in Atlassian, with its account link."""
        return self.proof.scim_record(self._person())

    def account_kind(self) -> Table:
        """Whether the Atlassian account is managed or external."""
        return self.proof.account_kind(self._person())

    def product_access(self) -> Table:
        """Jira and Confluence access (a simulated admin grant in the sandbox)."""
        group = str(self.group["displayName"]) if self.group else None
        return self.proof.product_access(
            self._person(), group, simulate_grant=self.wb.mode == "sandbox"
        )

    def login(self, how: str, timeout: float) -> Table:
        """Sign in: `simulate` (sandbox), `wait` (live) or `skip`."""
        return self.proof.login(self._person(), how, timeout)

    def verdict_step1(self) -> Table:
        """Record the verdict on step 1's claim and show the key values."""
        person = self._person()
        keys = ("scim", "jira-software", "login")
        supporting = [person.records[k] for k in keys if k in person.records]
        values = {
            "userPrincipalName": person.upn,
            "email": person.email,
            "atlassianAccountId": person.account_id or "unlinked",
            "account type": person.kind or "unknown",
        }
        record = self.wb.evidence.verdict(CLAIM_STEP1, supporting, values)
        return Table(
            ("claim", "verdict"), [(CLAIM_STEP1, record.status), *values.items()]
        )
