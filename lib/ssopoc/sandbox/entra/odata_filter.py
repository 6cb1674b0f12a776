"""OData `$filter` for the emulated collections: a parser and an evaluator.

Supports what the workbook and the fact sheet need (microsoft.md §2.3, §3.8, §7):
`eq ne gt ge lt le`, `in (...)`, `startsWith/endsWith/contains(path, 'x')`,
`and`, `or`, `not`, parentheses, `eq null`, lambda `any(x: x eq '...')` on a
collection, and `path/$count eq n`. Paths use `/` for nested properties. Which of
these a collection allows by default is the collection's decision: `uses()` lists
the (property, operator) pairs a filter uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ssopoc.sandbox.entra.errors import GraphError

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')"
    r"|(?P<date>\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<name>[A-Za-z_$][\w$./-]*)"
    r"|(?P<sym>[(),:]))"
)
COMPARE = ("eq", "ne", "gt", "ge", "lt", "le")
FUNCTIONS = ("startswith", "endswith", "contains")


class FilterSyntaxError(GraphError):
    """A `$filter` that does not parse: `400 BadRequest` naming the position."""

    def __init__(self, text: str, position: int, problem: str) -> None:
        super().__init__(
            400,
            "BadRequest",
            f"Invalid filter clause: {problem} at position {position} in '{text}'.",
        )


@dataclass(frozen=True)
class Node:
    """One node of a parsed filter."""

    kind: str  # compare | in | func | any | count | and | or | not
    op: str = ""
    path: str = ""
    value: Any = None
    children: tuple[Node, ...] = ()
    variable: str = ""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = list(self._lex(text))
        self.index = 0

    def _lex(self, text: str) -> Iterator[tuple[str, Any, int]]:
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                return
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise FilterSyntaxError(text, position, "unexpected character")
            kind = match.lastgroup or ""
            raw = match.group(kind)
            start = match.start(kind)
            if kind == "str":
                yield "value", raw[1:-1].replace("''", "'"), start
            elif kind == "num":
                yield "value", float(raw) if "." in raw else int(raw), start
            elif kind == "date":
                yield "value", datetime.fromisoformat(raw.replace("Z", "+00:00")), start
            elif kind == "name" and raw in ("true", "false"):
                yield "value", raw == "true", start
            elif kind == "name" and raw == "null":
                yield "value", None, start
            else:
                yield kind, raw, start
            position = match.end()

    def peek(self) -> tuple[str, Any, int]:
        if self.index < len(self.tokens):
            return self.tokens[self.index]
        return "end", None, len(self.text)

    def take(self, kind: str, value: str | None = None) -> Any:
        found = self.peek()
        if found[0] != kind or (value is not None and str(found[1]).lower() != value):
            wanted = value or kind
            raise FilterSyntaxError(self.text, found[2], f"expected {wanted}")
        self.index += 1
        return found[1]

    def word(self, *words: str) -> bool:
        kind, value, _ = self.peek()
        return kind == "name" and str(value).lower() in words

    def parse(self) -> Node:
        node = self.disjunction()
        if self.peek()[0] != "end":
            raise FilterSyntaxError(self.text, self.peek()[2], "unexpected text")
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.word("or"):
            self.index += 1
            node = Node("or", children=(node, self.conjunction()))
        return node

    def conjunction(self) -> Node:
        node = self.unary()
        while self.word("and"):
            self.index += 1
            node = Node("and", children=(node, self.unary()))
        return node

    def unary(self) -> Node:
        if self.word("not"):
            self.index += 1
            return Node("not", children=(self.unary(),))
        if self.peek()[0] == "sym" and self.peek()[1] == "(":
            self.index += 1
            node = self.disjunction()
            self.take("sym", ")")
            return node
        return self.primary()

    def primary(self) -> Node:
        name = str(self.take("name"))
        if name.lower() in FUNCTIONS:
            self.take("sym", "(")
            path = str(self.take("name"))
            self.take("sym", ",")
            value = self.take("value")
            self.take("sym", ")")
            return Node("func", op=name.lower(), path=path, value=value)
        lambda_match = re.fullmatch(r"(.+)/(any|all)", name, re.IGNORECASE)
        if lambda_match:
            self.take("sym", "(")
            variable = str(self.take("name"))
            self.take("sym", ":")
            inner = self.disjunction()
            self.take("sym", ")")
            return Node(
                "any",
                op=lambda_match.group(2).lower(),
                path=lambda_match.group(1),
                children=(inner,),
                variable=variable,
            )
        if self.word("in"):
            self.index += 1
            self.take("sym", "(")
            values = [self.take("value")]
            while self.peek()[1] == ",":
                self.index += 1
                values.append(self.take("value"))
            self.take("sym", ")")
            return Node("in", op="in", path=name, value=tuple(values))
        kind, op, position = self.peek()
        if kind != "name" or str(op).lower() not in COMPARE:
            raise FilterSyntaxError(self.text, position, "expected an operator")
        self.index += 1
        value = self.take("value")
        if name.lower().endswith("/$count"):
            return Node("count", op=str(op).lower(), path=name[:-7], value=value)
        return Node("compare", op=str(op).lower(), path=name, value=value)


def parse(text: str) -> Node:
    """Parse a `$filter`; raises `FilterSyntaxError` naming the position."""
    return _Parser(text).parse()


def uses(node: Node) -> list[tuple[str, str]]:
    """Every (property path, operator) a filter uses, lambdas as `path/any`."""
    if node.kind in ("and", "or"):
        return uses(node.children[0]) + uses(node.children[1])
    if node.kind == "not":
        return [("", "not"), *uses(node.children[0])]
    if node.kind == "any":
        inner = uses(node.children[0])
        return [(node.path, f"any:{op}") for _, op in inner]
    return [(node.path, node.op if node.kind != "count" else "$count")]


def lookup(item: Any, path: str) -> Any:
    """The value at a `/`-separated path, case-insensitive; None when absent."""
    current = item
    for part in path.split("/"):
        if not isinstance(current, dict):
            return None
        key = next((k for k in current if k.lower() == part.lower()), None)
        if key is None:
            return None
        current = current[key]
    return current


def matches(node: Node, item: Any, case_sensitive: bool = False) -> bool:
    """Whether `item` satisfies the filter."""
    if node.kind == "and":
        return all(matches(c, item, case_sensitive) for c in node.children)
    if node.kind == "or":
        return any(matches(c, item, case_sensitive) for c in node.children)
    if node.kind == "not":
        return not matches(node.children[0], item, case_sensitive)
    if node.kind == "any":
        values = lookup(item, node.path)
        values = values if isinstance(values, list) else []
        inner = node.children[0]
        check = all if node.op == "all" else any
        return check(matches(inner, {node.variable: v}, case_sensitive) for v in values)
    value = lookup(item, node.path)
    if node.kind == "count":
        size = len(value) if isinstance(value, list) else 0
        return _compare(node.op, size, node.value, True)
    if node.kind == "in":
        return any(_compare("eq", value, v, case_sensitive) for v in node.value)
    if node.kind == "func":
        if not isinstance(value, str) or not isinstance(node.value, str):
            return False
        left, right = _fold(value, case_sensitive), _fold(node.value, case_sensitive)
        if node.op == "startswith":
            return left.startswith(right)
        if node.op == "endswith":
            return left.endswith(right)
        return right in left
    return _compare(node.op, value, node.value, case_sensitive)


def _fold(text: str, case_sensitive: bool) -> str:
    return text if case_sensitive else text.lower()


def _compare(op: str, left: Any, right: Any, case_sensitive: bool) -> bool:
    if isinstance(left, str) and isinstance(right, datetime):
        try:
            left = datetime.fromisoformat(left.replace("Z", "+00:00"))
        except ValueError:
            return False
    if isinstance(left, str) and isinstance(right, str):
        left, right = _fold(left, case_sensitive), _fold(right, case_sensitive)
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if op == "gt":
            return bool(left > right)
        if op == "ge":
            return bool(left >= right)
        if op == "lt":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        return False
