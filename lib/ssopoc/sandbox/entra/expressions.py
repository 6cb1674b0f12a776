"""Parse and evaluate Entra ID provisioning attribute-mapping expressions.

The public face of the expression language (microsoft.md §4): `parse` builds the
syntax tree (grammar in `expression_syntax`), `evaluate` runs it against one user's
attributes, `to_text` and `to_mapping_source` give the `parsedExpression` of the Graph
`parseExpression` response (§3.6, §7), and `referenced_attributes` lists what an
expression reads, for schema validation. The functions live in `expression_functions`
(with `expression_text` and `expression_dates`); their behaviour follows §4.2 and the
Microsoft Learn page "Reference for writing expressions for attribute mappings in
Microsoft Entra Application Provisioning"
(https://learn.microsoft.com/entra/identity/app-provisioning/functions-for-customizing-application-data).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from datetime import datetime

from ssopoc.sandbox.entra.expression_calls import Call, Thunk
from ssopoc.sandbox.entra.expression_functions import FUNCTIONS, EvaluationContext
from ssopoc.sandbox.entra.expression_syntax import (
    MAX_EXPRESSION_LENGTH,
    AttributeRef,
    Comparison,
    Expression,
    ExpressionSyntaxError,
    FunctionCall,
    NamedConstant,
    NumberLiteral,
    StringLiteral,
    parse,
    to_text,
)
from ssopoc.sandbox.entra.expression_values import (
    ErrorCode,
    ExpressionEvaluationError,
    Internal,
    Value,
    as_utc,
    compare,
    is_null_or_empty,
    to_flow_value,
)

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "REDACTED_TEXT",
    "AttributeRef",
    "Comparison",
    "ErrorCode",
    "EvaluationContext",
    "Expression",
    "ExpressionEvaluationError",
    "ExpressionSyntaxError",
    "FunctionCall",
    "NamedConstant",
    "NumberLiteral",
    "StringLiteral",
    "Value",
    "evaluate",
    "is_multi_valued",
    "is_redacted",
    "parse",
    "referenced_attributes",
    "resolve_attribute",
    "supported_functions",
    "to_mapping_source",
    "to_text",
]

# What the provisioning logs show for a value wrapped in Redact(...) (§4.2).
REDACTED_TEXT = "[Redact]"


def to_mapping_source(expression: Expression) -> dict[str, object]:
    """The Graph `attributeMappingSource` object for an expression (§3.6).

    Shaped like the documented examples: attributes are `Attribute`, constants
    (numbers too) are `Constant` with a quoted `expression`, calls are `Function`
    with one `{key, value}` parameter per non-empty argument, keyed by parameter
    name. Assumption [U]: a comparison is a `Function` named by its operator with
    `left` and `right`; Microsoft does not document its shape.
    """
    name: str
    parameters: list[tuple[str, Expression]] = []
    if isinstance(expression, AttributeRef):
        kind, name = "Attribute", expression.name
    elif isinstance(expression, StringLiteral | NumberLiteral):
        kind, name = "Constant", str(expression.value)
        expression = StringLiteral(name)
    elif isinstance(expression, NamedConstant):
        kind, name = "Constant", expression.name
    elif isinstance(expression, Comparison):
        kind, name = "Function", expression.operator
        parameters = [("left", expression.left), ("right", expression.right)]
    else:
        kind, name, spec = "Function", expression.name, FUNCTIONS[expression.name]
        parameters = [
            (spec.label(index), argument)
            for index, argument in enumerate(expression.arguments)
            if argument is not None
        ]
    return {
        "expression": to_text(expression),
        "name": name,
        "parameters": [
            {"key": key, "value": to_mapping_source(value)} for key, value in parameters
        ],
        "type": kind,
    }


def _walk(expression: Expression) -> Iterator[Expression]:
    yield expression
    if isinstance(expression, Comparison):
        yield from _walk(expression.left)
        yield from _walk(expression.right)
    elif isinstance(expression, FunctionCall):
        for argument in expression.arguments:
            if argument is not None:
                yield from _walk(argument)


def referenced_attributes(expression: Expression | str) -> set[str]:
    """The source attribute names an expression reads, spelled as written.

    Raises `ExpressionSyntaxError` when given malformed text.
    """
    tree = parse(expression) if isinstance(expression, str) else expression
    return {node.name for node in _walk(tree) if isinstance(node, AttributeRef)}


def is_redacted(expression: Expression | str) -> bool:
    """Whether logs must show `REDACTED_TEXT` for this mapping's value (Redact, §4.2).

    Assumption [U]: a Redact anywhere in the expression redacts the whole value.
    """
    tree = parse(expression) if isinstance(expression, str) else expression
    return any(
        isinstance(node, FunctionCall) and node.name == "Redact" for node in _walk(tree)
    )


def supported_functions() -> tuple[str, ...]:
    """The function names the sandbox knows, sorted."""
    return tuple(sorted(FUNCTIONS))


def is_multi_valued(value: object) -> bool:
    """Whether a value is multi-valued (a list), however many values it holds.

    The engine uses this to refuse a multi-valued result for a single-valued target
    with SchemaPropertyCanOnlyAcceptValue (microsoft.md §4.4); whether Entra lets a
    one-value list through is unconfirmed there, so the engine decides.
    """
    return isinstance(value, list | tuple)


def _find(mapping: Mapping[str, object], name: str) -> tuple[bool, object]:
    if name in mapping:
        return True, mapping[name]
    folded = name.casefold()
    for key, value in mapping.items():
        if isinstance(key, str) and key.casefold() == folded:
            return True, value
    return False, None


def resolve_attribute(source: Mapping[str, object], name: str) -> object:
    """The raw value of attribute `name` in `source`, or None when absent.

    Names match exactly first, then ignoring case. Assumptions [U]: a dotted name
    (`onPremisesExtensionAttributes.extensionAttribute1`) also walks nested objects;
    `extensionAttributeN` (the sync-schema name, microsoft.md §4.4) also looks inside
    a Graph-shaped `onPremisesExtensionAttributes`; `objectId` falls back to Graph's
    `id`; `IsSoftDeleted`, when the engine did not set it, is true for a user with
    `accountEnabled` false or a `deletedDateTime` (§4.2 lists those among its causes).
    """
    found, value = _find(source, name)
    if found:
        return value
    folded = name.casefold()
    if "." in name:
        current: object = source
        for part in name.split("."):
            if not isinstance(current, Mapping):
                return None
            current = _find(current, part)[1]
        return current
    if folded.startswith("extensionattribute"):
        container = _find(source, "onPremisesExtensionAttributes")[1]
        return _find(container, name)[1] if isinstance(container, Mapping) else None
    if folded == "objectid":
        return _find(source, "id")[1]
    if folded == "issoftdeleted":
        enabled = str(_find(source, "accountEnabled")[1]).strip().lower()
        return enabled == "false" or _find(source, "deletedDateTime")[1] is not None
    return None


def _normalise(name: str, value: object) -> Internal:
    """A source value in evaluation form: text, or a list of text; [] is null."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return as_utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        items = [_normalise(name, item) for item in value if item is not None]
        if any(not isinstance(item, str) for item in items):
            raise ExpressionEvaluationError(
                f"attribute [{name}] holds nested values, which expressions can't read",
                ErrorCode.UNSUPPORTED_ATTRIBUTE_VALUE,
            )
        return [item for item in items if isinstance(item, str)] or None
    raise ExpressionEvaluationError(
        f"attribute [{name}] holds a {type(value).__name__}, which expressions cannot "
        "read; pass text, a number, a boolean or a list of text",
        ErrorCode.UNSUPPORTED_ATTRIBUTE_VALUE,
    )


