"""`ssopoc` exit codes: bad input is one line on stderr, exit 2, nothing written."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

CANARY = "canary-cli-2d4f6b8a0c1e"
LIVE_IDS = [
    "-p", "live.entra_tenant_id=t", "-p", "live.entra_client_id=c",
    "-p", "live.atlassian_org_id=o", "-p", "live.atlassian_scim_directory_id=d",
    "-p", "live.jira_url=https://x.atlassian.net", "-p", "live.jira_email=a@b.org",
]  # fmt: skip


def ssopoc(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ssopoc", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["-p", "retries=3"], "retries"),
        (["-p", "http.retries.attempts=lots"], "http.retries.attempts"),
        (["--params", "params/missing.yaml"], "--params"),
        (["-p", "live.jira_api_token=abcdefgh"], "live.jira_api_token"),
        (["-p", f"live.jira_email={CANARY}"], "live.jira_email"),
        (["--params", "params/live-entra.yaml", *LIVE_IDS], "ENTRA_CLIENT_SECRET"),
        (["--only", "42"], "--only"),
    ],
    ids=[
        "unknown parameter",
        "wrong type",
        "missing params file",
        "secret name as parameter",
        "secret value as parameter",
        "missing secret in live mode",
        "unknown notebook",
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    args: list[str], field: str, tmp_path: Path
) -> None:
    outputs = tmp_path / "outputs"
    result = ssopoc(
        "run",
        "-p",
        f"outputs_dir={outputs}",
        *args,
        env={"ATLASSIAN_SCIM_TOKEN": CANARY},
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"ssopoc: {field}: ")
    assert "; fix: " in lines[0]
    assert CANARY not in result.stderr + result.stdout
    assert not outputs.exists()


def test_report_rewrites_findings_of_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "evidence.jsonl").write_text(
        '{"notebook": "00_x", "number": 1, "criterion": "c", "expected": 1,'
        ' "observed": 2, "status": "FAIL", "source": ""}\n'
    )
    result = ssopoc("report", str(tmp_path))
    assert result.returncode == 0
    assert "**FAIL** 00_x #1 c" in (tmp_path / "findings.md").read_text()
    assert "class='FAIL'" in (tmp_path / "findings.html").read_text()


def test_a_sandbox_that_cannot_start_leaves_no_run_folder(tmp_path: Path) -> None:
    from conftest import sandbox_overrides

    overrides = sandbox_overrides(tmp_path)
    busy_port = int(overrides[0].split("=")[1])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", busy_port))
        squatter.listen()
        args = [arg for o in overrides for arg in ("-p", o)]
        result = ssopoc("run", *args, "-p", "sandbox.start_timeout=20")
    assert result.returncode == 1
    assert f"port {busy_port} cannot be bound" in result.stderr
    assert not (tmp_path / "outputs").exists()
