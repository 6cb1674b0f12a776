"""The emulators the sandbox serves, one module each.

A module here that defines `EMULATOR` (a subclass of `ssopoc.sandbox.base.Emulator`)
is served on the port `sandbox.ports[EMULATOR.name]`.
"""

from __future__ import annotations

import importlib
import pkgutil

from ssopoc.sandbox.base import Emulator


def discover() -> dict[str, type[Emulator]]:
    """Find every emulator class in this package, by name."""
    found: dict[str, type[Emulator]] = {}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        emulator = getattr(module, "EMULATOR", None)
        if isinstance(emulator, type) and issubclass(emulator, Emulator):
            found[emulator.name] = emulator
    return found
