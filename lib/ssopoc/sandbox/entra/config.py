"""Settings of the Entra emulator, and the assumptions it makes where facts are [U].

Every setting is read from `sandbox.emulators.entra` in the params file (the host
hands it over as `EmulatorContext.config`). A setting whose fact is unconfirmed
in microsoft.md is an *assumption*: `assumptions()` lists each one with its current
value, the health document publishes that list, and
`ssopoc.entra.EntraClient.sandbox_assumptions()` shows it in notebooks.

Profiles: `sandbox` (the default) keeps cycles and retries short so a run finishes
in seconds; `fidelity` uses the live service's timings (40-minute cycles, 6-hour
first escrow retry, daily cycles in quarantine).

Settings (default in sandbox / fidelity where they differ):

- `profile`: `sandbox` | `fidelity`.
- `cycle_interval_seconds`: 5 / 2400, between cycles of a started job [C §4.5].
- `escrow_retry_seconds`: 0 / 21600, before a failed object is retried [C §5].
- `quarantine_interval_seconds`: 30 / 86400, between cycles in quarantine [C §5].
- `token_lifetime_seconds`: 3599 [C §1.3].
- `on_demand_limit`, `on_demand_window_seconds`: 5 per 10 [C §3.7].
- `on_demand_group_members`: 5, members of a group provisioned on demand with it
  [C §3.7; atlassian.md §6 MSONDEMAND].
- Assumptions [U]: `template_id` ("atlassianCloud"), `status_after_secrets`
  ("Paused"), `sync_all` (false), `scim_boolean_style` ("string"),
  `multi_valued_single_value` ("fail"), `unverified_mail` ("accept"),
  `app_only_purge` (true), `provisioning_log_page_size` (50), `schema_fixture`
  ("": the packaged fixture), `group_out_of_scope` ("delete"). `ASSUMPTIONS` says
  what each decides.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from ssopoc.errors import ConfigError

WHERE = "sandbox.emulators.entra"

# Settings that depend on the profile: (sandbox value, fidelity value).
_PROFILE_DEFAULTS: dict[str, tuple[float, float]] = {
    # microsoft.md §4.5 [C]: incremental cycles about every 40 minutes.
    "cycle_interval_seconds": (5.0, 2400.0),
    # microsoft.md §5 [C]: first retry of an escrowed object after 6 hours.
    "escrow_retry_seconds": (0.0, 21600.0),
    # microsoft.md §5 [C]: cycle frequency decays to once a day in quarantine.
    "quarantine_interval_seconds": (30.0, 86400.0),
}


@dataclass(frozen=True)
class EntraConfig:
    """The emulator's settings; see the module docstring and `ASSUMPTIONS`."""

    profile: Literal["sandbox", "fidelity"] = "sandbox"
    cycle_interval_seconds: float = 5.0
    escrow_retry_seconds: float = 0.0
    quarantine_interval_seconds: float = 30.0
    # microsoft.md §1.3 [C]: tokens live 3599 seconds.
    token_lifetime_seconds: int = 3599
    # microsoft.md §3.7 [C]: provisionOnDemand allows 5 requests per 10 seconds.
    on_demand_limit: int = 5
    on_demand_window_seconds: float = 10.0
    # microsoft.md §3.7 [C]: one group with at most 5 members per on-demand request.
    on_demand_group_members: int = 5
    # The assumptions ([U]); ASSUMPTIONS below says what each one stands for.
    template_id: str = "atlassianCloud"
    status_after_secrets: Literal["Paused", "NotRun", "NotConfigured"] = "Paused"
    sync_all: bool = False
    scim_boolean_style: Literal["string", "boolean"] = "string"
    multi_valued_single_value: Literal["fail", "allow"] = "fail"
    unverified_mail: Literal["accept", "reject"] = "accept"
    app_only_purge: bool = True
    provisioning_log_page_size: int = 50
    schema_fixture: str = ""
    group_out_of_scope: Literal["delete", "keep"] = "delete"

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> EntraConfig:
        """Validate `sandbox.emulators.entra` and fill in the profile's defaults.

        Raises `ConfigError` naming the setting, the problem and the fix.
        """
        known = {f.name: f for f in fields(cls)}
        for key in raw:
            if key not in known:
                raise ConfigError(
                    f"{WHERE}.{key}",
                    "is not a known setting",
                    f"use one of: {', '.join(sorted(known))}",
                )
        profile = raw.get("profile", "sandbox")
        if profile not in ("sandbox", "fidelity"):
            raise ConfigError(
                f"{WHERE}.profile", f"{profile!r} is unknown", "use sandbox or fidelity"
            )
        values: dict[str, Any] = {"profile": profile}
        for name, pair in _PROFILE_DEFAULTS.items():
            values[name] = pair[0] if profile == "sandbox" else pair[1]
        for key, value in raw.items():
            values[key] = _checked(key, value, cls.__dataclass_fields__[key].default)
        return cls(**values)


