"""Durable emulator state: one JSON document per emulator, written atomically.

Each write goes to a temporary file that replaces the document in one rename, so a
crash or a kill never leaves half a document behind and a restart loses nothing.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class StateStore:
    """A JSON document on disk with a lock for the emulator that owns it.

    `format` names the shape of the document (e.g. `entra/1`). A saved document of
    another format, left by an older version of the emulator, is not handed back:
    the emulator then seeds afresh instead of failing on it.
    """

    FORMAT_KEY = "_format"

    def __init__(self, path: Path, format: str = "") -> None:
        self.path = path
        self.format = format
        self.lock = threading.RLock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def load(self) -> dict[str, Any] | None:
        """Return the saved document, or None when none of this format was saved."""
        with self.lock:
            if not self.path.is_file():
                return None
            loaded: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
            found = loaded.pop(self.FORMAT_KEY, "")
            if found != self.format:
                log.warning(
                    "%s holds state of format %r, not %r: seeding afresh",
                    self.path,
                    found,
                    self.format,
                )
                return None
            return loaded

    def save(self, document: dict[str, Any]) -> None:
        """Replace the saved document in one atomic rename."""
        with self.lock:
            stamped = {**document, self.FORMAT_KEY: self.format}
            temporary = self.path.with_suffix(f".tmp-{os.getpid()}")
            temporary.write_text(
                json.dumps(stamped, indent=1, sort_keys=True, default=str),
                encoding="utf-8",
            )
            os.replace(temporary, self.path)

    def clear(self) -> None:
        """Forget the saved document."""
        with self.lock:
            self.path.unlink(missing_ok=True)
