"""The sandbox host: one process, one HTTPS port per emulator.

Each port answers three admin routes of its own besides its emulator:

- `GET /_sandbox/health`: liveness, the emulator's name and its health facts;
- `GET|PUT|DELETE /_sandbox/faults`: the fault-injection switch (see `Fault`);
- `POST /_sandbox/reset`: the emulator goes back to its seeded state.

Faults and emulator state are kept on disk under `sandbox.state_dir`, so a restart
loses nothing. SIGTERM and Ctrl-C stop every server cleanly.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from werkzeug.serving import BaseWSGIServer, make_server

from ssopoc import logs
from ssopoc.errors import ConfigError
from ssopoc.sandbox.base import CredentialBook, Emulator, EmulatorContext, HealthOnly
from ssopoc.sandbox.ca import TlsFiles, ensure_ca
from ssopoc.sandbox.emulators import discover
from ssopoc.sandbox.state import StateStore
from ssopoc.settings import Fault, SandboxSettings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

FAULTS = TypeAdapter(list[Fault])
ADMIN_PREFIX = "/_sandbox/"


def _json(
    start_response: StartResponse, status: str, body: Any, extra: Iterable[Any] = ()
) -> list[bytes]:
    payload = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), *extra]
    start_response(status, [*headers, ("Content-Length", str(len(payload)))])
    return [payload]


class FaultSwitch:
    """The faults waiting for one emulator's requests, kept in the host state."""

    def __init__(self, name: str, store: StateStore) -> None:
        self.name = name
        self.store = store

    def _all(self) -> dict[str, list[dict[str, Any]]]:
        document = self.store.load() or {}
        faults: dict[str, list[dict[str, Any]]] = document.get("faults", {})
        return faults

    def get(self) -> list[dict[str, Any]]:
        """The faults still to fire, with their remaining counts."""
        with self.store.lock:
            return self._all().get(self.name, [])

    def set(self, faults: list[Fault]) -> None:
        """Replace this emulator's faults."""
        with self.store.lock:
            document = self.store.load() or {}
            document.setdefault("faults", {})[self.name] = [
                fault.model_dump() for fault in faults
            ]
            self.store.save(document)

    def take(self, path: str) -> Fault | None:
        """Consume one firing of the first fault whose prefix matches `path`."""
        with self.store.lock:
            document = self.store.load() or {}
            pending = document.get("faults", {}).get(self.name, [])
            for index, fault in enumerate(pending):
                if path.startswith(fault["path_prefix"]):
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        pending.pop(index)
                    self.store.save(document)
                    fault["count"] = max(fault["count"], 1)
                    return Fault.model_validate(fault)
        return None


class PortApp:
    """The WSGI application on one port: admin routes, faults, then the emulator."""

    def __init__(self, emulator: Emulator, faults: FaultSwitch, state_dir: Path):
        self.emulator = emulator
        self.faults = faults
        self.state_dir = state_dir
        self.started = time.time()

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(ADMIN_PREFIX):
            return self._admin(path[len(ADMIN_PREFIX) :], environ, start_response)
        fault = self.faults.take(path)
        if fault is not None:
            injected = self._inject(fault, environ, start_response)
            if injected is not None:
                return injected
        return self.emulator.wsgi(environ, start_response)

    def _inject(
        self, fault: Fault, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes] | None:
        log.info("injecting %s fault on %s", fault.kind, environ.get("PATH_INFO"))
        if fault.kind == "latency":
            time.sleep(fault.latency_ms / 1000)
            return None
        if fault.kind == "drop":
            connection = environ.get("werkzeug.socket")
            if isinstance(connection, socket.socket):
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            # The server's write then fails on the closed socket and is dropped.
            start_response("503 Dropped", [("Content-Length", "0")])
            return []
        extra = []
        if fault.retry_after is not None:
            extra.append(("Retry-After", str(fault.retry_after)))
        body = self.emulator.fault_body(fault.status)
        return _json(start_response, f"{fault.status} Injected", body, extra)

    def _admin(
        self, route: str, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if route == "health" and method == "GET":
            body = {
                "status": "ok",
                "emulator": self.emulator.context.name,
                "implemented": not isinstance(self.emulator, HealthOnly),
                "pid": os.getpid(),
                "state_dir": str(self.state_dir),
                "uptime_s": round(time.time() - self.started, 1),
                **self.emulator.health(),
            }
            return _json(start_response, "200 OK", body)
        if route == "faults" and method == "GET":
            return _json(start_response, "200 OK", self.faults.get())
        if route == "faults" and method == "PUT":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length)
            try:
                faults = FAULTS.validate_json(raw or b"[]")
            except ValidationError as error:
                problem = {"error": "invalid faults", "detail": str(error)[:500]}
                return _json(start_response, "400 Bad Request", problem)
            self.faults.set(faults)
            return _json(start_response, "200 OK", self.faults.get())
        if route == "faults" and method == "DELETE":
            self.faults.set([])
            return _json(start_response, "200 OK", [])
        if route == "reset" and method == "POST":
            self.emulator.reset()
            return _json(start_response, "200 OK", {"status": "reset"})
        return _json(start_response, "404 Not Found", {"error": "no such admin route"})