_CHOICES: dict[str, tuple[str, ...]] = {
    "status_after_secrets": ("Paused", "NotRun", "NotConfigured"),
    "scim_boolean_style": ("string", "boolean"),
    "multi_valued_single_value": ("fail", "allow"),
    "unverified_mail": ("accept", "reject"),
    "group_out_of_scope": ("delete", "keep"),
}


def _checked(key: str, value: Any, default: Any) -> Any:
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(
            f"{WHERE}.{key}",
            f"{value!r} is not allowed",
            f"use one of: {', '.join(_CHOICES[key])}",
        )
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(
                f"{WHERE}.{key}", f"{value!r} is not a boolean", "give true or false"
            )
        return value
    if isinstance(default, int | float) and key != "profile":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(
                f"{WHERE}.{key}", f"{value!r} is not a number >= 0", "give a number"
            )
        return type(default)(value)
    if not isinstance(value, str):
        raise ConfigError(f"{WHERE}.{key}", f"{value!r} is not text", "give text")
    return value


@dataclass(frozen=True)
class Assumption:
    """One [U] fact the emulator had to decide, and where it is documented."""

    setting: str
    fact: str
    meaning: str


ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption(
        "template_id",
        "microsoft.md §3.2, §8.1 [U]",
        "the Atlassian Cloud synchronization templateId (job ids start with it)",
    ),
    Assumption(
        "status_after_secrets",
        "microsoft.md §3.3, §7 [U]",
        "a job's status.code once secrets are saved and before it is started",
    ),
    Assumption(
        "sync_all",
        "microsoft.md §3.3 [U]",
        "the seeded SyncAll secret: false means only assigned users are in scope",
    ),
    Assumption(
        "scim_boolean_style",
        "microsoft.md §5, §8.6 [U]",
        'string sends booleans as "False" and capitalised PATCH ops (no '
        "aadOptscim062020 flag); boolean sends false and lower-case ops",
    ),
    Assumption(
        "multi_valued_single_value",
        "microsoft.md §4.4, §8.4 [U]",
        "fail: a multi-valued source with one value into a single-valued target "
        "still fails with SchemaPropertyCanOnlyAcceptValue; allow: it flows",
    ),
    Assumption(
        "unverified_mail",
        "microsoft.md §2.2, §8.2 [U]",
        "accept: mail on an unverified domain is kept for a user without Exchange",
    ),
    Assumption(
        "app_only_purge",
        "microsoft.md §2.4 [U]",
        "whether an app may permanently delete users from deletedItems",
    ),
    Assumption(
        "provisioning_log_page_size",
        "microsoft.md §3.8 [U]",
        "entries per page of /auditLogs/provisioning when $top is not given",
    ),
    Assumption(
        "schema_fixture",
        "microsoft.md §4.5, §8.1 [U]",
        "the Atlassian Cloud template schema: default mappings, matching "
        "priorities and target directory name (empty: the packaged fixture)",
    ),
    Assumption(
        "group_out_of_scope",
        "microsoft.md §5 (users only), atlassian.md §1.6 [U]",
        "delete: a provisioned group that is unassigned or fails a scoping filter "
        "is deleted in the target (DELETE /Groups/{id}, its product access goes); "
        "keep: it is left as it is and no longer managed",
    ),
)


def assumptions(config: EntraConfig) -> list[dict[str, Any]]:
    """Each assumption with its current value, for the health document."""
    return [
        {
            "setting": item.setting,
            "value": getattr(config, item.setting) or "(packaged fixture)",
            "fact": item.fact,
            "meaning": item.meaning,
        }
        for item in ASSUMPTIONS
    ]
