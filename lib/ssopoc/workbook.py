"""The setup call of every notebook: settings, run folder, evidence, clients.

`start("00_check_environment")` reads what the runner passed through the
environment (run folder, params file, overrides), or falls back to the defaults
when a person opens the notebook in JupyterLab. In sandbox mode it makes sure the
sandbox answers, starting it if needed. Secrets are never passed in: the library
reads them itself.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from ssopoc import logs
from ssopoc.errors import ConfigError
from ssopoc.evidence import Evidence
from ssopoc.http import make_client
from ssopoc.sandbox import SandboxHandle, ensure_running
from ssopoc.services import Endpoint, endpoints
from ssopoc.settings import Settings, load_settings
from ssopoc.transcript import Transcript

log = logging.getLogger(__name__)

ENV_RUN_DIR = "SSOPOC_RUN_DIR"
ENV_PARAMS = "SSOPOC_PARAMS_FILE"
ENV_OVERRIDES = "SSOPOC_OVERRIDES"
ENV_RUN_ID = "SSOPOC_RUN_ID"


def run_stamp(now: datetime | None = None) -> str:
    """A UTC timestamp for folder names and prefixes: `20261203T184501Z`."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class Workbook:
    """Everything one notebook needs, made by `start`."""

    notebook: str
    settings: Settings
    run_dir: Path
    run_id: str
    evidence: Evidence
    transcript: Transcript
    sandbox: SandboxHandle | None

    @property
    def mode(self) -> str:
        """`sandbox` or `live`."""
        return self.settings.mode

    @property
    def prefix(self) -> str:
        """The prefix every object this run creates carries, e.g. `ssopoc-1a2b3c-`."""
        return f"{self.settings.params.object_prefix}-{self.run_id}-"

    def endpoints(self) -> list[Endpoint]:
        """The services of this run and their base URLs."""
        urls = self.sandbox.base_urls if self.sandbox else None
        return endpoints(self.settings, urls)

    def client(
        self, service: str, base_url: str = "", **kwargs: object
    ) -> httpx.Client:
        """An HTTP client for `service` with the workbook's policies and transcript."""
        http = self.settings.params.http
        return make_client(
            service,
            base_url=base_url,
            timeouts=http.timeouts,
            retries=http.retries,
            ca_file=self.sandbox.ca_file if self.sandbox else None,
            transcript=self.transcript,
            **kwargs,  # type: ignore[arg-type]
        )


def start(notebook: str) -> Workbook:
    """Open the workbook for one notebook (the first code cell of every notebook).

    Raises `ConfigError` for bad parameters and `SandboxError` when the sandbox
    cannot be started.
    """
    params_file = os.environ.get(ENV_PARAMS) or None
    overrides = tuple(json.loads(os.environ.get(ENV_OVERRIDES) or "[]"))
    settings = load_settings(params_file, overrides)
    run_id = os.environ.get(ENV_RUN_ID) or run_stamp().lower()[2:13].replace("t", "")
    run_dir_text = os.environ.get(ENV_RUN_DIR)
    if run_dir_text:
        run_dir = Path(run_dir_text)
    else:
        outputs = settings.path(settings.params.outputs_dir)
        run_dir = outputs / f"{run_stamp()}-{settings.mode}-interactive"
    run_dir.mkdir(parents=True, exist_ok=True)
    logs.configure(run_dir / f"{notebook}.log", console_stream=False)

    if settings.mode == "live" and not settings.params.allow_writes:
        log.warning("live mode with allow_writes false: notebooks will only read")
    sandbox = ensure_running(settings) if settings.mode == "sandbox" else None
    if sandbox and sandbox.started_here:
        log.info("this notebook started the sandbox; it keeps running for the session")
    if not notebook.strip():
        raise ConfigError("notebook", "is empty", "pass the notebook's file stem")
    return Workbook(
        notebook=notebook,
        settings=settings,
        run_dir=run_dir,
        run_id=run_id,
        evidence=Evidence(run_dir / "evidence.jsonl", notebook),
        transcript=Transcript(run_dir / f"transcript-{notebook}.jsonl"),
        sandbox=sandbox,
    )
