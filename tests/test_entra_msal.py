"""Unmodified msal against the Entra emulator, over TLS on loopback.

microsoft.md §1 (msal client credentials) and the "Token / msal" bullets of §7.
"""

from __future__ import annotations

import httpx
import msal
import pytest

from ssopoc.http import make_client
from ssopoc.sandbox import SandboxHandle, read_credentials, read_identifiers

SCOPE = ["https://graph.microsoft.com/.default"]


def application(
    sandbox: SandboxHandle, secret: str | None = None, client_id: str | None = None
) -> msal.ConfidentialClientApplication:
    ids = read_identifiers(sandbox.state_dir)
    secrets = read_credentials(sandbox.state_dir)
    return msal.ConfidentialClientApplication(
        client_id or ids["entra_client_id"],
        client_credential=secret or secrets["entra_client_secret"],
        authority=f"{sandbox.base_urls['entra']}/{ids['entra_tenant_id']}",
        http_client=make_client("entra_login", ca_file=sandbox.ca_file),
        instance_discovery=False,
    )


def test_msal_gets_a_token_over_tls(sandbox: SandboxHandle) -> None:
    """msal 1.39 `acquire_token_for_client` gets a Graph token from the emulator."""
    result = application(sandbox).acquire_token_for_client(scopes=SCOPE)

    assert result["token_type"] == "Bearer"
    assert result["expires_in"] > 300
    assert result["token_source"] == "identity_provider"
    assert result["access_token"].count(".") == 2


def test_msal_reuses_its_cached_token(sandbox: SandboxHandle) -> None:
    """§1.4 [C]: tokens with > 5 minutes left come from msal's cache."""
    app = application(sandbox)
    first = app.acquire_token_for_client(scopes=SCOPE)
    second = app.acquire_token_for_client(scopes=SCOPE)

    assert second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]


def test_msal_returns_the_documented_error_on_a_bad_secret(
    sandbox: SandboxHandle,
) -> None:
    """§7: a bad secret gets `invalid_client` with AADSTS7000215."""
    result = application(
        sandbox, secret="not-the-secret-value"
    ).acquire_token_for_client(scopes=SCOPE)

    assert "access_token" not in result
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(result)


def test_msal_returns_unauthorized_client_for_an_unknown_client(
    sandbox: SandboxHandle,
) -> None:
    """§7: an unknown client id gets `unauthorized_client` (AADSTS700016)."""
    unknown = "11111111-2222-3333-4444-555555555555"
    result = application(sandbox, client_id=unknown).acquire_token_for_client(
        scopes=SCOPE
    )

    assert result["error"] == "unauthorized_client"
    assert result["error_codes"] == [700016]


def test_msal_refuses_an_http_authority(sandbox: SandboxHandle) -> None:
    """§1.2 [C]: msal accepts only https authorities with a tenant segment."""
    ids = read_identifiers(sandbox.state_dir)
    http_url = sandbox.base_urls["entra"].replace("https://", "http://")

    with pytest.raises(ValueError, match="https"):
        msal.ConfidentialClientApplication(
            ids["entra_client_id"],
            client_credential="x" * 10,
            authority=f"{http_url}/{ids['entra_tenant_id']}",
            http_client=httpx.Client(),
            instance_discovery=False,
        )
