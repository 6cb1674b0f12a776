"""Settings: YAML params, typed overrides, secrets only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssopoc import redact
from ssopoc.errors import ConfigError
from ssopoc.settings import load_settings, parse_override

CANARY = "canary-7f3a9c51d2e84b06"
LIVE_IDS = [
    "live.entra_tenant_id=00000000-0000-0000-0000-000000000001",
    "live.entra_client_id=00000000-0000-0000-0000-000000000002",
    "live.atlassian_org_id=org-1",
    "live.atlassian_scim_directory_id=dir-1",
    "live.jira_url=https://example.atlassian.net",
    "live.jira_email=admin@example.org",
]
LIVE_FILE = Path(__file__).parents[1] / "params" / "live-entra.yaml"


def test_defaults_come_from_sandbox_yaml() -> None:
    settings = load_settings()
    assert settings.mode == "sandbox"
    assert settings.params.allow_writes is True
    assert settings.params_file.name == "sandbox.yaml"
    assert settings.params.sandbox.ports["entra"] == 8441


def test_overrides_are_typed_from_yaml_text() -> None:
    settings = load_settings(
        None, ["http.retries.attempts=3", "allow_writes=false", "sandbox.seed=7"]
    )
    assert settings.params.http.retries.attempts == 3
    assert settings.params.allow_writes is False
    assert settings.params.sandbox.seed == 7


def test_override_without_equals_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_override("mode")
    assert raised.value.field == "-p"
    assert "key=value" in str(raised.value)


def test_unknown_parameter_names_the_field_and_fix() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(None, ["http.retrys.attempts=3"])
    assert raised.value.field == "http.retrys"
    assert "not a known parameter" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_wrongly_typed_parameter_names_the_field_and_fix() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(None, ["http.retries.attempts=many"])
    assert raised.value.field == "http.retries.attempts"
    assert raised.value.fix == "give a whole number"


def test_out_of_range_and_literal_values_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"http\.retries\.attempts"):
        load_settings(None, ["http.retries.attempts=50"])
    with pytest.raises(ConfigError, match=r"^mode: "):
        load_settings(None, ["mode=staging"])


def test_missing_params_file() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings("params/nope.yaml")
    assert raised.value.field == "--params"
    assert "does not exist" in str(raised.value)


def test_params_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="not a mapping"):
        load_settings(broken)


@pytest.mark.parametrize(
    "override",
    [
        "live.jira_api_token=abcdefgh",
        "client_secret=abcdefgh",
        "notebooks.01.password=x",
    ],
)
def test_parameter_named_like_a_secret_is_refused(override: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(None, [override])
    assert "names a secret" in str(raised.value)
    assert ".env" in raised.value.fix


def test_parameter_holding_a_loaded_secret_value_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATLASSIAN_SCIM_TOKEN", CANARY)
    with pytest.raises(ConfigError) as raised:
        load_settings(None, [f"live.jira_email={CANARY}"])
    assert raised.value.field == "live.jira_email"
    assert CANARY not in str(raised.value)


def test_parameter_holding_a_bearer_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="holds a secret value"):
        load_settings(None, ["live.jira_url=Bearer abcdefghijklmnop"])


def test_missing_secret_in_live_mode_names_the_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(LIVE_FILE, LIVE_IDS)
    assert raised.value.field == "ENTRA_CLIENT_SECRET"
    assert ".env" in raised.value.fix


def test_missing_live_identifier_names_the_parameter() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(LIVE_FILE)
    assert raised.value.field == "live.entra_tenant_id"


def test_secrets_load_from_env_file_and_register_for_redaction(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / ".env"
    values = {
        "ENTRA_CLIENT_SECRET": CANARY + "a",
        "ATLASSIAN_ORG_API_KEY": CANARY + "b",
        "ATLASSIAN_SCIM_TOKEN": CANARY + "c",
        "JIRA_API_TOKEN": CANARY + "d",
    }
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    settings = load_settings(LIVE_FILE, LIVE_IDS, env_file=env_file)
    assert settings.mode == "live"
    assert settings.secrets.present()["ENTRA_CLIENT_SECRET"] is True
    assert CANARY not in repr(settings.secrets)
    assert set(values.values()) <= redact.known_values()
    redact.forget_all()


def test_too_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_API_TOKEN", "abc")
    with pytest.raises(ConfigError, match="JIRA_API_TOKEN: is shorter"):
        load_settings()


def test_sandbox_host_must_be_loopback() -> None:
    with pytest.raises(ConfigError, match=r"sandbox\.host"):
        load_settings(None, ["sandbox.host=10.0.0.5"])
