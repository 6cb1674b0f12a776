"""What the Atlassian side shows about a provisioned person, recorded as evidence.

The same checks serve both routes: the SCIM record and its link to an Atlassian
account, the account's kind (managed or external), product access, and sign-in.
Each expectation comes from atlassian.md and is cited in the evidence's source.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from ssopoc import redact
from ssopoc.atlassian import AccountProof, Atlassian, account_id_of, primary_email_of
from ssopoc.display import Table
from ssopoc.errors import ConfigError, ServiceError
from ssopoc.evidence import Evidence, Record
from ssopoc.workbook import Workbook

log = logging.getLogger(__name__)
console = logging.getLogger("ssopoc.console")

PRODUCTS = ("jira-software", "confluence")
CLASSIFY = "atlassian.md §8 Classification: managed iff verified and claimed domain"


@dataclass
class Person:
    """What the notebook has learnt about one provisioned person so far."""

    upn: str
    email: str
    entra_id: str = ""
    alias: str = ""
    scim_id: str = ""
    account_id: str | None = None
    kind: str = ""
    records: dict[str, Record] = field(default_factory=dict)


class AtlassianProof:
    """Checks of one person on the Atlassian side, each recorded as evidence."""

    def __init__(self, wb: Workbook, atlassian: Atlassian) -> None:
        self.wb = wb
        self.atlassian = atlassian
        self.evidence: Evidence = wb.evidence

    def verified_domains(self) -> set[str]:
        """The org's verified domains, the only ones whose accounts can be managed.

        The domains API shows verification, not whether accounts were claimed
        (a verified but unclaimed domain still yields external accounts:
        atlassian.md §4 [U], ACC2172).
        """
        verified = set()
        for domain in self.atlassian.admin.domains():
            attributes = domain.get("attributes") or {}
            claim = attributes.get("claim") or {}
            if claim.get("status") == "verified":
                verified.add(str(attributes.get("name", "")).lower())
        return verified

    def scim_record(self, person: Person) -> Table:
        """Find the person's SCIM record by userName and note its account link."""
        found = self.atlassian.scim.find_user(user_name=person.upn)
        person.records["scim"] = self.evidence.check(
            "user is in the Atlassian SCIM directory",
            "found by userName",
            "found by userName" if found else "not found",
            source="atlassian.md §1.4: filter userName eq",
        )
        if found is None:
            return Table(("attribute", "value"), [("userName", person.upn)])
        person.scim_id = str(found.id)
        person.account_id = account_id_of(found)
        self.evidence.observe("atlassianAccountId", person.account_id or "unlinked")
        rows = [
            ("id", found.id),
            ("userName", found.user_name),
            ("primary email", primary_email_of(found)),
            ("active", found.active),
            ("atlassianAccountId", person.account_id or "— (unlinked)"),
        ]
        return Table(("attribute", "value"), rows)

    def account_kind(self, person: Person) -> Table:
        """Record whether the account is managed or external, against the rule."""
        domain = person.email.rpartition("@")[2].lower()
        expected = "managed" if domain in self.verified_domains() else "external"
        proof = self.atlassian.admin.prove_account(person.email)
        observed = "no account"
        if proof.exists:
            observed = "managed" if proof.managed else "external"
        person.kind = observed
        person.records["kind"] = self.evidence.check(
            f"account of {domain} is {expected}", expected, observed, source=CLASSIFY
        )
        return self._proof_table(proof)

    def product_access(
        self, person: Person, group: str | None, simulate_grant: bool
    ) -> Table:
        """Check Jira and Confluence access; in the sandbox an admin grant is simulated.

        Product access comes only from synced group membership (atlassian.md §1.6,
        §2): a user assigned without a group gets none, which is recorded as found.
        """
        if group and simulate_grant:
            answer = self.atlassian.simulate_group_access(group, list(PRODUCTS))
            self.evidence.observe(
                "SIMULATED admin step: group granted Jira and Confluence",
                f"{group}: HTTP {answer.get('httpStatus')}",
                source="admin.atlassian.com > Directory > Groups > Product access",
            )
        proof = self.atlassian.admin.prove_account(person.email)
        fix = (
            f"grant the synced group {group} product access in admin.atlassian.com"
            if group
            else "assign through a group: product access comes from groups (§1.6)"
        )
        for product in PRODUCTS:
            person.records[product] = self.evidence.check(
                f"{product} access in the org directory",
                "granted",
                "granted" if proof.has_access(product) else "none",
                source=fix,
            )
        if proof.account_id:
            roles = self.atlassian.jira.application_roles(proof.account_id)
            self.evidence.check(
                "Jira lists the user with the jira-software role",
                "jira-software",
                "jira-software" if "jira-software" in roles else f"roles {roles}",
                source="atlassian.md §5: GET /rest/api/3/user?expand=applicationRoles",
            )
            user = self.atlassian.confluence.get_user(proof.account_id)
            self.evidence.check(
                "Confluence knows the user by accountId",
                proof.account_id,
                user.get("accountId"),
                source="atlassian.md §5: GET /wiki/rest/api/user?accountId=",
            )
        return self._proof_table(proof)

    def login(self, person: Person, how: str, timeout: float) -> Table:
        """Show that the person can sign in: simulated, waited for, or skipped.

        `simulate` (sandbox): an external account sets its own password and signs
        in with it; a managed account on an SSO-enforced domain signs in through
        SSO (atlassian.md §2, [C] VERIFY, EXTUSERS). `wait` (live): poll the
        last-active dates while a person signs in (§4, [C] LASTACT).
        """
        criterion = "the user can sign in and use Jira"
        if how == "skip":
            self.evidence.skip(criterion, "login_check is skip")
            return Table(("login", "outcome"), [("skipped", "login_check is skip")])
        if how == "simulate":
            return self._simulated_login(person, criterion)
        if how != "wait":
            raise ConfigError(
                "login_check", f"{how!r} is not known", "use simulate, wait or skip"
            )
        return self._wait_for_login(person, criterion, timeout)

    def _simulated_login(self, person: Person, criterion: str) -> Table:
        if self.wb.mode != "sandbox":
            raise ConfigError(
                "login_check", "is simulate in live mode", "use wait or skip"
            )
        rows = []
        if person.kind == "managed":
            answer = self.atlassian.simulate_login(
                person.email, method="sso", product="jira-software"
            )
        else:
            password = secrets.token_urlsafe(18)
            redact.register(password)
            signup = self.atlassian.simulate_signup(person.email, password)
            rows.append(("SIMULATED sign-up (own password)", signup.get("httpStatus")))
            answer = self.atlassian.simulate_login(
                person.email, password=password, product="jira-software"
            )
        rows.append(("SIMULATED sign-in", answer.get("signedIn")))
        proof = self.atlassian.admin.prove_account(person.email)
        person.records["login"] = self.evidence.check(
            f"{criterion} (SIMULATED)",
            "signed in, Jira last-active recorded",
            "signed in, Jira last-active recorded"
            if answer.get("signedIn") and "jira-software" in proof.last_active
            else f"refused: {answer.get('reason') or 'no Jira activity'}",
            source="simulated by the sandbox; atlassian.md §8 simulated login",
        )
        rows.append(("last-active products", ", ".join(sorted(proof.last_active))))
        return Table(("login", "outcome"), rows)

    def _wait_for_login(self, person: Person, criterion: str, timeout: float) -> Table:
        console.info(
            "sign in as %s at the Jira site now; waiting up to %.0fs for its "
            "last-active date (it can lag by hours, atlassian.md §8)",
            person.email,
            timeout,
        )
        deadline = time.monotonic() + timeout
        proof = self.atlassian.admin.prove_account(person.email)
        while not proof.has_logged_in and time.monotonic() < deadline:
            time.sleep(min(30.0, max(deadline - time.monotonic(), 0.1)))
            proof = self.atlassian.admin.prove_account(person.email)
        person.records["login"] = self.evidence.check(
            criterion,
            "a last-active date",
            ", ".join(sorted(proof.last_active)) or f"none after {timeout:.0f}s",
            source="atlassian.md §4: last-active-dates",
        )
        return self._proof_table(proof)

    @staticmethod
    def _proof_table(proof: AccountProof) -> Table:
        rows: list[tuple[str, Any]] = [
            ("email", proof.email),
            ("exists", proof.exists),
            ("accountId", proof.account_id or "—"),
            ("claimStatus", proof.claim_status or "—"),
            ("status", proof.status or "—"),
            ("products", ", ".join(proof.products) or "none"),
            ("last active", ", ".join(sorted(proof.last_active)) or "never"),
        ]
        return Table(("org directory", "value"), rows)


def guarded(evidence: Evidence, criterion: str, error: ServiceError) -> Table:
    """Record a service error as an ERROR and show it as a one-row table."""
    evidence.error(criterion, error)
    return Table(("step", "error"), [(criterion, str(error))])
