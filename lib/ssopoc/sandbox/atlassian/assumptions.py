"""The emulator's settings: every behaviour that rests on an unconfirmed fact.

atlassian.md §8 marks some behaviours **(U)**: no source confirms them, so they
are settings here, each with a documented default, and each is surfaced as an
assumption (`/_sandbox/health`, `GET /_atlassian/assumptions` and the client's
`Atlassian.assumptions()`), so that a notebook can say what it assumed.

Values come from params `sandbox.emulators.atlassian` (for example
`-p sandbox.emulators.atlassian.delete_semantics=legacy`). A running emulator
also takes overrides on `PUT /_atlassian/assumptions`; `/_sandbox/reset` drops
them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ssopoc.errors import ConfigError

# Where each setting comes from: the §8 bullet, and the facts behind it.
SOURCES: dict[str, str] = {
    "validation_details": "§8 Users POST (U detail text); §9 Q5",
    "external_account_on_create": "§8 Account linking (U); §2, §9 Q3",
    "unique_external_id": "§8 Uniqueness (U externalId); [S] KBFAILUPD, §9 Q6",
    "uniqueness_case_insensitive": "§8 Uniqueness; §1.3 [U] case; §9 Q6",
    "sort_by": "§8 GET /Users: ignore sortBy, or 400 (U)",
    "max_page_size": "§8 GET /Users: count capped at 100 (U cap); §9 Q2",
    "filter_max_results": "§8 Discovery: filter maxResults 100 (U); §9 Q1",
    "accept_string_booleans": "§8 PATCH: string booleans for active (U); §1.5",
    "external_update_drops_groups": "§8 Updates to external users (U); §2, §9 Q4",
    "external_inactive_status": "§8 active:false for external accounts (U); §1.5",
    "delete_semantics": "§8 DELETE: current vs legacy; §1.5 [C] OAS22, JSUP",
    "group_name_case_insensitive": "§8 Groups POST: 409 case rule (U)",
    "group_rename": "§8 Groups PATCH: rename rejected (U code) or ignored",
    "group_rename_scim_type": "§8 Groups PATCH: rename rejected (U code)",
    "max_users_per_directory": "§8 Limits; §1.8 [C] UUP",
    "max_members_per_group": "§8 Limits; §1.8 [C] UUP",
    "over_limit": "§8 Limits: API behaviour over the limit (U)",
    "rate_limit_per_minute": "§8 Optional rate limiting (U for SCIM); §1.8",
    "jira_search_scope": "§8 Jira user search: site scoping (U); §9 Q7",
    "jira_hidden_email_exact_match": "§8 Jira: exact match on hidden email (U); §5",
    "jira_unknown_account_status": "§5 Get user: status for unknown id [U]",
    "last_active_lag_seconds": "§8 last-active-dates: configurable <=24 h lag",
    "last_active_for_external": "§4 last-active-dates for external accounts [U]",
    "location_base": "§8 meta.location (emulator URL stands in for api.atlassian.com)",
}


class AtlassianAssumptions(BaseModel):
    """The settings of the Atlassian emulator, each with its documented default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    validation_details: dict[str, str] = Field(
        default_factory=lambda: {
            "missing_user_name": "userName is required",
            "missing_emails": "emails is required and must not be empty",
            "primary_email": "exactly one email must be marked primary",
        }
    )
    """The 400 `invalidValue` detail texts of a bad POST/PUT /Users."""

    external_account_on_create: Literal["create", "on_first_login"] = "create"
    """For a new email on an unverified domain: create an unverified external
    account at SCIM create time, or leave the record unlinked until the person
    signs up (`POST /_atlassian/signup`)."""

    unique_external_id: bool = True
    """Whether a duplicate `externalId` answers 409 like a duplicate email."""

    uniqueness_case_insensitive: bool = True
    """Whether `userName`, email and `externalId` clash regardless of case."""

    sort_by: Literal["ignore", "reject"] = "ignore"
    """What `sortBy` on a list does: ignored, or 400 `invalidValue`."""

    max_page_size: int = Field(default=100, ge=1, le=10_000)
    """The cap on `count`; the default page size is always 100 (KBFETCH)."""

    filter_max_results: int = Field(default=100, ge=1, le=10_000)
    """`filter.maxResults` advertised in /ServiceProviderConfig."""

    accept_string_booleans: bool = True
    """Whether `"True"`/`"False"` are accepted for `active` (an Entra quirk)."""

    external_update_drops_groups: bool = False
    """Whether any attribute update to an external user's record drops its SCIM
    group memberships (current KB wording), not only an email change."""

    external_inactive_status: Literal["suspended", "deactivated"] = "suspended"
    """The org directory status of an external account whose record is set
    `active:false`; its global account is never touched."""

    delete_semantics: Literal["current", "legacy"] = "current"
    """`current`: DELETE removes and unlinks the record and deactivates a managed
    account. `legacy`: DELETE only deactivates; the record answers 404 after."""

    group_name_case_insensitive: bool = True
    """Whether group names clash regardless of case (409 on create)."""

    group_rename: Literal["reject", "ignore"] = "reject"
    """What a PATCH/PUT replacing `displayName` with a new name does."""

    group_rename_scim_type: str = "mutability"
    """The `scimType` of the 400 answering a rename when it is rejected."""

    max_users_per_directory: int = Field(default=150_000, ge=1)
    """The directory size limit (UUP)."""

    max_members_per_group: int = Field(default=35_000, ge=1)
    """The group size limit (UUP)."""

    over_limit: Literal["silent", "reject"] = "silent"
    """Over a limit: `silent` stores the record but does not sync it (no account,
    no membership); `reject` answers 400 `tooMany`."""

    rate_limit_per_minute: int | None = Field(default=None, ge=1)
    """Requests per minute per key before 429 with `Retry-After` and
    `X-RateLimit-*`; None turns rate limiting off."""

    jira_search_scope: Literal["site", "all"] = "site"
    """Whether Jira user search returns only users with access to the site."""

    jira_hidden_email_exact_match: bool = True
    """Whether Jira user search finds a user with a hidden email by the exact
    email (partial email matches never do)."""

    jira_unknown_account_status: int = Field(default=404, ge=400, le=499)
    """The status of `GET /rest/api/3/user` for an accountId unknown to the site."""

    last_active_lag_seconds: int = Field(default=0, ge=0, le=86_400)
    """How long a sign-in takes to show in last-active-dates (at most 24 h)."""

    last_active_for_external: bool = True
    """Whether last-active-dates answers for external (unmanaged) accounts;
    when false it answers 404 for them."""

    location_base: Literal["emulator", "atlassian"] = "emulator"
    """The base of `meta.location` and `$ref`: the emulator's own URL, so that
    a client can follow it, or the literal `https://api.atlassian.com`."""


def load_assumptions(
    config: dict[str, Any], overrides: dict[str, Any] | None = None
) -> AtlassianAssumptions:
    """Validate the emulator's settings; raise `ConfigError` naming a bad one."""
    merged = {**config, **(overrides or {})}
    try:
        return AtlassianAssumptions.model_validate(merged)
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "atlassian"
        raise ConfigError(
            f"sandbox.emulators.atlassian.{name}",
            first["msg"].rstrip("."),
            "use a value documented in ssopoc.sandbox.atlassian.assumptions",
        ) from None


def describe(assumptions: AtlassianAssumptions) -> list[dict[str, Any]]:
    """Each setting as `{name, value, default, source}`, for notebooks to show."""
    default = AtlassianAssumptions()
    return [
        {
            "name": name,
            "value": getattr(assumptions, name),
            "default": getattr(default, name),
            "source": SOURCES[name],
        }
        for name in type(assumptions).model_fields
    ]
