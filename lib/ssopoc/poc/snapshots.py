"""Snapshots of what a notebook changes in a tenant, and their restoration.

Before a notebook edits the provisioning schema it saves the whole schema here. The
snapshot is written twice: into the run folder as evidence
(`snapshots/<name>.json`), and as a *pending* marker under
`<outputs>/.pending-restores/`. Restoring the snapshot removes the marker. A marker
that is still there means the restore has not happened: the notebook failed or was
interrupted. The runner restores the run's pending snapshots after its notebooks,
and `08_cleanup` restores every pending one, so a tenant never keeps a half-done
mapping edit.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ssopoc.settings import Settings

if TYPE_CHECKING:
    from ssopoc.entra import EntraClient

log = logging.getLogger(__name__)

PENDING = ".pending-restores"


@dataclass(frozen=True)
class Snapshot:
    """A saved provisioning schema and where it came from."""

    marker: Path
    run_id: str
    mode: str
    sp_id: str
    job_id: str
    document: dict[str, Any]


def pending_dir(settings: Settings) -> Path:
    """Where pending-restore markers live for this outputs folder."""
    return settings.path(settings.params.outputs_dir) / PENDING


def save_schema(
    settings: Settings,
    run_dir: Path,
    run_id: str,
    sp_id: str,
    job_id: str,
    document: dict[str, Any],
) -> Path:
    """Save a schema snapshot as evidence and as a pending restore; return its path."""
    name = f"schema-{job_id}"
    body = {
        "kind": "entra-provisioning-schema",
        "run_id": run_id,
        "mode": settings.mode,
        "sp_id": sp_id,
        "job_id": job_id,
        "taken": datetime.now(UTC).isoformat(timespec="seconds"),
        "document": document,
    }
    text = json.dumps(body, indent=1, sort_keys=True)
    evidence = run_dir / "snapshots" / f"{name}.json"
    evidence.parent.mkdir(parents=True, exist_ok=True)
    evidence.write_text(text, encoding="utf-8")
    marker = pending_dir(settings) / f"{settings.mode}-{run_id}-{name}.json"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(text, encoding="utf-8")
    log.info("schema of job %s saved; restore pending at %s", job_id, marker)
    return evidence


def pending(settings: Settings, run_id: str | None = None) -> list[Snapshot]:
    """Snapshots not yet restored, of this mode (and of one run when given)."""
    found = []
    for marker in sorted(pending_dir(settings).glob(f"{settings.mode}-*.json")):
        body = json.loads(marker.read_text(encoding="utf-8"))
        if run_id is not None and body["run_id"] != run_id:
            continue
        found.append(
            Snapshot(
                marker=marker,
                run_id=body["run_id"],
                mode=body["mode"],
                sp_id=body["sp_id"],
                job_id=body["job_id"],
                document=body["document"],
            )
        )
    return found


def restore(entra: EntraClient, snapshot: Snapshot) -> None:
    """Put the saved schema back and drop its pending marker.

    Raises the Graph error of the PUT; the marker then stays for a later try.
    """
    entra.provisioning.put_schema(snapshot.sp_id, snapshot.job_id, snapshot.document)
    snapshot.marker.unlink(missing_ok=True)
    log.info("schema of job %s restored from run %s", snapshot.job_id, snapshot.run_id)


def restore_pending(
    entra: EntraClient, settings: Settings, run_id: str | None = None
) -> list[Snapshot]:
    """Restore every pending snapshot (of one run when given); return them."""
    done = []
    for snapshot in pending(settings, run_id):
        restore(entra, snapshot)
        done.append(snapshot)
    return done
