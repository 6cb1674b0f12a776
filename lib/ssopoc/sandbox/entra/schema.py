"""Synchronization schemas: the template fixture, lookups and validation.

The Atlassian Cloud template schema is a JSON fixture
(`fixtures/atlassian_schema.json`, microsoft.md §3.6 shape, §4.5 mappings). Its
default expressions, matching priorities and target directory name are [U]; a
schema dumped from a live tenant (`GET .../jobs/{id}/schema`) can replace the file,
or be named by the `schema_fixture` setting.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from ssopoc.errors import ConfigError
from ssopoc.sandbox.entra.errors import GraphError, bad_request
from ssopoc.sandbox.entra.expressions import (
    ExpressionSyntaxError,
    referenced_attributes,
)

FIXTURE = Path(__file__).with_name("fixtures") / "atlassian_schema.json"


def load_fixture(path: str = "") -> dict[str, Any]:
    """The template schema; raises `ConfigError` when the named file is unusable."""
    file = Path(path) if path else FIXTURE
    try:
        loaded: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(
            "sandbox.emulators.entra.schema_fixture",
            f"{str(file)!r} is not a readable JSON schema ({type(error).__name__})",
            "give the path of a schema saved from GET .../jobs/{id}/schema",
        ) from error
    validate(loaded)
    return loaded


def rule(schema: dict[str, Any], rule_id: str | None = None) -> dict[str, Any] | None:
    """The synchronization rule with `rule_id`, or the first when None."""
    rules = schema.get("synchronizationRules", [])
    if rule_id is None:
        return rules[0] if rules else None
    return next((r for r in rules if r.get("id") == rule_id), None)


def object_mapping(
    schema: dict[str, Any], object_name: str, rule_id: str | None = None
) -> dict[str, Any] | None:
    """The enabled object mapping for a source object type (`User`, `Group`)."""
    found = rule(schema, rule_id)
    for mapping in (found or {}).get("objectMappings", []):
        if mapping.get("sourceObjectName") == object_name and mapping.get("enabled"):
            return dict(mapping)
    return None


def attributes(
    schema: dict[str, Any], directory: str, object_name: str
) -> dict[str, dict[str, Any]]:
    """Attribute definitions of one directory's object, by name."""
    for item in schema.get("directories", []):
        if item.get("name") == directory:
            for obj in item.get("objects", []):
                if obj.get("name") == object_name:
                    return {a["name"]: a for a in obj.get("attributes", [])}
    return {}


def validate(schema: dict[str, Any]) -> None:
    """Check a schema document before it replaces a job's schema.

    microsoft.md §7: every mapping's source attributes must exist in the source
    directory's object and its target attribute in the target's. Microsoft's error
    shape for an invalid schema is [U] (§8.3): the sandbox answers `400
    Request_BadRequest` naming the rule, the object mapping and the attribute.
    """
    if not isinstance(schema, dict) or not isinstance(
        schema.get("synchronizationRules"), list
    ):
        raise bad_request("The schema must carry directories and synchronizationRules.")
    for item in schema["synchronizationRules"]:
        for mapping in item.get("objectMappings", []):
            source = attributes(
                schema, item.get("sourceDirectoryName", ""), mapping["sourceObjectName"]
            )
            target = attributes(
                schema, item.get("targetDirectoryName", ""), mapping["targetObjectName"]
            )
            where = f"rule {item.get('name')}, mapping '{mapping.get('name')}'"
            for attribute_mapping in mapping.get("attributeMappings", []):
                _check_mapping(attribute_mapping, source, target, where)


def _check_mapping(
    mapping: dict[str, Any],
    source: dict[str, Any],
    target: dict[str, Any],
    where: str,
) -> None:
    name = mapping.get("targetAttributeName")
    if name not in target:
        raise _schema_error(
            f"{where}: target attribute '{name}' is not defined in the target "
            "directory's object"
        )
    expression = source_expression(mapping)
    if expression is None:
        return
    try:
        used = referenced_attributes(expression)
    except ExpressionSyntaxError as error:
        raise _schema_error(
            f"{where}: the expression for '{name}' does not parse: {error}"
        ) from error
    for attribute in sorted(used):
        if attribute not in source:
            raise _schema_error(
                f"{where}: source attribute '{attribute}' of the mapping to '{name}' "
                "is not defined in the source directory's object (names are "
                "case-sensitive)"
            )


def _schema_error(message: str) -> GraphError:
    return bad_request(message, details=[{"code": "SchemaAttributeNotFound"}])


def source_expression(mapping: dict[str, Any]) -> str | None:
    """The expression text of a mapping's source, or None for a mapping of type None.

    A source given only by `name` and `type` is written as Entra writes it:
    `[name]` for an attribute, `"name"` for a constant.
    """
    source = mapping.get("source")
    if not source:
        return None
    if source.get("expression"):
        return str(source["expression"])
    if source.get("type") == "Constant":
        return '"' + str(source.get("name", "")).replace('"', '\\"') + '"'
    if source.get("name"):
        return f"[{source['name']}]"
    return None


def fresh(template: dict[str, Any], job_id: str) -> dict[str, Any]:
    """A job's own copy of a template schema."""
    schema = copy.deepcopy(template)
    schema["id"] = job_id
    return schema