def _check_bindable(host: str, port: int) -> None:
    """Raise OSError when `host:port` cannot be bound (as the server would bind it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


class Host:
    """Builds every emulator and serves each on its port until stopped."""

    def __init__(self, sandbox: SandboxSettings, state_dir: Path) -> None:
        self.sandbox = sandbox
        self.state_dir = state_dir
        self.tls: TlsFiles = ensure_ca(state_dir)
        self.servers: list[BaseWSGIServer] = []
        self.threads: list[threading.Thread] = []
        self.stopping = threading.Event()
        self.apps: dict[str, PortApp] = {}
        self._build()

    def _build(self) -> None:
        found = discover()
        missing = sorted(set(found) - set(self.sandbox.ports))
        if missing:
            raise ConfigError(
                f"sandbox.ports.{missing[0]}",
                "has no port and its emulator is installed",
                f"add `{missing[0]}: <port>` under sandbox.ports",
            )
        base_urls = {
            name: f"https://{self._url_host()}:{port}"
            for name, port in self.sandbox.ports.items()
        }
        host_store = StateStore(self.state_dir / "host.json")
        credentials = CredentialBook(self.state_dir / "credentials.json")
        identifiers = CredentialBook(self.state_dir / "identifiers.json")
        for name in self.sandbox.ports:
            cls = found.get(name, HealthOnly)
            context = EmulatorContext(
                name=name,
                store=StateStore(
                    self.state_dir / "state" / f"{name}.json",
                    format=f"{cls.__name__}/{cls.state_version}",
                ),
                base_urls=base_urls,
                ca_file=self.tls.ca_cert,
                seed=self.sandbox.seed,
                config=self.sandbox.emulators.get(name, {}),
                credentials=credentials,
                identifiers=identifiers,
            )
            emulator = cls(context)
            switch = FaultSwitch(name, host_store)
            if name in self.sandbox.faults:
                switch.set(self.sandbox.faults[name])
            self.apps[name] = PortApp(emulator, switch, self.state_dir)

    def _url_host(self) -> str:
        host = self.sandbox.host
        return f"[{host}]" if ":" in host else host

    def start(self) -> None:
        """Bind every port and serve each in a thread."""
        context = self.tls.server_context()
        for name, app in self.apps.items():
            port = self.sandbox.ports[name]
            try:
                # werkzeug exits the process on a port in use, so ask first.
                _check_bindable(self.sandbox.host, port)
                server = make_server(
                    self.sandbox.host, port, app, threaded=True, ssl_context=context
                )
            except OSError as error:
                self.stop()
                raise ConfigError(
                    f"sandbox.ports.{name}",
                    f"port {port} cannot be bound ({error.strerror})",
                    f"free port {port} or set another with -p sandbox.ports.{name}=N",
                ) from error
            self.servers.append(server)
            thread = threading.Thread(
                target=server.serve_forever, name=f"sandbox-{name}", daemon=True
            )
            thread.start()
            self.threads.append(thread)
            log.info("%s emulator on https://%s:%d", name, self._url_host(), port)

    def stop(self) -> None:
        """Stop every server and wait for its thread."""
        for server in self.servers:
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(timeout=10)
        self.servers.clear()
        self.threads.clear()

    def serve(self) -> None:
        """Serve until SIGTERM or SIGINT, then stop cleanly."""

        def request_stop(signum: int, frame: FrameType | None) -> None:
            log.info("signal %d received; stopping the sandbox", signum)
            self.stopping.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        self.start()
        logs.console.info(
            "sandbox serving; state in %s; Ctrl-C stops it", self.state_dir
        )
        pid_file = self.state_dir / "sandbox.pid"
        pid_file.write_text(str(os.getpid()))
        try:
            while not self.stopping.wait(0.5):
                pass
        finally:
            self.stop()
            pid_file.unlink(missing_ok=True)
            log.info("sandbox stopped")
