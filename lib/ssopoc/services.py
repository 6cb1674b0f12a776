"""Where each service lives in this run: sandbox emulators or the live tenants.

Notebooks and clients ask for a service by name and get its base URL; the same code
then serves sandbox and live mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from ssopoc.settings import Settings

SERVICES = ("entra_login", "graph", "atlassian_api", "jira", "confluence", "keycloak")

# Which sandbox emulator stands in for each service.
EMULATOR_OF = {
    "entra_login": "entra",
    "graph": "entra",
    "atlassian_api": "atlassian",
    "jira": "atlassian",
    "confluence": "atlassian",
    "keycloak": "keycloak",
}

# Which services each route uses in live mode.
ROUTE_SERVICES = {
    "entra": ("entra_login", "graph", "atlassian_api", "jira", "confluence"),
    "keycloak": ("keycloak", "atlassian_api", "jira", "confluence"),
}


@dataclass(frozen=True)
class Endpoint:
    """One service's base URL and the emulator behind it (None when live)."""

    service: str
    base_url: str
    emulator: str | None


def endpoints(
    settings: Settings, sandbox_urls: dict[str, str] | None
) -> list[Endpoint]:
    """The endpoints this run uses, in a stable order.

    In sandbox mode every service maps to its emulator's URL (Jira and Confluence
    share the Atlassian emulator, as they share a site URL in the cloud). In live
    mode only the services of `route` are listed, from the `live` parameters.
    """
    if settings.mode == "sandbox":
        urls = sandbox_urls or {}
        return [
            Endpoint(name, urls[EMULATOR_OF[name]], EMULATOR_OF[name])
            for name in SERVICES
            if EMULATOR_OF[name] in urls
        ]
    live = settings.params.live
    known = {
        "entra_login": live.entra_authority,
        "graph": live.graph_url,
        "atlassian_api": live.atlassian_api_url,
        "jira": live.jira_url,
        "confluence": live.confluence_url,
        "keycloak": live.keycloak_url,
    }
    return [
        Endpoint(name, str(known[name]).rstrip("/"), None)
        for name in ROUTE_SERVICES[settings.params.route]
        if known[name]
    ]
