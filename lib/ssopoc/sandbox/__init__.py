"""The sandbox: local emulators of the cloud services, served over HTTPS on loopback.

`ssopoc sandbox` runs the host (`ssopoc.sandbox.host`), which serves every emulator
found in `ssopoc.sandbox.emulators` on its own port. Library code and notebooks use
only `ensure_running` from here; the emulators meet the library over HTTP.
"""

from ssopoc.sandbox.control import (
    SandboxHandle,
    ensure_running,
    read_credentials,
    read_identifiers,
)

__all__ = ["SandboxHandle", "ensure_running", "read_credentials", "read_identifiers"]
