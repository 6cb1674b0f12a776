"""The Atlassian client against the emulator over HTTPS: every call, its errors,
and the shared HTTP layer's retries under injected faults."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssopoc.atlassian import (
    Atlassian,
    AtlassianAuthError,
    AtlassianConfig,
    AtlassianNotFoundError,
    ScimInvalidFilterError,
    ScimInvalidValueError,
    ScimUniquenessError,
    ScimUser,
    account_id_of,
    primary_email_of,
)
from ssopoc.atlassian.errors import ScimError
from ssopoc.errors import ConfigError, ServiceUnreachableError
from ssopoc.evidence import Evidence
from ssopoc.sandbox import SandboxHandle, read_credentials, read_identifiers
from ssopoc.settings import LiveServices, Params, Retries, Secrets, Settings
from ssopoc.transcript import Transcript
from ssopoc.workbook import Workbook

FAST = Retries(attempts=3, wait_initial=0.01, wait_max=2, budget_seconds=20)


def config_of(sandbox: SandboxHandle, **changes: str) -> AtlassianConfig:
    """The sandbox's Atlassian configuration, with some values replaced."""
    ids = read_identifiers(sandbox.state_dir)
    keys = read_credentials(sandbox.state_dir)
    base = sandbox.base_urls["atlassian"]
    values: dict[str, Any] = {
        "api_url": base,
        "org_id": ids["atlassian_org_id"],
        "scim_directory_id": ids["atlassian_scim_directory_id"],
        "jira_url": base,
        "confluence_url": base,
        "jira_email": ids["jira_email"],
        "scim_token": keys["atlassian_scim_token"],
        "org_api_key": keys["atlassian_org_api_key"],
        "jira_api_token": keys["jira_api_token"],
        "sandbox": True,
    }
    return AtlassianConfig.from_values(**{**values, **changes})


