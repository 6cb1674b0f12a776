"""The runner: a whole workbook run into a temporary outputs folder."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssopoc import logs, redact
from ssopoc.runner import run_notebooks, scan_for_secrets
from ssopoc.settings import Settings, load_settings

CANARIES = {
    "ENTRA_CLIENT_SECRET": "canary-entra-4f1d9b27c0a3",
    "ATLASSIAN_ORG_API_KEY": "canary-orgkey-8e2b6a41d7f5",
    "ATLASSIAN_SCIM_TOKEN": "canary-scim-3c7e0f9a25b1",
    "JIRA_API_TOKEN": "canary-jira-6a9d2e4c8b17",
    "KEYCLOAK_ADMIN_CLIENT_SECRET": "canary-kc-1b5f7d3e9a20",
    "LDAP_BIND_PASSWORD": "canary-ldap-0e8c4a6f2d39",
}


@pytest.fixture(scope="module")
def canary_run(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, Path, str]]:
    """One workbook run with canary values in every secret variable."""
    outputs = tmp_path_factory.mktemp("outputs")
    console = io.StringIO()
    handler = logging.StreamHandler(console)
    logs.console.addHandler(handler)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CANARIES.items():
            patch.setenv(name, value)
        with_canaries = load_settings(None, settings.overrides)
        code, run_dir = run_notebooks(with_canaries, outputs=outputs)
    logs.console.removeHandler(handler)
    yield code, run_dir, console.getvalue()
    redact.forget_all()


def test_run_folder_holds_the_evidence_of_the_run(
    canary_run: tuple[int, Path, str],
) -> None:
    code, run_dir, console = canary_run
    assert code == 0
    assert run_dir.name.endswith("-sandbox")
    for name in (
        "00_check_environment.ipynb",
        "evidence.jsonl",
        "transcript-00_check_environment.jsonl",
        "findings.md",
        "findings.html",
        "run.log",
    ):
        assert (run_dir / name).is_file(), name
    executed = json.loads((run_dir / "00_check_environment.ipynb").read_text())
    assert executed["metadata"]["papermill"]["exception"] is None
    assert "00_check_environment" in console and str(run_dir) in console


def test_sandbox_preflight_passes_every_check(
    canary_run: tuple[int, Path, str],
) -> None:
    _, run_dir, _ = canary_run
    records = [
        json.loads(x) for x in (run_dir / "evidence.jsonl").read_text().splitlines()
    ]
    checks = [r for r in records if r["status"] in ("PASS", "FAIL", "ERROR")]
    assert checks and all(r["status"] == "PASS" for r in checks)
    secrets = {
        r["criterion"]: r["observed"]
        for r in records
        if r["criterion"].startswith("secret ")
    }
    # The canaries were loaded (the preflight saw them set) ...
    assert secrets["secret ENTRA_CLIENT_SECRET"].startswith("set")


def test_canary_secrets_appear_in_no_file_and_no_console_line(
    canary_run: tuple[int, Path, str],
) -> None:
    # ... and none of them was written anywhere.
    _, run_dir, console = canary_run
    assert "SECRET LEAK" not in console
    for path in run_dir.rglob("*"):
        if path.is_file():
            content = path.read_text(errors="replace")
            for value in CANARIES.values():
                assert value not in content, f"{value} leaked into {path.name}"
    assert not any(value in console for value in CANARIES.values())


def test_notebook_kernel_listens_on_no_tcp_port(
    settings: Settings, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # ipykernel warns on its stderr whenever its channels are plain TCP sockets.
    code, _ = run_notebooks(settings, only=["00"], outputs=tmp_path)
    assert code == 0
    assert "without encryption" not in capfd.readouterr().err


def test_leak_scan_finds_and_masks_a_secret(tmp_path: Path) -> None:
    leaky = tmp_path / "sub" / "notes.txt"
    leaky.parent.mkdir()
    leaky.write_text("token=canary-leak-77aa88bb99cc\n")
    (tmp_path / "clean.txt").write_text("nothing here\n")
    found = scan_for_secrets(tmp_path, frozenset({"canary-leak-77aa88bb99cc"}))
    assert found == [leaky]
    assert leaky.read_text() == "token=***\n"


def test_notebook_parameters_unknown_to_the_notebook_are_refused(
    settings: Settings, tmp_path: Path
) -> None:
    from ssopoc.errors import ConfigError
    from ssopoc.runner import notebook_parameters, notebooks

    bad = load_settings(None, [*settings.overrides, "notebooks.00.min_tsl=TLSv1.3"])
    with pytest.raises(ConfigError) as raised:
        notebook_parameters(bad, notebooks(bad.root)[0])
    assert raised.value.field == "notebooks.00.min_tsl"
    assert "min_tls" in raised.value.fix
