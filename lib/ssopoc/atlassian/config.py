"""Where every Atlassian URL, id and key comes from, in sandbox and in live mode.

Sandbox: the emulator's base URL serves the API and both sites; the ids and
keys are the ones the seeded emulator published (`read_identifiers`,
`read_credentials`), so no `.env` is needed. Live: URLs and ids from params
`live.*`, keys from `.env` (`ATLASSIAN_SCIM_TOKEN`, `ATLASSIAN_ORG_API_KEY`,
`JIRA_API_TOKEN`). See the README's live-mode section for where each comes
from in admin.atlassian.com.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import SecretStr

from ssopoc import redact
from ssopoc.errors import ConfigError
from ssopoc.sandbox import SandboxHandle, read_credentials, read_identifiers

if TYPE_CHECKING:
    from ssopoc.workbook import Workbook

_SECRETS = ("atlassian_scim_token", "atlassian_org_api_key", "jira_api_token")


@dataclass(frozen=True)
class AtlassianConfig:
    """The URLs, ids and keys of one Atlassian org, its directory and its site."""

    api_url: str
    org_id: str
    scim_directory_id: str
    jira_url: str
    confluence_url: str
    jira_email: str
    scim_token: SecretStr
    org_api_key: SecretStr
    jira_api_token: SecretStr
    sandbox: bool = False

    @property
    def scim_url(self) -> str:
        """The SCIM base URL: `{api}/scim/directory/{directoryId}` (§1.1)."""
        return f"{self.api_url.rstrip('/')}/scim/directory/{self.scim_directory_id}"

    @classmethod
    def from_values(
        cls,
        *,
        api_url: str,
        org_id: str,
        scim_directory_id: str,
        jira_url: str,
        confluence_url: str,
        jira_email: str,
        scim_token: str | SecretStr,
        org_api_key: str | SecretStr,
        jira_api_token: str | SecretStr,
        sandbox: bool = False,
    ) -> AtlassianConfig:
        """Build from explicit values (tests); plain strings become secrets."""

        def secret(value: str | SecretStr) -> SecretStr:
            held = value if isinstance(value, SecretStr) else SecretStr(value)
            redact.register(held.get_secret_value())
            return held

        return cls(
            api_url=api_url.rstrip("/"),
            org_id=org_id,
            scim_directory_id=scim_directory_id,
            jira_url=jira_url.rstrip("/"),
            confluence_url=confluence_url.rstrip("/"),
            jira_email=jira_email,
            scim_token=secret(scim_token),
            org_api_key=secret(org_api_key),
            jira_api_token=secret(jira_api_token),
            sandbox=sandbox,
        )

    @classmethod
    def from_sandbox(cls, sandbox: SandboxHandle) -> AtlassianConfig:
        """The Atlassian emulator's URLs, seeded ids and keys.

        Raises `ConfigError` when the emulator is not configured or published
        no value of the names the workbook needs.
        """
        ids = read_identifiers(sandbox.state_dir)
        keys = read_credentials(sandbox.state_dir)
        base = sandbox.base_urls.get("atlassian")
        if base is None:
            raise ConfigError(
                "sandbox.ports.atlassian",
                "is not configured, so there is no Atlassian emulator",
                "add `atlassian: 8442` under sandbox.ports",
            )
        for name in (*_SECRETS, "atlassian_org_id", "jira_email"):
            if name not in {**ids, **keys}:
                raise ConfigError(
                    name,
                    "was not published by the Atlassian emulator",
                    "reset the sandbox state (make clean-sandbox) and rerun",
                )
        return cls.from_values(
            api_url=base,
            org_id=ids["atlassian_org_id"],
            scim_directory_id=ids["atlassian_scim_directory_id"],
            jira_url=base,
            confluence_url=base,
            jira_email=ids["jira_email"],
            scim_token=keys["atlassian_scim_token"],
            org_api_key=keys["atlassian_org_api_key"],
            jira_api_token=keys["jira_api_token"],
            sandbox=True,
        )

    @classmethod
    def from_workbook(cls, wb: Workbook) -> AtlassianConfig:
        """Read the configuration of this run's mode.

        Raises `ConfigError` naming the missing parameter or secret and its fix.
        """
        if wb.sandbox is not None:
            return cls.from_sandbox(wb.sandbox)
        live = wb.settings.params.live
        secrets = wb.settings.secrets
        needed = {
            "org_id": live.atlassian_org_id,
            "scim_directory_id": live.atlassian_scim_directory_id,
            "jira_url": live.jira_url,
            "jira_email": live.jira_email,
        }
        for name, value in needed.items():
            if not value:
                field = "atlassian_" + name if "_id" in name else name
                raise ConfigError(
                    f"live.{field}",
                    "is empty",
                    f"set live.{field} in params (see the README, Live mode)",
                )
        held = {name: getattr(secrets, name) for name in _SECRETS}
        for name, value in held.items():
            if value is None:
                raise ConfigError(
                    name.upper(), "is not set", f"set {name.upper()} in .env"
                )
        return cls(
            api_url=live.atlassian_api_url.rstrip("/"),
            org_id=str(live.atlassian_org_id),
            scim_directory_id=str(live.atlassian_scim_directory_id),
            jira_url=str(live.jira_url).rstrip("/"),
            confluence_url=str(live.confluence_url or live.jira_url).rstrip("/"),
            jira_email=str(live.jira_email),
            scim_token=held["atlassian_scim_token"],
            org_api_key=held["atlassian_org_api_key"],
            jira_api_token=held["jira_api_token"],
            sandbox=False,
        )
