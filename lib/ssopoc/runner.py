"""`ssopoc run`: execute the notebooks headless into a new run folder.

The run folder `outputs/<UTC timestamp>-<mode>/` ends up holding the executed
notebooks, `evidence.jsonl`, one transcript and one log per notebook, `run.log`,
and `findings.md`/`findings.html`. Before it reports, the runner scans every file it
wrote for every loaded secret value, and fails the run if one appears.

Exit codes: 0 done; 1 a notebook raised (or a secret leaked); 2 bad usage or
configuration, with nothing written.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssopoc import logs, redact
from ssopoc.errors import ConfigError, SecretLeakError
from ssopoc.evidence import read_records, shown
from ssopoc.report import STATUSES, summarise, write_findings
from ssopoc.sandbox import SandboxHandle, ensure_running
from ssopoc.settings import Settings
from ssopoc.workbook import (
    ENV_OVERRIDES,
    ENV_PARAMS,
    ENV_RUN_DIR,
    ENV_RUN_ID,
    run_stamp,
)

log = logging.getLogger(__name__)
say = logs.console.info

NOTEBOOK_NAME = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")


@dataclass
class NotebookResult:
    """How one notebook's execution went."""

    name: str
    ok: bool
    seconds: float
    counts: dict[str, int]
    error: str = ""


def notebooks(root: Path) -> list[Path]:
    """The workbook's notebooks, `NN_verb_object.ipynb`, in order."""
    folder = root / "notebooks"
    return sorted(p for p in folder.glob("*.ipynb") if NOTEBOOK_NAME.match(p.name))


def select(all_notebooks: list[Path], only: list[str] | None) -> list[Path]:
    """Keep the notebooks whose number is in `only` (all when `only` is empty)."""
    if not only:
        return all_notebooks
    numbers = {p.name[:2]: p for p in all_notebooks}
    for number in only:
        if number.zfill(2) not in numbers:
            raise ConfigError(
                "--only",
                f"no notebook is numbered {number!r}",
                f"use one of {', '.join(sorted(numbers))}",
            )
    wanted = {n.zfill(2) for n in only}
    return [p for p in all_notebooks if p.name[:2] in wanted]


def writes(path: Path) -> bool:
    """Whether a notebook creates or changes objects (its `ssopoc.writes` metadata)."""
    metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    return bool(metadata.get("ssopoc", {}).get("writes", False))


def notebook_parameters(settings: Settings, path: Path) -> dict[str, Any]:
    """This notebook's parameters from `notebooks:` in params, checked by name.

    Keys may be the notebook's number (`"01"`) or its stem. A name the notebook's
    `parameters` cell does not define is refused, as papermill would silently add it.
    """
    import papermill

    stem = path.stem
    chosen: dict[str, Any] = {}
    for key in (stem[:2], stem):
        chosen.update(settings.params.notebooks.get(key, {}))
    if not chosen:
        return {}
    known = {p for p in papermill.inspect_notebook(str(path))}
    for name in chosen:
        if name not in known:
            raise ConfigError(
                f"notebooks.{stem[:2]}.{name}",
                f"is not a parameter of {path.name}",
                f"use one of {', '.join(sorted(known)) or 'none'}",
            )
    return chosen


def new_run_dir(settings: Settings, outputs: Path | None) -> Path:
    """Create `outputs/<UTC timestamp>-<mode>/` (with a suffix if it exists)."""
    base = outputs or settings.path(settings.params.outputs_dir)
    base.mkdir(parents=True, exist_ok=True)
    stem = f"{run_stamp()}-{settings.mode}"
    candidate = base / stem
    number = 2
    while candidate.exists():
        candidate = base / f"{stem}-{number}"
        number += 1
    candidate.mkdir()
    return candidate


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def execute(path: Path, run_dir: Path, parameters: dict[str, Any]) -> NotebookResult:
    """Execute one notebook with papermill into the run folder."""
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

    # The kernel's channels are Unix sockets in the user's runtime folder, not
    # loopback TCP ports that any local process could connect to.
    kernel = Config({"KernelManager": {"transport": "ipc"}})
    started = time.monotonic()
    error = ""
    try:
        papermill.execute_notebook(
            str(path),
            str(run_dir / path.name),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            cwd=str(path.parent),
            config=kernel,
        )
    except PapermillExecutionError as raised:
        error = f"{raised.ename}: {redact.text(str(raised.evalue))}"
    seconds = time.monotonic() - started
    records = [
        r
        for r in read_records(run_dir / "evidence.jsonl")
        if r["notebook"] == path.stem
    ]
    counts = summarise(records).get(path.stem, dict.fromkeys(STATUSES, 0))
    return NotebookResult(path.stem, not error, seconds, counts, error)


