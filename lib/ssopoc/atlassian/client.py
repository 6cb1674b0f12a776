"""`Atlassian`: the one object notebooks use for every Atlassian check.

The same code serves sandbox and live mode; only `AtlassianConfig` differs.
Every HTTP call goes through `ssopoc.http.make_client` (via `Workbook.client`),
so retries, logging and the transcript are the shared ones.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from ssopoc.atlassian.admin import OrgAdmin
from ssopoc.atlassian.auth import BasicAuth, BearerAuth
from ssopoc.atlassian.config import AtlassianConfig
from ssopoc.atlassian.errors import error_for
from ssopoc.atlassian.scim import ScimDirectory
from ssopoc.atlassian.sites import Confluence, Jira
from ssopoc.errors import ConfigError
from ssopoc.http import make_client
from ssopoc.sandbox.atlassian.assumptions import AtlassianAssumptions, describe
from ssopoc.settings import Retries, Timeouts
from ssopoc.transcript import Transcript

if TYPE_CHECKING:
    from ssopoc.workbook import Workbook

ClientFactory = Callable[[str, str, httpx.Auth | None], httpx.Client]


class Atlassian:
    """SCIM directory, org admin API, Jira and Confluence of one org.

    Attributes: `scim` (`ScimDirectory`), `admin` (`OrgAdmin`), `jira` (`Jira`),
    `confluence` (`Confluence`), `config` (`AtlassianConfig`).

    Example::

        atlassian = Atlassian.from_workbook(wb)
        user = atlassian.scim.find_user(user_name="ann@openmrs.org")
        proof = atlassian.admin.prove_account("ann@openmrs.org")
    """

    def __init__(self, config: AtlassianConfig, make: ClientFactory) -> None:
        self.config = config
        jira_auth = BasicAuth(config.jira_email, config.jira_api_token)
        self._clients = [
            make("atlassian_scim", config.scim_url, BearerAuth(config.scim_token)),
            make("atlassian_api", config.api_url, BearerAuth(config.org_api_key)),
            make("jira", config.jira_url, jira_auth),
            make("confluence", config.confluence_url, jira_auth),
        ]
        self.scim = ScimDirectory(self._clients[0])
        self.admin = OrgAdmin(self._clients[1], config.org_id, config.scim_directory_id)
        self.jira = Jira(self._clients[2])
        self.confluence = Confluence(self._clients[3])
        self._sandbox: httpx.Client | None = None
        if config.sandbox:
            self._sandbox = make("atlassian_sandbox", config.api_url, None)
            self._clients.append(self._sandbox)

    @classmethod
    def from_workbook(cls, wb: Workbook) -> Atlassian:
        """Configure from the workbook's mode, params, secrets and sandbox."""
        config = AtlassianConfig.from_workbook(wb)

        def make(service: str, base_url: str, auth: httpx.Auth | None) -> httpx.Client:
            return wb.client(service, base_url, auth=auth)

        return cls(config, make)

    @classmethod
    def from_values(
        cls,
        config: AtlassianConfig,
        *,
        timeouts: Timeouts | None = None,
        retries: Retries | None = None,
        ca_file: Path | None = None,
        transcript: Transcript | None = None,
    ) -> Atlassian:
        """Configure from explicit values (tests, scripts)."""

        def make(service: str, base_url: str, auth: httpx.Auth | None) -> httpx.Client:
            return make_client(
                service,
                base_url=base_url,
                timeouts=timeouts,
                retries=retries,
                ca_file=ca_file,
                transcript=transcript,
                auth=auth,
            )

        return cls(config, make)

    # -- assumptions and simulated sign-in ------------------------------------

    def assumptions(self) -> list[dict[str, Any]]:
        """The (U) behaviours this run assumes, as `{name, value, default, source}`.

        In the sandbox, the emulator's settings in force; in live mode, the
        defaults, each to be confirmed against the real org.
        """
        if self._sandbox is None:
            return [
                {**item, "value": None, "note": "unconfirmed in live mode"}
                for item in describe(AtlassianAssumptions())
            ]
        response = self._sandbox.get("/_atlassian/assumptions")
        if response.status_code >= 400:
            raise error_for("atlassian_sandbox", response, "restart the sandbox")
        found: list[dict[str, Any]] = response.json()
        return found

    def _control(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._sandbox is None:
            raise ConfigError(
                "mode",
                "is live, and a simulated sign-in exists only in the sandbox",
                "sign in for real in a browser, then check last-active dates",
            )
        response = self._sandbox.post(path, json=body)
        answer: dict[str, Any] = response.json()
        answer["httpStatus"] = response.status_code
        return answer

    def simulate_signup(
        self, email: str, password: str, name: str | None = None
    ) -> dict[str, Any]:
        """SIMULATED: a person creates an account or sets its first password.

        Returns the emulator's answer (`simulated: true`, `accountId`).
        """
        body = {"email": email, "password": password, "name": name}
        return self._control("/_atlassian/signup", body)

    def simulate_login(
        self,
        email: str,
        *,
        password: str | None = None,
        method: str = "password",
        product: str | None = None,
    ) -> dict[str, Any]:
        """SIMULATED: a person signs in, by the documented rules.

        Returns `signedIn`, `reason` when refused, `productAccess`, and
        `simulated: true`, which a notebook must show.
        """
        body = {
            "email": email,
            "password": password,
            "method": method,
            "product": product,
        }
        return self._control("/_atlassian/login", body)

    def simulate_group_access(self, group: str, products: list[str]) -> dict[str, Any]:
        """SIMULATED admin step: give a synced group product access.

        In admin.atlassian.com an admin does this under Directory > Groups >
        group > Product access; product access comes only from group membership
        (atlassian.md §1.6, [S] EXTBLOG). Sandbox only.
        """
        return self._control(
            "/_atlassian/product-access", {"group": group, "products": products}
        )

    # -- lifecycle ------------------------------------------------------------

    def close(self) -> None:
        """Close every HTTP client."""
        for client in self._clients:
            client.close()

    def __enter__(self) -> Atlassian:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
