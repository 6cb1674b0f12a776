"""A synchronization schema in hand: find a mapping, change its source, snapshot.

The schema is Graph's document (microsoft.md §3.6): `synchronizationRules[]` →
`objectMappings[]` → `attributeMappings[]`. A PUT replaces the whole schema, so
changes are made to a full copy and written back whole; `snapshot()` keeps a copy
to restore afterwards.
"""

from __future__ import annotations

import copy
from typing import Any


class MappingNotFoundError(LookupError):
    """No attribute mapping targets the named attribute."""


class Schema:
    """A job's schema document with helpers; `document` is sent back as it is."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    @property
    def rules(self) -> list[dict[str, Any]]:
        """The synchronization rules."""
        rules: list[dict[str, Any]] = self.document.get("synchronizationRules", [])
        return rules

    def rule_id(self, object_name: str = "User") -> str:
        """The id of the rule that provisions `object_name` (for provisionOnDemand)."""
        for rule in self.rules:
            for mapping in rule.get("objectMappings", []):
                if mapping.get("sourceObjectName") == object_name:
                    return str(rule["id"])
        raise MappingNotFoundError(f"no rule maps source objects of type {object_name}")

    def object_mapping(self, object_name: str = "User") -> dict[str, Any]:
        """The object mapping for a source object type."""
        for rule in self.rules:
            for mapping in rule.get("objectMappings", []):
                if mapping.get("sourceObjectName") == object_name:
                    found: dict[str, Any] = mapping
                    return found
        raise MappingNotFoundError(f"no object mapping for {object_name}")

    def mapping_for(self, target: str, object_name: str = "User") -> dict[str, Any]:
        """The attribute mapping whose target is `target`, e.g.
        `emails[type eq "work"].value`. Raises `MappingNotFoundError`."""
        for mapping in self.object_mapping(object_name).get("attributeMappings", []):
            if mapping.get("targetAttributeName") == target:
                found: dict[str, Any] = mapping
                return found
        names = [
            m.get("targetAttributeName")
            for m in self.object_mapping(object_name).get("attributeMappings", [])
        ]
        raise MappingNotFoundError(
            f"no {object_name} mapping targets {target!r}; targets are: {names}"
        )

    def source_expression(self, target: str, object_name: str = "User") -> str:
        """The source expression of the mapping to `target`."""
        source = self.mapping_for(target, object_name).get("source") or {}
        return str(source.get("expression") or "")

    def set_source_expression(
        self, target: str, expression: str, object_name: str = "User"
    ) -> None:
        """Make the mapping to `target` evaluate `expression`.

        A bare `[attribute]` becomes an `Attribute` source; anything else a
        `Function` source whose parameters the service reads from the expression.
        """
        mapping = self.mapping_for(target, object_name)
        text = expression.strip()
        inner = text[1:-1]
        if text.startswith("[") and text.endswith("]") and "[" not in inner:
            mapping["source"] = {
                "expression": text,
                "name": inner,
                "parameters": [],
                "type": "Attribute",
            }
        else:
            mapping["source"] = {
                "expression": text,
                "name": text.split("(", 1)[0].strip(),
                "parameters": [],
                "type": "Function",
            }

    def add_source_attribute(
        self, name: str, object_name: str = "User", attribute_type: str = "String"
    ) -> None:
        """Declare a source attribute (e.g. a directory extension) in the schema."""
        for directory in self.document.get("directories", []):
            source_names = {r.get("sourceDirectoryName") for r in self.rules}
            if directory.get("name") not in source_names:
                continue
            for obj in directory.get("objects", []):
                if obj.get("name") == object_name and not any(
                    a.get("name") == name for a in obj.get("attributes", [])
                ):
                    obj.setdefault("attributes", []).append(
                        {"name": name, "type": attribute_type, "multivalued": False}
                    )

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the whole document, to restore later."""
        return copy.deepcopy(self.document)