@pytest.fixture
def control(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    """A plain HTTPS client on the emulator's port, to reset it and set faults."""
    context = ssl.create_default_context(cafile=str(sandbox.ca_file))
    base = sandbox.base_urls["atlassian"]
    with httpx.Client(base_url=base, verify=context, timeout=30) as http:
        http.post("/_sandbox/reset")
        http.delete("/_sandbox/faults")
        yield http
        http.delete("/_sandbox/faults")
        http.post("/_sandbox/reset")


@pytest.fixture
def transcript(tmp_path: Path) -> Transcript:
    """A transcript to count the attempts of each call."""
    return Transcript(tmp_path / "transcript.jsonl")


@pytest.fixture
def atlassian(
    sandbox: SandboxHandle, control: httpx.Client, transcript: Transcript
) -> Iterator[Atlassian]:
    """The client on the sandbox, with a small retry budget."""
    client = Atlassian.from_values(
        config_of(sandbox), ca_file=sandbox.ca_file, retries=FAST, transcript=transcript
    )
    with client:
        yield client


def attempts(transcript: Transcript, service: str) -> int:
    """How many attempts the transcript recorded for a service."""
    lines = transcript.path.read_text().splitlines()
    return sum(json.loads(line).get("service") == service for line in lines)


def new_user(email: str, **extra: Any) -> ScimUser:
    return ScimUser.model_validate(
        {
            "userName": email,
            "emails": [{"value": email, "type": "work", "primary": True}],
            **extra,
        }
    )


# -- configuration -------------------------------------------------------------


def test_from_workbook_in_sandbox_mode(
    settings: Settings, sandbox: SandboxHandle, tmp_path: Path, control: httpx.Client
) -> None:
    """Sandbox mode takes URLs, ids and keys from the sandbox, no .env."""
    wb = Workbook(
        notebook="test",
        settings=settings,
        run_dir=tmp_path,
        run_id="t1",
        evidence=Evidence(tmp_path / "evidence.jsonl", "test"),
        transcript=Transcript(tmp_path / "transcript.jsonl"),
        sandbox=sandbox,
    )
    with Atlassian.from_workbook(wb) as atlassian:
        assert atlassian.config.sandbox is True
        assert atlassian.config.api_url == sandbox.base_urls["atlassian"]
        orgs = atlassian.admin.orgs()
    assert [o["id"] for o in orgs] == [atlassian.config.org_id]
    assert "atlassian_api" in (tmp_path / "transcript.jsonl").read_text()


def test_from_workbook_live_names_the_missing_secret(tmp_path: Path) -> None:
    """Live mode needs each secret; the error names the variable and the fix."""
    live = LiveServices(
        atlassian_org_id="org",
        atlassian_scim_directory_id="dir",
        jira_url="https://openmrs.atlassian.net",
        jira_email="bot@openmrs.org",
    )
    settings = Settings(Params(mode="live", live=live), Secrets(), tmp_path / "p.yaml")
    wb = Workbook(
        notebook="test",
        settings=settings,
        run_dir=tmp_path,
        run_id="t2",
        evidence=Evidence(tmp_path / "evidence.jsonl", "test"),
        transcript=Transcript(tmp_path / "transcript.jsonl"),
        sandbox=None,
    )
    with pytest.raises(ConfigError, match=r"ATLASSIAN_SCIM_TOKEN.*set .* in \.env"):
        Atlassian.from_workbook(wb)


def test_secrets_stay_hidden(sandbox: SandboxHandle) -> None:
    """Keys are SecretStr and never show in the config's repr."""
    config = config_of(sandbox)
    keys = read_credentials(sandbox.state_dir)
    assert keys["atlassian_scim_token"] not in repr(config)
    assert config.scim_token.get_secret_value() == keys["atlassian_scim_token"]


# -- SCIM users ----------------------------------------------------------------


def test_user_lifecycle(atlassian: Atlassian) -> None:
    """create, get, find, replace, patch, deactivate, reactivate, delete."""
    created = atlassian.scim.create_user(
        new_user("ada@openmrs.org", externalId="OBJ-1", department="Core")
    )
    assert created.department == "Core"
    assert account_id_of(created) is not None
    assert primary_email_of(created) == "ada@openmrs.org"
    user_id = str(created.id)
    assert atlassian.scim.get_user(user_id).user_name == "ada@openmrs.org"
    assert atlassian.scim.find_user(user_name="ada@openmrs.org").id == user_id
    assert atlassian.scim.find_user(external_id="OBJ-1").id == user_id
    assert atlassian.scim.find_user(user_name="nobody@openmrs.org") is None

    replaced = atlassian.scim.replace_user(
        user_id, new_user("ada@openmrs.org", organization="OpenMRS")
    )
    assert replaced.organization == "OpenMRS" and replaced.department is None
    patched = atlassian.scim.patch_user(
        user_id, [{"op": "replace", "path": "displayName", "value": "Ada L"}]
    )
    assert patched.display_name == "Ada L"
    assert atlassian.scim.deactivate_user(user_id).active is False
    assert atlassian.scim.reactivate_user(user_id).active is True
    atlassian.scim.delete_user(user_id)
    with pytest.raises(AtlassianNotFoundError) as caught:
        atlassian.scim.get_user(user_id)
    assert caught.value.status == 404


def test_user_pagination(atlassian: Atlassian) -> None:
    """list_users walks every page (startIndex/count)."""
    emails = {f"pg{n}@openmrs.org" for n in range(5)}
    for email in emails:
        atlassian.scim.create_user(new_user(email))
    found = {u.user_name for u in atlassian.scim.list_users(page_size=2)}
    assert found == emails


def test_scim_errors_are_typed(atlassian: Atlassian) -> None:
    """409 uniqueness, 400 invalidFilter and invalidValue carry status,
    scimType, detail and a next action."""
    atlassian.scim.create_user(new_user("dup@openmrs.org"))
    with pytest.raises(ScimUniquenessError) as conflict:
        atlassian.scim.create_user(new_user("dup@openmrs.org"))
    error = conflict.value
    assert (error.status, error.scim_type) == (409, "uniqueness")
    assert (
        error.detail == "Resource [USER]: with email[dup@openmrs.org] already exists."
    )
    assert error.next_action and "onlyDeleteUserInDB" in error.next_action

    with pytest.raises(ScimInvalidFilterError) as bad_filter:
        atlassian.scim.search_users('emails[type eq "work"].value eq "x@y.z"')
    assert bad_filter.value.status == 400

    with pytest.raises(ScimInvalidValueError) as bad_value:
        atlassian.scim.create_user({"userName": "nomail@openmrs.org"})
    assert bad_value.value.scim_type == "invalidValue"
    assert isinstance(bad_value.value, ScimError)


def test_wrong_key_is_an_auth_error(sandbox: SandboxHandle, control: Any) -> None:
    """The org key sent to SCIM → 403 typed error with the fix (OKTAKEY)."""
    keys = read_credentials(sandbox.state_dir)
    config = config_of(sandbox, scim_token=keys["atlassian_org_api_key"])
    bad = Atlassian.from_values(config, ca_file=sandbox.ca_file, retries=FAST)
    with bad, pytest.raises(AtlassianAuthError) as caught:
        bad.scim.find_user(user_name="a@openmrs.org")
    assert caught.value.status == 403
    assert "directory API key" in str(caught.value.next_action)
    assert keys["atlassian_org_api_key"] not in str(caught.value)


# -- SCIM groups ---------------------------------------------------------------


def test_group_calls(atlassian: Atlassian) -> None:
    """create, get, find, list, add/remove members, members, replace, patch
    (rename refused), delete."""
    one = atlassian.scim.create_user(new_user("m1@openmrs.org"))
    two = atlassian.scim.create_user(new_user("m2@openmrs.org"))
    group = atlassian.scim.create_group("ssopoc-team", [str(one.id)])
    group_id = str(group.id)
    assert atlassian.scim.get_group(group_id).display_name == "ssopoc-team"
    assert atlassian.scim.find_group("ssopoc-team").id == group_id
    names = {g.display_name for g in atlassian.scim.list_groups(page_size=1)}
    assert {"ssopoc-team", "openmrs-jira-users"} <= names
    atlassian.scim.add_members(group_id, [str(two.id)])
    assert set(atlassian.scim.members(group_id)) == {str(one.id), str(two.id)}
    atlassian.scim.remove_members(group_id, [str(one.id)])
    assert atlassian.scim.members(group_id) == [str(two.id)]
    replaced = atlassian.scim.replace_group(group_id, "ssopoc-team", [str(one.id)])
    assert [m.value for m in replaced.members or []] == [str(one.id)]
    with pytest.raises(ScimError) as rename:
        atlassian.scim.patch_group(
            group_id, [{"op": "replace", "path": "displayName", "value": "other"}]
        )
    assert rename.value.scim_type == "mutability"
    with pytest.raises(ScimUniquenessError):
        atlassian.scim.create_group("SSOPOC-TEAM")
    atlassian.scim.delete_group(group_id)
    assert atlassian.scim.find_group("ssopoc-team") is None
    with pytest.raises(AtlassianNotFoundError):
        atlassian.scim.delete_group(group_id)


def test_service_provider_config(atlassian: Atlassian) -> None:
    """GET /ServiceProviderConfig through the client."""
    config = atlassian.scim.service_provider_config()
    assert config["bulk"]["supported"] is False


# -- Org admin, sites, simulated sign-in ------------------------------------------


def test_prove_account_managed_external_access_and_login(atlassian: Atlassian) -> None:
    """prove_account: exists, managed or external, product access, logged in."""
    assert atlassian.admin.prove_account("ghost@gmail.com").exists is False
    managed = atlassian.scim.create_user(new_user("pm@openmrs.org"))
    external = atlassian.scim.create_user(new_user("pe@gmail.com"))
    jira_group = atlassian.scim.find_group("openmrs-jira-users")
    atlassian.scim.add_members(str(jira_group.id), [str(managed.id), str(external.id)])

    proof = atlassian.admin.prove_account("pm@openmrs.org")
    assert proof.exists and proof.managed and proof.status == "active"
    assert proof.has_access("jira-software") and not proof.has_access("confluence")
    assert not proof.has_logged_in
    signed = atlassian.simulate_login(
        "pm@openmrs.org", method="sso", product="jira-software"
    )
    assert signed["simulated"] is True and signed["signedIn"] is True
    assert atlassian.admin.prove_account("pm@openmrs.org").has_logged_in

    other = atlassian.admin.prove_account("pe@gmail.com")
    assert other.exists and not other.managed
    assert atlassian.simulate_login("pe@gmail.com", password="pw-123456")["reason"] == (
        "unverified"
    )
    atlassian.simulate_signup("pe@gmail.com", "pw-123456")
    atlassian.simulate_login(
        "pe@gmail.com", password="pw-123456", product="jira-software"
    )
    assert atlassian.admin.prove_account("pe@gmail.com").has_logged_in


def test_admin_calls(atlassian: Atlassian) -> None:
    """orgs, domains, directories, list/search/get users, managed accounts,
    last-active dates and the SCIM-link calls."""
    user = atlassian.scim.create_user(new_user("adm@openmrs.org"))
    account_id = str(account_id_of(user))
    assert [o["id"] for o in atlassian.admin.orgs()] == [atlassian.config.org_id]
    names = {d["attributes"]["name"] for d in atlassian.admin.domains()}
    assert {"openmrs.org", "id.openmrs.org"} <= names
    directory = atlassian.admin.directories()[0]["directoryId"]
    assert directory == atlassian.config.scim_directory_id
    listed = list(atlassian.admin.list_users(claimStatus="managed", limit="1"))
    assert "adm@openmrs.org" in {u["email"] for u in listed} and len(listed) >= 2
    assert atlassian.admin.get_user(account_id)["claimStatus"] == "managed"
    assert atlassian.admin.search_users(search_term="adm@")[0]["accountId"] == (
        account_id
    )
    managed = {a["email"] for a in atlassian.admin.managed_accounts()}
    assert "adm@openmrs.org" in managed
    assert atlassian.admin.last_active(account_id)["product_access"] == []
    links = atlassian.admin.scim_links(account_id)
    assert links[0]["scimUserId"] == user.id
    atlassian.admin.unlink(str(user.id))
    by_email = atlassian.admin.scim_links_for_email("adm@openmrs.org")
    assert by_email[0]["atlassianAccountId"] is None
    with pytest.raises(AtlassianNotFoundError):
        atlassian.admin.get_user("712020:no-such-account")


def test_only_delete_in_db(atlassian: Atlassian) -> None:
    """onlyDeleteUserInDB removes a managed account's SCIM records."""
    user = atlassian.scim.create_user(new_user("odb@openmrs.org"))
    atlassian.admin.only_delete_in_db(str(account_id_of(user)))
    assert atlassian.scim.find_user(user_name="odb@openmrs.org") is None


def test_jira_and_confluence_checks(atlassian: Atlassian) -> None:
    """Jira search and user roles; Confluence user with hidden email."""
    user = atlassian.scim.create_user(new_user("js@gmail.com", displayName="Jo Site"))
    account_id = str(account_id_of(user))
    assert atlassian.jira.search_users("Jo") == []
    group = atlassian.scim.find_group("openmrs-jira-users")
    atlassian.scim.add_members(str(group.id), [str(user.id)])
    found = atlassian.jira.search_users("Jo")
    assert [u["accountId"] for u in found] == [account_id]
    assert "emailAddress" not in found[0]
    assert atlassian.jira.application_roles(account_id) == ["jira-software"]
    assert atlassian.confluence.get_user(account_id)["email"] == ""
    with pytest.raises(AtlassianNotFoundError):
        atlassian.confluence.get_user("712020:nobody")


def test_wrong_jira_token_is_an_auth_error(
    sandbox: SandboxHandle, control: Any
) -> None:
    """A wrong API token → 401 typed error naming JIRA_API_TOKEN."""
    config = config_of(sandbox, jira_api_token="not-the-token")
    bad = Atlassian.from_values(config, ca_file=sandbox.ca_file, retries=FAST)
    with bad, pytest.raises(AtlassianAuthError) as caught:
        bad.jira.search_users("a")
    assert caught.value.status == 401 and "JIRA_API_TOKEN" in str(caught.value)


def test_assumptions_helper(atlassian: Atlassian, control: httpx.Client) -> None:
    """assumptions() lists every (U) setting with its value in force."""
    control.put("/_atlassian/assumptions", json={"delete_semantics": "legacy"})
    found = {a["name"]: a for a in atlassian.assumptions()}
    assert found["delete_semantics"]["value"] == "legacy"
    assert found["delete_semantics"]["default"] == "current"
    assert "§8" in found["delete_semantics"]["source"]


# -- faults: the shared HTTP layer retries --------------------------------------


def set_faults(control: httpx.Client, *faults: dict[str, Any]) -> None:
    response = control.put("/_sandbox/faults", json=list(faults))
    assert response.status_code == 200, response.text


def test_429_with_retry_after_is_retried(
    atlassian: Atlassian, control: httpx.Client, transcript: Transcript
) -> None:
    """A 429 with Retry-After is retried, and the call succeeds."""
    set_faults(
        control,
        {"kind": "status", "status": 429, "retry_after": 1, "path_prefix": "/scim/"},
    )
    assert atlassian.scim.find_user(user_name="none@openmrs.org") is None
    assert attempts(transcript, "atlassian_scim") == 2
    assert control.get("/_sandbox/faults").json() == []


def test_503_is_retried(
    atlassian: Atlassian, control: httpx.Client, transcript: Transcript
) -> None:
    """A 503 is retried, and the call succeeds."""
    set_faults(control, {"kind": "status", "status": 503, "path_prefix": "/admin/"})
    assert atlassian.admin.orgs()[0]["id"] == atlassian.config.org_id
    assert attempts(transcript, "atlassian_api") == 2


def test_dropped_connection_is_unreachable_after_budget(
    atlassian: Atlassian, control: httpx.Client, transcript: Transcript
) -> None:
    """A connection dropped on every attempt → ServiceUnreachableError."""
    set_faults(control, {"kind": "drop", "count": 10, "path_prefix": "/scim/"})
    with pytest.raises(ServiceUnreachableError) as caught:
        atlassian.scim.get_user("any-id")
    assert "3 attempts" in str(caught.value)
    assert attempts(transcript, "atlassian_scim") == FAST.attempts
