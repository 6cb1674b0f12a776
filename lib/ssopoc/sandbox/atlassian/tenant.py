"""The Atlassian side as data: the global account table, the org, its domains.

One JSON document holds everything, so the emulator saves it whole after each
change. The rules here are those of atlassian.md:

- one Atlassian account per email, global across orgs (§3, [S] KB409);
- an account is *managed* iff its email domain is verified **and** claimed by the
  org; everything else, gmail.com and verified-but-unclaimed domains included, is
  *external* (§2, [C] MANAGED; [S] ACC2172);
- org membership and the composite `status` of the org directory (§4, JSADM);
- product access comes from group membership (§1.6, [S] EXTBLOG).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ssopoc.sandbox.atlassian.assumptions import AtlassianAssumptions

PRODUCTS = {"jira-software": "Jira Software", "confluence": "Confluence"}
PUBLIC_DOMAINS = frozenset({"gmail.com", "outlook.com", "yahoo.com", "hotmail.com"})


def now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def stamp(when: datetime | None = None) -> str:
    """An ISO 8601 UTC timestamp with a `Z`, as Atlassian writes them."""
    return (when or now()).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_stamp(text: str) -> datetime:
    """Read a timestamp written by `stamp`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def domain_of(email: str) -> str:
    """The lowercased domain of an email address."""
    return email.rpartition("@")[2].lower()


