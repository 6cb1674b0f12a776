"""Test session set-up, for tests and nbval: own sandbox, no secrets, loopback only.

The session starts one sandbox on free loopback ports with its state in a temporary
folder, and points every notebook kernel (nbval) and every `workbook.start` at it
through the same environment variables the runner uses. pytest-socket (configured
in pyproject.toml) refuses every address but loopback.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from pathlib import Path

import pytest

from ssopoc.sandbox import SandboxHandle, ensure_running
from ssopoc.sandbox.control import reset_all
from ssopoc.settings import SECRET_NAMES, Settings, load_settings
from ssopoc.workbook import ENV_OVERRIDES, ENV_RUN_DIR, ENV_RUN_ID

_SESSION: dict[str, object] = {}


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def sandbox_overrides(folder: Path) -> list[str]:
    """Overrides that give a sandbox its own ports, state and outputs folder."""
    return [
        f"sandbox.ports.entra={free_port()}",
        f"sandbox.ports.atlassian={free_port()}",
        f"sandbox.ports.keycloak={free_port()}",
        f"sandbox.state_dir={folder / 'sandbox'}",
        f"outputs_dir={folder / 'outputs'}",
    ]


def pytest_configure(config: pytest.Config) -> None:
    """Isolate the session from the developer's secrets and start its sandbox."""
    for name in SECRET_NAMES:
        os.environ.pop(name.upper(), None)
    folder = Path(tempfile.mkdtemp(prefix="ssopoc-test-"))
    os.environ["SSOPOC_ENV_FILE"] = str(folder / "no.env")
    overrides = sandbox_overrides(folder)
    os.environ[ENV_OVERRIDES] = json.dumps(overrides)
    _SESSION["folder"] = folder
    _SESSION["overrides"] = overrides


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start the session's sandbox before any test or notebook needs it.

    Notebook kernels (nbval) find it through the overrides in the environment; were
    it not running, the first kernel would start one that outlives the session.
    """
    overrides = _SESSION["overrides"]
    assert isinstance(overrides, list)
    _SESSION["handle"] = ensure_running(load_settings(None, overrides))


NBVAL_RUN = {ENV_RUN_ID: "990101000000"}


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Give notebook kernels (nbval) one shared run, as the runner does.

    08_cleanup then removes what 01 and 02 created, as in `make run`. Other tests
    get no run id, so nothing they leave carries the notebooks' prefix.
    """
    if type(item).__name__ == "IPyNbCell":
        folder = _SESSION["folder"]
        assert isinstance(folder, Path)
        if not _SESSION.get("nbval_reset"):
            # The notebooks start from a seeded sandbox, as their reference run did.
            handle = _SESSION["handle"]
            assert isinstance(handle, SandboxHandle)
            reset_all(handle)
            _SESSION["nbval_reset"] = True
        os.environ.update(NBVAL_RUN)
        os.environ[ENV_RUN_DIR] = str(folder / "outputs" / "nbval-run")
    else:
        for name in (ENV_RUN_ID, ENV_RUN_DIR):
            os.environ.pop(name, None)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the session's sandbox if it was started."""
    handle = _SESSION.get("handle")
    if isinstance(handle, SandboxHandle):
        handle.stop()


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Sandbox settings of the test session (its ports, state and outputs)."""
    overrides = _SESSION["overrides"]
    assert isinstance(overrides, list)
    return load_settings(None, overrides)


@pytest.fixture(scope="session")
def sandbox(settings: Settings) -> SandboxHandle:
    """The session's running sandbox (started at session start, stopped at the end)."""
    handle = _SESSION["handle"]
    assert isinstance(handle, SandboxHandle)
    return handle


@pytest.fixture
def session_folder() -> Path:
    """The session's temporary folder."""
    folder = _SESSION["folder"]
    assert isinstance(folder, Path)
    return folder
