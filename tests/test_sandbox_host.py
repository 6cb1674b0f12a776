"""The sandbox host: TLS, the extension point, faults, restart persistence, stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from conftest import free_port, sandbox_overrides
from ssopoc.http import ssl_context
from ssopoc.sandbox import ensure_running
from ssopoc.sandbox import host as host_module
from ssopoc.sandbox.base import Emulator
from ssopoc.sandbox.host import Host
from ssopoc.settings import load_settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class CounterEmulator(Emulator):
    """A minimal emulator: counts POSTs in its durable state."""

    name = "counter"

    def seed(self) -> None:
        self.count = 0
        self.context.store.save({"count": 0})

    def load(self, document: dict[str, Any]) -> None:
        self.count = document["count"]

    def wsgi(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            with self.context.store.lock:
                self.count += 1
                self.context.store.save({"count": self.count})
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"count": self.count}).encode()]


@pytest.fixture
def counter_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Host, str]]:
    monkeypatch.setattr(host_module, "discover", lambda: {"counter": CounterEmulator})
    settings = load_settings(None, [f"sandbox.ports={{counter: {free_port()}}}"])
    host = Host(settings.params.sandbox, tmp_path / "state")
    host.start()
    yield host, f"https://127.0.0.1:{settings.params.sandbox.ports['counter']}"
    host.stop()


def test_an_emulator_plugs_in_and_its_state_survives_a_new_host(
    counter_host: tuple[Host, str], tmp_path: Path
) -> None:
    host, url = counter_host
    tls = ssl_context(host.tls.ca_cert)
    assert httpx.post(f"{url}/anything", verify=tls).json() == {"count": 1}
    assert httpx.post(f"{url}/anything", verify=tls).json() == {"count": 2}
    health = httpx.get(f"{url}/_sandbox/health", verify=tls).json()
    assert health["emulator"] == "counter" and health["implemented"] is True
    host.stop()

    again = Host(host.sandbox, tmp_path / "state")
    again.start()
    try:
        assert httpx.get(f"{url}/anything", verify=tls).json() == {"count": 2}
    finally:
        again.stop()


def test_reset_returns_to_the_seeded_state(counter_host: tuple[Host, str]) -> None:
    host, url = counter_host
    tls = ssl_context(host.tls.ca_cert)
    httpx.post(f"{url}/x", verify=tls)
    assert httpx.post(f"{url}/_sandbox/reset", verify=tls).status_code == 200
    assert httpx.get(f"{url}/x", verify=tls).json() == {"count": 0}


def test_invalid_faults_are_refused_with_400(counter_host: tuple[Host, str]) -> None:
    host, url = counter_host
    tls = ssl_context(host.tls.ca_cert)
    response = httpx.put(
        f"{url}/_sandbox/faults", json=[{"kind": "explode"}], verify=tls
    )
    assert response.status_code == 400
    assert httpx.get(f"{url}/_sandbox/faults", verify=tls).json() == []


def test_faults_limited_to_a_path_prefix(counter_host: tuple[Host, str]) -> None:
    host, url = counter_host
    tls = ssl_context(host.tls.ca_cert)
    fault = {"kind": "status", "status": 503, "path_prefix": "/scim/"}
    httpx.put(f"{url}/_sandbox/faults", json=[fault], verify=tls)
    assert httpx.get(f"{url}/other", verify=tls).status_code == 200
    assert httpx.get(f"{url}/scim/Users", verify=tls).status_code == 503
    assert httpx.get(f"{url}/scim/Users", verify=tls).status_code == 200


def _serve(overrides: list[str], root: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "ssopoc", "sandbox"]
    for override in overrides:
        command += ["-p", override]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_healthy(url: str, ca: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (
                ca.is_file()
                and httpx.get(
                    f"{url}/_sandbox/health", verify=ssl_context(ca)
                ).status_code
                == 200
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never became healthy")


def test_restart_keeps_state_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    overrides = sandbox_overrides(tmp_path)
    state = tmp_path / "sandbox"
    port = overrides[2].split("=")[1]  # the keycloak port: a stable, simple target
    url = f"https://127.0.0.1:{port}"
    fault = [{"kind": "status", "status": 503, "count": 7, "path_prefix": "/kept"}]

    first = _serve(overrides, tmp_path)
    _wait_healthy(url, state / "ca.pem")
    ca_bytes = (state / "ca.pem").read_bytes()
    tls = ssl_context(state / "ca.pem")
    assert (
        httpx.put(f"{url}/_sandbox/faults", json=fault, verify=tls).status_code == 200
    )
    assert (state / "sandbox.pid").read_text() == str(first.pid)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=15) == 0
    assert not (state / "sandbox.pid").exists()

    second = _serve(overrides, tmp_path)
    try:
        _wait_healthy(url, state / "ca.pem")
        assert (state / "ca.pem").read_bytes() == ca_bytes
        kept = httpx.get(
            f"{url}/_sandbox/faults", verify=ssl_context(state / "ca.pem")
        ).json()
        assert kept[0]["count"] == 7 and kept[0]["path_prefix"] == "/kept"
    finally:
        second.send_signal(signal.SIGINT)
        assert second.wait(timeout=15) == 0


def test_a_port_in_use_is_a_one_line_configuration_error(tmp_path: Path) -> None:
    overrides = sandbox_overrides(tmp_path)
    settings = load_settings(None, overrides)
    handle = ensure_running(settings)
    try:
        clash = _serve(overrides, tmp_path)
        _, stderr = clash.communicate(timeout=20)
        assert clash.returncode == 2
        lines = stderr.decode().strip().splitlines()
        assert len(lines) == 1 and "sandbox.ports." in lines[0] and "fix:" in lines[0]
    finally:
        handle.stop()


def test_ensure_running_reuses_a_running_sandbox(tmp_path: Path) -> None:
    settings = load_settings(None, sandbox_overrides(tmp_path))
    first = ensure_running(settings)
    try:
        second = ensure_running(settings)
        assert first.started_here and not second.started_here
        assert second.base_urls == first.base_urls
        assert os.path.samefile(second.ca_file, first.ca_file)
    finally:
        first.stop()
    assert first.process is not None and first.process.returncode == 0


def test_ensure_and_stop_a_background_sandbox(tmp_path: Path) -> None:
    args = [a for o in sandbox_overrides(tmp_path) for a in ("-p", o)]
    command = [sys.executable, "-m", "ssopoc", "sandbox", *args]
    started = subprocess.run(
        [*command, "--ensure"], capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 0 and "sandbox started" in started.stdout
    pid = int((tmp_path / "sandbox" / "sandbox.pid").read_text())
    again = subprocess.run(
        [*command, "--ensure"], capture_output=True, text=True, timeout=60
    )
    assert "already running" in again.stdout
    stopped = subprocess.run(
        [*command, "--stop"], capture_output=True, text=True, timeout=60
    )
    assert "sandbox stopped" in stopped.stdout
    with pytest.raises(ProcessLookupError):
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)


def test_emulator_state_survives_a_real_restart(tmp_path: Path) -> None:
    """A user made in each emulator is still there after `ssopoc sandbox` restarts."""
    from ssopoc.entra import EntraClient
    from ssopoc.sandbox import read_credentials, read_identifiers

    overrides = sandbox_overrides(tmp_path)
    settings = load_settings(None, overrides)
    state = tmp_path / "sandbox"

    def clients() -> tuple[EntraClient, httpx.Client, str]:
        handle = ensure_running(settings)
        ids = read_identifiers(state)
        secrets = read_credentials(state)
        entra = EntraClient.from_sandbox(handle, prefix="restart-")
        scim = httpx.Client(
            base_url=f"{handle.base_urls['atlassian']}/scim/directory/"
            f"{ids['atlassian_scim_directory_id']}",
            headers={"Authorization": f"Bearer {secrets['atlassian_scim_token']}"},
            verify=ssl_context(handle.ca_file),
        )
        return entra, scim, str(handle.process.pid if handle.process else "")

    entra, scim, first_pid = clients()
    user = entra.users.create("kept")
    created = scim.post(
        "/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "restart-kept@example.org",
            "emails": [{"value": "restart-kept@example.org", "primary": True}],
        },
    )
    assert created.status_code == 201
    entra.close()
    scim.close()
    os.kill(int(first_pid), signal.SIGTERM)
    deadline = time.monotonic() + 15
    while (state / "sandbox.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)

    entra, scim, second_pid = clients()
    try:
        assert second_pid != first_pid
        assert (
            entra.users.get(user["id"])["userPrincipalName"]
            == user["userPrincipalName"]
        )
        again = scim.get(f"/Users/{created.json()['id']}")
        assert again.status_code == 200
        assert again.json()["userName"] == "restart-kept@example.org"
    finally:
        entra.close()
        scim.close()
        os.kill(int(second_pid), signal.SIGTERM)


def test_state_of_an_older_format_is_reseeded_not_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(host_module, "discover", lambda: {"counter": CounterEmulator})
    settings = load_settings(None, [f"sandbox.ports={{counter: {free_port()}}}"])
    stale = tmp_path / "state" / "state" / "counter.json"
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps({"count": 41}))  # no format: an older sandbox
    host = Host(settings.params.sandbox, tmp_path / "state")
    emulator = host.apps["counter"].emulator
    assert isinstance(emulator, CounterEmulator) and emulator.count == 0
    saved = json.loads(stale.read_text())
    assert saved == {"count": 0, "_format": "CounterEmulator/1"}