class _Evaluator:
    def __init__(
        self, source: Mapping[str, object], context: EvaluationContext
    ) -> None:
        self._source = source
        self._context = context
        self._watchers: list[list[str]] = []

    def run(self, node: Expression) -> Internal:
        if isinstance(node, StringLiteral | NumberLiteral):
            return node.value
        if isinstance(node, NamedConstant):
            return node.name
        if isinstance(node, AttributeRef):
            value = _normalise(node.name, resolve_attribute(self._source, node.name))
            if is_null_or_empty(value):
                for watcher in self._watchers:
                    watcher.append(node.name)
            return value
        if isinstance(node, Comparison):
            return compare(node.operator, self.run(node.left), self.run(node.right))
        spec = FUNCTIONS[node.name]
        slots = [
            None if arg is None else functools.partial(self.run, arg)
            for arg in node.arguments
        ]
        return spec.impl(Call(spec, slots, self._context, self._watch))

    def _watch(self, thunk: Thunk) -> tuple[Internal, list[str]]:
        self._watchers.append([])
        try:
            value = thunk()
        finally:
            empties = self._watchers.pop()
        return value, empties


def evaluate(
    expression: Expression | str,
    source: Mapping[str, object],
    *,
    context: EvaluationContext | None = None,
) -> Value:
    """Evaluate an expression against one source object's attributes.

    `source` maps attribute names to values (text, numbers, booleans, datetimes, or
    lists for multi-valued attributes such as otherMails); see `resolve_attribute`
    for how names are found. A missing attribute is null (None). The result is text,
    a list of text (multi-valued) or None — which the engine does not send (§4.3).
    Booleans come back as "True"/"False" and dates as "M/d/yyyy h:mm:ss tt" (§4.2).

    Raises `ExpressionSyntaxError` for malformed text and `ExpressionEvaluationError`
    (with a stable `code`) when a function cannot evaluate, e.g. IIF on a null or
    empty source attribute (microsoft.md §4.2).
    """
    tree = parse(expression) if isinstance(expression, str) else expression
    value = _Evaluator(source, context or EvaluationContext()).run(tree)
    return to_flow_value(value)