def restore_leftovers(settings: Settings, run_dir: Path, run_id: str) -> int:
    """Restore the schema snapshots this run's notebooks left pending.

    A notebook that raised (or was stopped) before its restore step leaves its
    snapshot pending; the runner puts it back and records that as evidence.
    Returns how many it restored.
    """
    from ssopoc.entra import EntraClient
    from ssopoc.poc import snapshots
    from ssopoc.workbook import start

    left = snapshots.pending(settings, run_id)
    if not left:
        return 0
    wb = start("runner_restore")
    entra = EntraClient.from_workbook(wb)
    try:
        done = snapshots.restore_pending(entra, settings, run_id)
        wb.evidence.check(
            "the runner restored every schema a notebook left changed",
            len(left),
            len(done),
        )
    finally:
        entra.close()
        logs.configure(run_dir / "run.log")
    say(f"{'runner':<34} restored {len(done)} schema snapshot(s) left pending")
    return len(done)


def scan_for_secrets(run_dir: Path, values: frozenset[str]) -> list[Path]:
    """Find files under `run_dir` holding a secret value; mask it in each such file.

    The leaking file keeps its place so the leak can be investigated, but never
    keeps the secret.
    """
    leaking = []
    encoded = [v.encode() for v in values if v]
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        content = path.read_bytes()
        if any(value in content for value in encoded):
            for value in encoded:
                content = content.replace(value, redact.MASK.encode())
            path.write_bytes(content)
            leaking.append(path)
    return leaking


def run(
    settings: Settings, only: list[str] | None = None, outputs: Path | None = None
) -> int:
    """Run the selected notebooks; return the exit code (see the module text)."""
    return run_notebooks(settings, only, outputs)[0]


def run_notebooks(
    settings: Settings, only: list[str] | None = None, outputs: Path | None = None
) -> tuple[int, Path]:
    """Run the selected notebooks; return the exit code and the run folder."""
    selected = select(notebooks(settings.root), only)
    parameters = {p: notebook_parameters(settings, p) for p in selected}
    # The sandbox comes first so that a sandbox that cannot start leaves no folder.
    sandbox: SandboxHandle | None = None
    if settings.mode == "sandbox":
        logs.configure(None)
        sandbox = ensure_running(settings)
    run_dir = new_run_dir(settings, outputs)
    logs.configure(run_dir / "run.log")
    say(f"run folder: {run_dir}")
    if sandbox is not None:
        state = "started" if sandbox.started_here else "already running"
        say(f"sandbox {state}: {', '.join(sandbox.base_urls.values())}")

    environment = {
        ENV_RUN_DIR: str(run_dir),
        ENV_PARAMS: str(settings.params_file),
        ENV_OVERRIDES: json.dumps(list(settings.overrides)),
        ENV_RUN_ID: run_dir.name[2:15].lower().replace("t", ""),
    }
    results = []
    try:
        with _environment(environment):
            for path in selected:
                read_only = settings.mode == "live" and not settings.params.allow_writes
                if read_only and writes(path):
                    say(f"{path.stem:<34} skipped: it writes; allow_writes is false")
                    continue
                say(f"{path.stem:<34} running")
                result = execute(path, run_dir, parameters[path])
                results.append(result)
                state = "ok" if result.ok else "RAISED"
                say(f"{path.stem:<34} {state:<7} {result.seconds:6.1f} s")
                if result.error:
                    say(f"    {result.error}")
            restore_leftovers(settings, run_dir, environment[ENV_RUN_ID])
    finally:
        if sandbox is not None:
            sandbox.stop()

    write_findings(run_dir)
    leaks = scan_for_secrets(run_dir, redact.known_values())
    _summary(results, run_dir)
    if leaks:
        names = ", ".join(str(p.relative_to(run_dir)) for p in leaks)
        log.error("%s", SecretLeakError(f"secret value found (now masked) in: {names}"))
        say(f"SECRET LEAK: a secret value was written to {names}; it is masked now")
        return 1, run_dir
    return (0 if all(r.ok for r in results) else 1), run_dir


def _summary(results: list[NotebookResult], run_dir: Path) -> None:
    header = f"{'notebook':<34} {'run':<7} " + " ".join(f"{s:>8}" for s in STATUSES)
    say("")
    say(header)
    say("-" * len(header))
    for r in results:
        state = "ok" if r.ok else "RAISED"
        say(
            f"{r.name:<34} {state:<7} "
            + " ".join(f"{r.counts.get(s, 0):>8}" for s in STATUSES)
        )
    verdicts = [
        r
        for r in read_records(run_dir / "evidence.jsonl")
        if r.get("kind") == "verdict"
    ]
    for record in verdicts:
        say("")
        say(f"{record['status']}: {record['criterion']}")
        for key, value in (record.get("observed") or {}).items():
            say(f"    {key}: {shown(value)}")
    say("")
    say(f"findings: {run_dir / 'findings.md'}")
    say(f"run folder: {run_dir}")
