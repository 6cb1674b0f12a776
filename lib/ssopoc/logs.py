"""Logging set-up: files per run, the console, and one redacting filter on each.

The library logs and never prints. `ssopoc.console` is the logger whose lines a
person at the terminal sees (progress, summaries); everything else goes to the log
file of the run, and warnings also reach standard error.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from ssopoc.redact import RedactingFilter

console = logging.getLogger("ssopoc.console")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MARK = "_ssopoc_handler"


def _handler(handler: logging.Handler, level: int, fmt: str) -> logging.Handler:
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(RedactingFilter())
    setattr(handler, _MARK, True)
    return handler


def configure(log_file: Path | None, *, console_stream: bool = True) -> None:
    """Send `ssopoc` logs to `log_file` (INFO), warnings to stderr, and console
    lines to stdout; replaces any handlers an earlier call installed."""
    root = logging.getLogger("ssopoc")
    root.setLevel(logging.INFO)
    # Warnings from every library (ours, msal, httpx, papermill) reach standard
    # error through one redacting handler on the root logger.
    top = logging.getLogger()
    if not any(getattr(h, _MARK, False) for h in top.handlers):
        top.addHandler(
            _handler(logging.StreamHandler(sys.stderr), logging.WARNING, _FORMAT)
        )
    for logger in (root, console):
        for old in [h for h in logger.handlers if getattr(h, _MARK, False)]:
            logger.removeHandler(old)
            old.close()
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        root.addHandler(_handler(file_handler, logging.INFO, _FORMAT))
    if console_stream:
        console.addHandler(
            _handler(logging.StreamHandler(sys.stdout), logging.INFO, "%(message)s")
        )
