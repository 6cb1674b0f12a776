"""The extension point of the sandbox: what an emulator is, and what it is given.

An emulator is a WSGI application class in a module under
`ssopoc.sandbox.emulators` that exposes it as `EMULATOR`. The host finds it there,
gives it an `EmulatorContext`, and serves it on the port named after it in
`sandbox.ports`. Nothing in the host changes when an emulator is added.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ssopoc.sandbox.state import StateStore

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class CredentialBook:
    """What the seeded sandbox hands to the workbook, so no `.env` is needed.

    Two books live in the state folder: `credentials.json` (mode 0600) holds
    secrets, which the library registers with the redactor and the runner scans
    for; `identifiers.json` holds ids that are not secret (org id, directory id,
    tenant id, client id), which may appear in evidence.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def read(self) -> dict[str, str]:
        """Every published credential, by name."""
        if not self.path.is_file():
            return {}
        loaded: dict[str, str] = json.loads(self.path.read_text(encoding="utf-8"))
        return loaded

    def publish(self, values: dict[str, str]) -> None:
        """Add or replace credentials by name."""
        with self._lock:
            merged = {**self.read(), **values}
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(merged, indent=1, sort_keys=True))
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)


@dataclass
class EmulatorContext:
    """What the host gives each emulator.

    - `store`: the emulator's durable state document.
    - `base_urls`: every emulator's `https://host:port` by name, so one emulator can
      call another over HTTPS as the real services call each other.
    - `ca_file`: the sandbox CA, to trust when calling another emulator.
    - `seed`: makes generated ids deterministic.
    - `config`: the emulator's settings from `sandbox.emulators.<name>`.
    - `credentials`: where to publish seeded secrets for the workbook.
    - `identifiers`: where to publish seeded ids that are not secret.
    """

    name: str
    store: StateStore
    base_urls: dict[str, str]
    ca_file: Path
    seed: int
    config: dict[str, Any] = field(default_factory=dict)
    credentials: CredentialBook | None = None
    identifiers: CredentialBook | None = None

    @property
    def base_url(self) -> str:
        """This emulator's own base URL."""
        return self.base_urls[self.name]


class Emulator:
    """Base class of an emulator: a WSGI application with state and a reset.

    Subclasses set `name`, implement `wsgi`, and may override `seed` (build the
    initial state and publish credentials), `load` and `health`.
    """

    name: ClassVar[str] = ""
    # Raise it when the saved state's shape changes: older state is then reseeded.
    state_version: ClassVar[int] = 1

    def __init__(self, context: EmulatorContext) -> None:
        self.context = context
        saved = context.store.load()
        if saved is None:
            self.seed()
        else:
            self.load(saved)

    def seed(self) -> None:
        """Build the seeded state of a fresh tenant and save it."""
        self.context.store.save({})

    def load(self, document: dict[str, Any]) -> None:
        """Take up the state saved by an earlier run of the sandbox."""

    def reset(self) -> None:
        """Drop every change and go back to the seeded state."""
        self.context.store.clear()
        self.seed()

    def fault_body(self, status: int) -> dict[str, Any]:
        """The body of an injected error answer; an emulator gives its own envelope."""
        return {"error": "injected fault", "status": status}

    def health(self) -> dict[str, Any]:
        """Extra facts the health endpoint reports for this emulator."""
        return {}

    def wsgi(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Answer one request; the base answers 404 to everything."""
        body = json.dumps({"error": "not found", "path": environ.get("PATH_INFO")})
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [body.encode()]


class HealthOnly(Emulator):
    """Stands on a configured port whose emulator is not installed yet."""

    name = "health-only"
