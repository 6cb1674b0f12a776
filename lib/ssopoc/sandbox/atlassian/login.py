"""A simulated sign-in, so that "can log in" can be shown offline.

Nothing here is Atlassian's wire format: Atlassian's login is an interactive web
flow. These routes apply the documented rules to the emulator's accounts, and
every answer says `"simulated": true`, so a notebook labels it as such.

- `POST /_atlassian/signup {email, password, name?}`: a person creates an
  Atlassian account, or sets the password of an account SCIM created for them
  (an external account starts unverified, [S] KBEMAILCHG, ACC617). With
  `external_account_on_create: on_first_login`, records left unlinked for this
  email are linked now (U, §9 Q3).
- `POST /_atlassian/login {email, password?, method, product?}`: `method` is
  `password` or `sso`. A managed account whose domain's authentication policy
  enforces SSO cannot use a password; SSO policies do not apply to external
  accounts, which sign in with their own credentials ([C] VERIFY, EXTUSERS). A
  sign-in to a product the account may use records its last-active date
  ([C] LASTACT).
"""

from __future__ import annotations

from typing import Any

from ssopoc.sandbox.atlassian.directory import primary_email
from ssopoc.sandbox.atlassian.tenant import (
    PRODUCTS,
    Tenant,
    check_password,
    hash_password,
    stamp,
)
from ssopoc.sandbox.atlassian.web import HttpProblem, Request, Response


def refuse(status: int, reason: str, message: str) -> HttpProblem:
    """A refused simulated sign-in: machine-readable `reason` and a sentence."""
    body = {"simulated": True, "signedIn": False, "reason": reason, "error": message}
    return HttpProblem(status, body)


def _field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise refuse(400, "bad_request", f"{name} is required and must be a string")
    return value.strip()


def signup(tenant: Tenant, request: Request) -> Response:
    """Create an account, or set the password of one that has none."""
    body = request.json()
    email, password = _field(body, "email"), _field(body, "password")
    if "@" not in email:
        raise refuse(400, "bad_request", f"email {email!r} is not an email address")
    if len(password) < 8:
        raise refuse(400, "bad_request", "password must have at least 8 characters")
    account = tenant.account_by_email(email)
    if account is not None and account["password"]:
        raise refuse(409, "exists", "this account already has a password")
    if (
        account is not None
        and tenant.is_managed(account)
        and tenant.sso_enforced(email)
    ):
        raise refuse(403, "sso_required", "the domain's policy enforces SSO")
    if account is None:
        name = str(body.get("name") or email.partition("@")[0])
        account = tenant.create_account(email, name, verified=True, source="signup")
    account["password"] = hash_password(password)
    account["email_verified"] = True
    linked = _link_waiting_records(tenant, account)
    answer = {
        "simulated": True,
        "accountId": account["account_id"],
        "email": account["email"],
        "emailVerified": True,
        "linkedScimRecords": linked,
    }
    return Response(201, answer)


def _link_waiting_records(tenant: Tenant, account: dict[str, Any]) -> list[str]:
    """Link the unlinked, active records of this email (`on_first_login` mode)."""
    if tenant.assumptions.external_account_on_create != "on_first_login":
        return []
    linked = []
    for directory in tenant.doc["directories"].values():
        for user_id, record in directory["users"].items():
            same = (primary_email(record) or "").lower() == account["email"].lower()
            if same and record.get("active", True) and not directory["links"][user_id]:
                directory["links"][user_id] = account["account_id"]
                tenant.join(account["account_id"], "synced")
                linked.append(user_id)
    return linked


def login(tenant: Tenant, request: Request) -> Response:
    """Sign a person in, by the documented rules, and record product use."""
    body = request.json()
    email = _field(body, "email")
    method = str(body.get("method") or "password")
    product = body.get("product")
    if method not in ("password", "sso"):
        raise refuse(400, "bad_request", "method must be 'password' or 'sso'")
    if product is not None and product not in PRODUCTS:
        raise refuse(400, "bad_request", f"product must be one of {sorted(PRODUCTS)}")
    account = tenant.account_by_email(email)
    if account is None:
        raise refuse(404, "no_account", "no Atlassian account has this email")
    if account["account_status"] != "active":
        raise refuse(403, "deactivated", "this Atlassian account is deactivated")

    managed = tenant.is_managed(account)
    if managed and method == "password" and tenant.sso_enforced(email):
        raise refuse(
            403, "sso_required", "the authentication policy enforces SSO for managed"
            " accounts of this domain; sign in through the identity provider",
        )  # fmt: skip
    if not managed and method == "sso":
        raise refuse(
            403, "not_managed", "SSO policies apply to managed accounts only; an "
            "external account signs in with its own Atlassian credentials",
        )  # fmt: skip
    if method == "password":
        if not account["email_verified"] or not account["password"]:
            raise refuse(403, "unverified", "set a password and verify the email first")
        if not check_password(account["password"], str(body.get("password") or "")):
            raise refuse(401, "bad_password", "the password is wrong")

    account_id = account["account_id"]
    access = tenant.product_access(account_id)
    used = product if product in access else None
    if used is not None:
        tenant.record_activity(account_id, used)
    answer = {
        "simulated": True,
        "signedIn": True,
        "accountId": account_id,
        "method": method,
        "claimStatus": "managed" if managed else "unmanaged",
        "orgStatus": tenant.status(account_id),
        "product": product,
        "productAccess": used is not None,
        "at": stamp(),
    }
    return Response(200, answer)
