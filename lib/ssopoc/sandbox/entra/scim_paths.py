"""Target attribute names of a SCIM schema, read from and written into resources.

Entra names SCIM target attributes as paths (microsoft.md §4.3 [C]): `userName`,
`name.givenName`, `emails[type eq "work"].value`, and extension attributes by
their schema URN, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:
department`.
"""

from __future__ import annotations

import re
from typing import Any

_FILTERED = re.compile(r'^(\w+)\[type eq "([^"]+)"\]\.(\w+)$')
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _split_urn(path: str) -> tuple[str, str] | None:
    if path.startswith("urn:") and ":" in path:
        urn, _, leaf = path.rpartition(":")
        return urn, leaf
    return None


def read(resource: dict[str, Any], path: str) -> Any:
    """The value at `path` in a SCIM resource, or None."""
    urn = _split_urn(path)
    if urn is not None:
        extension = resource.get(urn[0])
        return extension.get(urn[1]) if isinstance(extension, dict) else None
    filtered = _FILTERED.match(path)
    if filtered is not None:
        name, kind, leaf = filtered.groups()
        for item in resource.get(name) or []:
            if isinstance(item, dict) and item.get("type") == kind:
                return item.get(leaf)
        return None
    current: Any = resource
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def write(body: dict[str, Any], path: str, value: Any) -> None:
    """Set `path` in a resource body being built for a POST."""
    urn = _split_urn(path)
    if urn is not None:
        body.setdefault(urn[0], {})[urn[1]] = value
        schemas = body.setdefault("schemas", [])
        if urn[0] not in schemas:
            schemas.append(urn[0])
        return
    filtered = _FILTERED.match(path)
    if filtered is not None:
        name, kind, leaf = filtered.groups()
        items = body.setdefault(name, [])
        entry = next((i for i in items if i.get("type") == kind), None)
        if entry is None:
            entry = {"type": kind}
            if name == "emails" and kind == "work":
                entry["primary"] = True
            items.append(entry)
        entry[leaf] = value
        return
    parts = path.split(".")
    node = body
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def same(current: Any, wanted: Any, case_exact: bool) -> bool:
    """Whether a target's current value already equals the evaluated one."""
    if current is None:
        return wanted is None
    if isinstance(current, bool):
        return str(current).lower() == str(wanted).lower()
    if isinstance(current, str) and isinstance(wanted, str) and not case_exact:
        return current.lower() == wanted.lower()
    return bool(current == wanted)
