"""Find the sandbox, or start it: used by the runner, notebooks and tests.

`ensure_running` asks every configured port for `/_sandbox/health` over TLS. When
none answers it starts `ssopoc sandbox` as a background process and waits for it;
when only some answer, something else holds a port and the call says which.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ssopoc import redact
from ssopoc.errors import SandboxError
from ssopoc.sandbox.ca import tls_files
from ssopoc.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class SandboxHandle:
    """A running sandbox: its URLs, its CA, and the process if this call started it."""

    base_urls: dict[str, str]
    ca_file: Path
    state_dir: Path
    process: subprocess.Popen[bytes] | None = None
    health: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def started_here(self) -> bool:
        """Whether this handle's caller started the sandbox (and should stop it)."""
        return self.process is not None

    def stop(self) -> None:
        """Stop the sandbox if this handle started it; wait for a clean exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def base_urls(settings: Settings) -> dict[str, str]:
    """Each emulator's base URL from the sandbox settings."""
    host = settings.params.sandbox.host
    shown = f"[{host}]" if ":" in host else host
    return {n: f"https://{shown}:{p}" for n, p in settings.params.sandbox.ports.items()}


def probe(url: str, ca_file: Path, timeout: float = 2.0) -> dict[str, object] | None:
    """Return a port's health document, or None when it does not answer as ours."""
    if not ca_file.is_file():
        return None
    context = ssl.create_default_context(cafile=str(ca_file))
    try:
        response = httpx.get(f"{url}/_sandbox/health", verify=context, timeout=timeout)
    except (httpx.HTTPError, ssl.SSLError, OSError):
        return None
    if response.status_code != 200:
        return None
    try:
        body: dict[str, object] = response.json()
    except ValueError:
        return None
    return body if body.get("status") == "ok" else None


def _probe_all(urls: dict[str, str], ca_file: Path) -> dict[str, dict[str, object]]:
    found = {}
    for name, url in urls.items():
        health = probe(url, ca_file)
        if health is not None:
            found[name] = health
    return found


def ensure_running(settings: Settings) -> SandboxHandle:
    """Return a handle on a healthy sandbox, starting one when none answers.

    Raises `SandboxError` when some ports answer and others do not, or when the
    started sandbox exits or does not become healthy in `sandbox.start_timeout`.
    """
    state_dir = settings.path(settings.params.sandbox.state_dir)
    urls = base_urls(settings)
    ca_file = tls_files(state_dir).ca_cert
    health = _probe_all(urls, ca_file)
    elsewhere = {str(h.get("state_dir")) for h in health.values()} - {str(state_dir)}
    if elsewhere:
        raise SandboxError(
            f"the sandbox on these ports keeps its state in {elsewhere.pop()}, not "
            f"{state_dir}; stop it, or run with that sandbox.state_dir"
        )
    if len(health) == len(urls):
        register_credentials(state_dir)
        return SandboxHandle(urls, ca_file, state_dir, None, health)
    if health:
        silent = sorted(set(urls) - set(health))
        raise SandboxError(
            f"sandbox ports answer only partly (no answer from {', '.join(silent)}); "
            "stop the old sandbox (make clean-sandbox) or free those ports"
        )

    process = _spawn(settings, state_dir, settings.overrides)
    deadline = time.monotonic() + settings.params.sandbox.start_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxError(
                f"the sandbox exited with code {process.returncode}: "
                f"{_last_line(state_dir / 'sandbox-console.log')}"
            )
        health = _probe_all(urls, ca_file)
        if len(health) == len(urls):
            register_credentials(state_dir)
            log.info("sandbox started (pid %d)", process.pid)
            return SandboxHandle(urls, ca_file, state_dir, process, health)
        time.sleep(0.1)
    process.terminate()
    raise SandboxError(
        f"the sandbox did not answer within {settings.params.sandbox.start_timeout}s; "
        f"read {state_dir / 'sandbox.log'}"
    )


def reset_all(handle: SandboxHandle) -> None:
    """Put every emulator back to its seeded state (`POST /_sandbox/reset`)."""
    context = ssl.create_default_context(cafile=str(handle.ca_file))
    for url in handle.base_urls.values():
        response = httpx.post(f"{url}/_sandbox/reset", verify=context, timeout=30)
        if response.status_code != 200:
            raise SandboxError(f"{url} refused a reset ({response.status_code})")


def stop_background(settings: Settings, timeout: float = 15.0) -> bool:
    """Stop the sandbox whose pid file is in the state folder; False if none runs."""
    pid_file = settings.path(settings.params.sandbox.state_dir) / "sandbox.pid"
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        pid_file.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + timeout
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return True


def _spawn(
    settings: Settings, state_dir: Path, overrides: tuple[str, ...]
) -> subprocess.Popen[bytes]:
    state_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "ssopoc", "sandbox"]
    command += ["--params", str(settings.params_file)]
    for override in overrides:
        command += ["-p", override]
    log.info("starting the sandbox: ssopoc sandbox --params %s", settings.params_file)
    with (state_dir / "sandbox-console.log").open("ab") as sink:
        return subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=settings.root,
            env={**os.environ, "SSOPOC_ROOT": str(settings.root)},
            start_new_session=True,
        )


def _last_line(path: Path) -> str:
    lines = (
        path.read_text(errors="replace").strip().splitlines() if path.is_file() else []
    )
    return lines[-1] if lines else f"read {path}"


def read_credentials(state_dir: Path) -> dict[str, str]:
    """The secrets the sandbox published for the workbook, by name."""
    return _read_book(state_dir / "credentials.json")


def read_identifiers(state_dir: Path) -> dict[str, str]:
    """The ids (not secret) the sandbox published for the workbook, by name."""
    return _read_book(state_dir / "identifiers.json")


def _read_book(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def register_credentials(state_dir: Path) -> dict[str, str]:
    """Read the sandbox credentials and register each value with the redactor."""
    credentials = read_credentials(state_dir)
    redact.register(*credentials.values())
    return credentials