def digest(secret: str) -> str:
    """The SHA-256 hex digest an API key or token is kept as."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(presented: str, kept: str) -> bool:
    """Compare a presented key with a kept digest in constant time."""
    return hmac.compare_digest(digest(presented), kept)


def hash_password(password: str, salt: str | None = None) -> dict[str, str]:
    """A salted PBKDF2 hash of a simulated password (never stored in clear)."""
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 10_000)
    return {"salt": salt, "hash": digest.hex()}


def check_password(stored: dict[str, str] | None, password: str) -> bool:
    """Whether `password` matches a hash made by `hash_password`."""
    if not stored:
        return False
    candidate = hash_password(password, stored["salt"])["hash"]
    return hmac.compare_digest(candidate, stored["hash"])


class Tenant:
    """The org, its domains, the global accounts and the org's members.

    `doc` is the emulator's whole state document; this class reads and changes
    it in place and never saves it (the emulator does, under its lock).
    """

    def __init__(
        self, doc: dict[str, Any], assumptions: AtlassianAssumptions, seed: int
    ) -> None:
        self.doc = doc
        self.assumptions = assumptions
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"ssopoc:atlassian:{seed}")

    # -- ids ----------------------------------------------------------------

    def new_uuid(self, kind: str) -> str:
        """A UUID that depends only on the seed and how many came before."""
        self.doc["counter"] = self.doc.get("counter", 0) + 1
        return str(uuid.uuid5(self.namespace, f"{kind}:{self.doc['counter']}"))

    def new_account_id(self) -> str:
        """An Atlassian account id (AAID) in the `712020:<uuid>` form."""
        return f"712020:{self.new_uuid('account')}"

    # -- org and domains ------------------------------------------------------

    @property
    def org(self) -> dict[str, Any]:
        """The org record: id, name, domains, org-level group names."""
        org: dict[str, Any] = self.doc["org"]
        return org

    def domain(self, name: str) -> dict[str, Any] | None:
        """The org's record of a domain, or None when the org never added it."""
        for domain in self.org["domains"]:
            if domain["name"] == name.lower():
                found: dict[str, Any] = domain
                return found
        return None

    def is_claimed(self, email: str) -> bool:
        """Whether the email's domain is verified and claimed by the org.

        A public domain can never be verified (atlassian.md §2, [C] VERIFY).
        """
        name = domain_of(email)
        domain = self.domain(name)
        return (
            name not in PUBLIC_DOMAINS
            and domain is not None
            and domain["status"] == "verified"
            and bool(domain["claimed"])
        )

    def sso_enforced(self, email: str) -> bool:
        """Whether the authentication policy of the email's domain enforces SSO."""
        domain = self.domain(domain_of(email))
        return bool(domain and domain.get("sso_enforced"))

    # -- accounts -------------------------------------------------------------

    @property
    def accounts(self) -> dict[str, dict[str, Any]]:
        """Every Atlassian account, by account id."""
        accounts: dict[str, dict[str, Any]] = self.doc["accounts"]
        return accounts

    def key(self, value: str) -> str:
        """How emails and names are compared (case rule of the assumptions)."""
        return value.lower() if self.assumptions.uniqueness_case_insensitive else value

    def account(self, account_id: str | None) -> dict[str, Any] | None:
        """The account with this id, or None."""
        return self.accounts.get(account_id) if account_id else None

    def account_by_email(self, email: str) -> dict[str, Any] | None:
        """The one account holding this email, or None."""
        wanted = email.lower()
        for account in self.accounts.values():
            if account["email"].lower() == wanted:
                return account
        return None

    def is_managed(self, account: dict[str, Any]) -> bool:
        """Managed iff the account's email is on a verified, claimed domain."""
        return self.is_claimed(account["email"])

    def create_account(
        self, email: str, name: str, *, verified: bool, source: str
    ) -> dict[str, Any]:
        """Add a global account; `source` says how (scim, signup, seed)."""
        account_id = self.new_account_id()
        account: dict[str, Any] = {
            "account_id": account_id,
            "email": email,
            "name": name or email.partition("@")[0],
            "account_status": "active",
            "email_verified": verified,
            "password": None,
            "created": stamp(),
            "source": source,
            "direct_products": [],
            "browse_users": False,
        }
        self.accounts[account_id] = account
        return account

    # -- org membership -------------------------------------------------------

    @property
    def members(self) -> dict[str, dict[str, Any]]:
        """The org's members, by account id."""
        members: dict[str, dict[str, Any]] = self.doc["members"]
        return members

    def join(self, account_id: str, source: str | None) -> dict[str, Any]:
        """Make an account an active member of the org (kept if already one)."""
        member = self.members.get(account_id)
        if member is None:
            member = {
                "membership_status": "active",
                "deactivated_in_org": False,
                "added_to_org": stamp(),
                "management_source": source,
                "last_active": {},
            }
            self.members[account_id] = member
        return member

    def status(self, account_id: str) -> str:
        """The composite org `status` of JSADM: active, suspended, deactivated..."""
        account = self.account(account_id)
        member = self.members.get(account_id)
        if account is None:
            return "not_invited"
        if account["account_status"] == "closed":
            return "for_deletion"
        if account["account_status"] != "active":
            return "deactivated"
        if member is None or member["membership_status"] == "no_membership":
            return "not_invited"
        if member.get("deactivated_in_org"):
            return "deactivated"
        if member["membership_status"] == "suspended":
            return "suspended"
        return "active"

    def membership_status(self, account_id: str) -> str:
        """`active`, `suspended` or `no_membership`."""
        member = self.members.get(account_id)
        return member["membership_status"] if member else "no_membership"

    def deactivate(self, account_id: str) -> None:
        """Set a linked record inactive (atlassian.md §8 active:false).

        A managed account is deactivated. An external account keeps its global
        account; only its access to this org goes, as `external_inactive_status`
        says (U).
        """
        account = self.account(account_id)
        if account is None:
            return
        if self.is_managed(account):
            account["account_status"] = "inactive"
            return
        member = self.join(account_id, "synced")
        member["membership_status"] = "suspended"
        if self.assumptions.external_inactive_status == "deactivated":
            member["deactivated_in_org"] = True

    def reactivate(self, account_id: str) -> None:
        """Undo `deactivate` (`active:true` restores)."""
        account = self.account(account_id)
        if account is None:
            return
        if self.is_managed(account):
            account["account_status"] = "active"
        member = self.join(account_id, "synced")
        member["membership_status"] = "active"
        member["deactivated_in_org"] = False

    # -- product access -------------------------------------------------------

    def linked_records(self, account_id: str) -> list[tuple[str, str]]:
        """(directory id, SCIM user id) of every record linked to an account."""
        found = []
        for directory in self.doc["directories"].values():
            for user_id, linked in directory["links"].items():
                if linked == account_id:
                    found.append((directory["id"], user_id))
        return found

    def groups_of_account(self, account_id: str) -> list[dict[str, Any]]:
        """The SCIM groups whose members include a record linked to the account."""
        groups = []
        for directory_id, user_id in self.linked_records(account_id):
            directory = self.doc["directories"][directory_id]
            for group in directory["groups"].values():
                if any(m.get("value") == user_id for m in group.get("members", [])):
                    groups.append(group)
        return groups

    def product_access(self, account_id: str) -> list[str]:
        """The product keys the account may use in this org, from its groups."""
        if self.status(account_id) != "active":
            return []
        account = self.accounts[account_id]
        products = set(account.get("direct_products", []))
        grants = self.doc["grants"]
        for group in self.groups_of_account(account_id):
            products.update(grants.get(group["id"], []))
        return sorted(products)

    def record_activity(self, account_id: str, product: str) -> None:
        """Note that the account used a product now (a simulated sign-in)."""
        member = self.join(account_id, None)
        member["last_active"][product] = stamp()

    def visible_activity(self, account_id: str) -> dict[str, str]:
        """Last-active stamps old enough to show, given the lag assumption."""
        member = self.members.get(account_id)
        if member is None:
            return {}
        lag = timedelta(seconds=self.assumptions.last_active_lag_seconds)
        cutoff = now() - lag
        shown: dict[str, str] = {}
        for product, when in member["last_active"].items():
            if parse_stamp(when) <= cutoff:
                shown[product] = when
        return shown

    # -- troubleshooting log --------------------------------------------------

    def log(self, message: str) -> None:
        """Add a line to the directory troubleshooting log (KBEMAILCHG)."""
        self.doc["log"].append({"time": stamp(), "message": message})
