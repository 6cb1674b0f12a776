"""The emulated tenant's state: one JSON document, a clock, deterministic ids.

The document lives in memory and is written to the emulator's `StateStore` after
every change, so a restart of the sandbox loses nothing. Its top-level keys:

- `tenant`: id, display name and verified domains;
- `applications`, `servicePrincipals`, `appRoleAssignments`, `groups`, `users`,
  `deletedItems`, `purged` (tombstones the provisioning engine still has to act on);
- `synchronization`: per service principal, its secrets and jobs (with schema and
  engine state);
- `provisioningLogs`: the provisioning object summaries, oldest first;
- `counter`, `changeSeq`, `clockOffset`: id sequence, change sequence, clock skew.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ssopoc.sandbox.state import StateStore


def iso(moment: datetime) -> str:
    """Graph's timestamp form: `2026-12-03T18:45:01Z` (UTC, whole seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Read a timestamp written by `iso` (or any ISO 8601 form with a zone)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Tenant:
    """The state document with its lock, clock and id source.

    Callers hold `lock` around a read-modify-save sequence; `save` writes the
    document atomically.
    """

    def __init__(self, store: StateStore, seed: int) -> None:
        self.store = store
        self.seed = seed
        self.lock: threading.RLock = store.lock
        self.doc: dict[str, Any] = {}

    # -- clock ---------------------------------------------------------------------

    def now(self) -> datetime:
        """The emulator's time: the wall clock plus the offset set by an admin call."""
        offset = float(self.doc.get("clockOffset", 0.0))
        return datetime.fromtimestamp(time.time() + offset, UTC)

    def stamp(self) -> str:
        """`now()` as a Graph timestamp."""
        return iso(self.now())

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward (tests of expiry, escrow, cycles)."""
        with self.lock:
            self.doc["clockOffset"] = float(self.doc.get("clockOffset", 0.0)) + seconds
            self.save()

    def later(self, seconds: float) -> str:
        """The timestamp `seconds` from now."""
        return iso(self.now() + timedelta(seconds=seconds))

    # -- ids -----------------------------------------------------------------------

    def _rng(self) -> random.Random:
        with self.lock:
            counter = int(self.doc.get("counter", 0)) + 1
            self.doc["counter"] = counter
        return random.Random(f"{self.seed}:{counter}")

    def new_id(self) -> str:
        """A fresh object id, the same for the same seed and call order."""
        return str(uuid.UUID(int=self._rng().getrandbits(128), version=4))

    def new_hex(self) -> str:
        """32 hex digits (the tail of a job id, a change id)."""
        return f"{self._rng().getrandbits(128):032x}"

    def derived_secret(self, purpose: str) -> str:
        """A secret fixed by the seed, in the shape of an Entra client secret.

        Entra client secrets are 40 characters with `8Q~` after a 3-character hint.
        """
        digest = hashlib.sha256(f"ssopoc-entra:{self.seed}:{purpose}".encode())
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-."
        chars = [alphabet[b % len(alphabet)] for b in digest.digest()]
        return "".join(chars[:3]) + "8Q~" + "".join(chars[3:32]) + "x0Lm3"

    # -- persistence and change tracking -------------------------------------------

    def load(self, document: dict[str, Any]) -> None:
        """Take up a saved document."""
        with self.lock:
            self.doc = document

    def save(self) -> None:
        """Write the document."""
        with self.lock:
            self.store.save(self.doc)

    def touch(self, *object_ids: str) -> None:
        """Mark users or groups as changed for the engine's incremental cycles."""
        with self.lock:
            seq = int(self.doc.get("changeSeq", 0)) + 1
            self.doc["changeSeq"] = seq
            for object_id in object_ids:
                found = (
                    self.doc["users"].get(object_id)
                    or self.doc["deletedItems"].get(object_id)
                    or self.doc.get("groups", {}).get(object_id)
                )
                if found is not None:
                    found["_changeSeq"] = seq

    def collection(self, name: str) -> dict[str, dict[str, Any]]:
        """One top-level collection of objects by id."""
        found: dict[str, dict[str, Any]] = self.doc.setdefault(name, {})
        return found

    def tenant_id(self) -> str:
        """The tenant's id."""
        return str(self.doc["tenant"]["id"])

    def verified_domains(self) -> list[str]:
        """The tenant's verified domain names, lower-cased."""
        return [d["name"].lower() for d in self.doc["tenant"]["verifiedDomains"]]
