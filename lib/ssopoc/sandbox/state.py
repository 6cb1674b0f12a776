"""Durable emulator state: one JSON document per emulator, written atomically.

Each write goes to a temporary file that replaces the document in one rename, so a
crash or a kill never leaves half a document behind and a restart loses nothing.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


class StateStore:
    """A JSON document on disk with a lock for the emulator that owns it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def load(self) -> dict[str, Any] | None:
        """Return the saved document, or None when nothing was saved yet."""
        with self.lock:
            if not self.path.is_file():
                return None
            loaded: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
            return loaded

    def save(self, document: dict[str, Any]) -> None:
        """Replace the saved document in one atomic rename."""
        with self.lock:
            temporary = self.path.with_suffix(f".tmp-{os.getpid()}")
            temporary.write_text(
                json.dumps(document, indent=1, sort_keys=True, default=str),
                encoding="utf-8",
            )
            os.replace(temporary, self.path)

    def clear(self) -> None:
        """Forget the saved document."""
        with self.lock:
            self.path.unlink(missing_ok=True)
