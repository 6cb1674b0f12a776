"""Microsoft Entra ID in the sandbox: the identity platform, Graph, provisioning.

Served on `sandbox.ports.entra` (8441 by default); see `ssopoc.sandbox.entra`.
"""

from ssopoc.sandbox.entra.emulator import EntraEmulator

EMULATOR = EntraEmulator
