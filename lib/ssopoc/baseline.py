"""`make baseline`: re-record the notebooks' reference outputs after an intended change.

The notebooks run in sandbox mode into a fresh run folder; then each source notebook
takes the outputs of its executed copy, cell by cell (matched by cell id), so the
sources keep their own text and metadata. nbval compares against these outputs.
"""

from __future__ import annotations

import nbformat

from ssopoc import logs
from ssopoc.errors import ConfigError
from ssopoc.runner import notebooks, run_notebooks, select
from ssopoc.sandbox.control import ensure_running, reset_all
from ssopoc.settings import Settings

PAPERMILL_KEYS = ("papermill",)


def adopt_outputs(
    source: nbformat.NotebookNode, executed: nbformat.NotebookNode
) -> int:
    """Copy outputs and execution counts from `executed` into `source` by cell id.

    Returns how many code cells took outputs. Papermill's injected-parameters cell
    has no twin in the source and is left out.
    """
    by_id = {cell.get("id"): cell for cell in executed.cells}
    adopted = 0
    for cell in source.cells:
        if cell.cell_type != "code":
            continue
        twin = by_id.get(cell.get("id"))
        if twin is None:
            continue
        cell.outputs = twin.get("outputs", [])
        cell.execution_count = twin.get("execution_count")
        for key in PAPERMILL_KEYS:
            cell.metadata.pop(key, None)
        adopted += 1
    return adopted


def record_baselines(settings: Settings, only: list[str] | None = None) -> int:
    """Run the notebooks in sandbox mode and store their outputs as the reference."""
    if settings.mode != "sandbox":
        raise ConfigError("mode", "is live", "record baselines with sandbox params")
    # Reference outputs are taken from a freshly seeded sandbox, as nbval runs them.
    handle = ensure_running(settings)
    try:
        reset_all(handle)
        code, run_dir = run_notebooks(settings, only)
    finally:
        handle.stop()
    if code != 0:
        logs.console.info("baseline not recorded: the run did not end cleanly")
        return code
    for path in select(notebooks(settings.root), only):
        source = nbformat.read(path, as_version=4)
        executed = nbformat.read(run_dir / path.name, as_version=4)
        count = adopt_outputs(source, executed)
        nbformat.write(source, path)
        logs.console.info("%s: %d cells re-recorded", path.name, count)
    return 0
