"""The grammar of Entra's attribute-mapping expressions: syntax tree, parser, text.

The grammar is microsoft.md §4.1 and the "Syntax overview" of the Microsoft Learn page
"Reference for writing expressions for attribute mappings in Microsoft Entra
Application Provisioning"
(https://learn.microsoft.com/entra/identity/app-provisioning/functions-for-customizing-application-data):

    expression := argument
    argument   := operand [ ("=" | "<>" | ">" | ">=" | "<" | "<=") operand ]
    operand    := Name "(" [ slot { "," slot } ] ")"   a function call
                | "[" attribute "]"                    a source attribute
                | '"' text '"'                         a string; \\" and \\\\ escape
                | ["-"] digits | "&H" hexdigits        numbers, as in Mid([x], 1, 3)
                | vbBinaryCompare | vbTextCompare      InStr's compareType
    slot       := argument | (nothing)                 an optional argument left out

Function names are case-sensitive ("The syntax is case-sensitive", §4.1), so
`toLower(...)` is a syntax error. Comparisons come from IIF's documented operators
(§4.1); the Learn page also writes them inside CBool. Assumption [U]: a backslash
before any other character stays a backslash, so `"\\d"` and `"\\\\d"` both
mean the two characters backslash and d.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TypeAlias

from ssopoc.sandbox.entra.expression_functions import (
    FUNCTIONS,
    FunctionSpec,
    replace_mode,
)

# "Maximum expression length is 10,000 characters" (microsoft.md §4.1, known issues).
MAX_EXPRESSION_LENGTH = 10_000
_MAX_DEPTH = 100
_OPERATORS = ("<>", "<=", ">=", "=", "<", ">")
_NAMED_CONSTANTS = ("vbBinaryCompare", "vbTextCompare")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?\d+")
_HEX = re.compile(r"&[Hh][0-9A-Fa-f]+")
_NOT_IN_ATTRIBUTE = set('[]"(),')


class ExpressionSyntaxError(ValueError):
    """The text is not a well-formed expression.

    `position` is the 1-based character position of the problem; the message names
    it and what was expected there, e.g. "expected ',' or ')' but found end of
    input at position 17".
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True)
class StringLiteral:
    """A string constant, unescaped."""

    value: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class NumberLiteral:
    """A whole-number constant; `hexadecimal` for the VBA form `&HF7`."""

    value: int
    hexadecimal: bool = False
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class NamedConstant:
    """A bare VBA constant name: vbBinaryCompare or vbTextCompare (InStr, §4.2)."""

    name: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class AttributeRef:
    """A source attribute in square brackets, such as `[mail]`."""

    name: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class FunctionCall:
    """A call; an argument left empty between commas is None."""

    name: str
    arguments: tuple[Expression | None, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Comparison:
    """`left <operator> right`, with an IIF operator (microsoft.md §4.1)."""

    operator: str
    left: Expression
    right: Expression
    position: int = field(default=0, compare=False)


Expression: TypeAlias = (
    StringLiteral
    | NumberLiteral
    | NamedConstant
    | AttributeRef
    | FunctionCall
    | Comparison
)


def parse(text: str) -> Expression:
    """Build the syntax tree of `text`.

    Raises `ExpressionSyntaxError` for malformed text: unbalanced brackets or
    parentheses, an unterminated string, an unknown (or wrongly cased) function, the
    wrong number of arguments, an empty required argument, a Replace call that
    selects none of its documented modes, SelectUniqueValue nested in another call
    (§4.2), or text over `MAX_EXPRESSION_LENGTH` characters.
    """
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self._text = text
        self._at = 0
        self._depth = 0

    def parse(self) -> Expression:
        if len(self._text) > MAX_EXPRESSION_LENGTH:
            raise self._fail(
                f"expected at most {MAX_EXPRESSION_LENGTH} characters",
                MAX_EXPRESSION_LENGTH,
            )
        self._skip_space()
        if not self._peek():
            raise self._fail("expected an expression but found end of input")
        node = self._argument()
        self._skip_space()
        if self._peek():
            raise self._fail(f"expected end of expression but found {self._found()}")
        return node

    def _fail(self, what: str, at: int | None = None) -> ExpressionSyntaxError:
        position = (self._at if at is None else at) + 1
        return ExpressionSyntaxError(f"{what} at position {position}", position)

    def _peek(self) -> str:
        return self._text[self._at] if self._at < len(self._text) else ""

    def _found(self) -> str:
        return repr(self._peek()) if self._peek() else "end of input"

    def _skip_space(self) -> None:
        while self._peek().isspace():
            self._at += 1

    def _argument(self) -> Expression:
        left = self._operand()
        self._skip_space()
        for operator in _OPERATORS:
            if self._text.startswith(operator, self._at):
                start = self._at
                self._at += len(operator)
                self._skip_space()
                return Comparison(operator, left, self._operand(), start + 1)
        return left

    def _operand(self) -> Expression:
        start, char = self._at, self._peek()
        if char == '"':
            return self._string()
        if char == "[":
            return self._attribute()
        for pattern in (_NUMBER, _HEX):
            if number := pattern.match(self._text, start):
                self._at = number.end()
                hexadecimal = pattern is _HEX
                value = (
                    int(number.group()[2:], 16) if hexadecimal else int(number.group())
                )
                return NumberLiteral(value, hexadecimal, start + 1)
        if name := _NAME.match(self._text, start):
            self._at = name.end()
            self._skip_space()
            if self._peek() == "(":
                return self._call(name.group(), start)
            if name.group() in _NAMED_CONSTANTS:
                return NamedConstant(name.group(), start + 1)
            raise self._fail(
                f"expected '(' after {name.group()!r} but found {self._found()}"
            )
        raise self._fail(
            'expected a function call, an [attribute], a "string" or a number but '
            f"found {self._found()}"
        )

    def _string(self) -> StringLiteral:
        start, chars = self._at, list[str]()
        self._at += 1
        while self._at < len(self._text):
            char = self._text[self._at]
            if char == '"':
                self._at += 1
                return StringLiteral("".join(chars), start + 1)
            following = self._text[self._at + 1 : self._at + 2]
            escaped = char == "\\" and bool(following) and following in '"\\'
            chars.append(following if escaped else char)
            self._at += 2 if escaped else 1
        raise self._fail(
            f"expected '\"' to close the string opened at position {start + 1} but "
            "found end of input"
        )

    def _attribute(self) -> AttributeRef:
        start = self._at
        self._at += 1
        while self._peek() and self._peek() not in _NOT_IN_ATTRIBUTE:
            if self._peek().isspace():
                raise self._fail("expected an attribute name without spaces")
            self._at += 1
        name = self._text[start + 1 : self._at]
        if self._peek() != "]":
            raise self._fail(
                f"expected ']' to close the attribute opened at position {start + 1} "
                f"but found {self._found()}"
            )
        if not name:
            raise self._fail("expected an attribute name but found ']'")
        self._at += 1
        return AttributeRef(name, start + 1)

    def _call(self, name: str, start: int) -> FunctionCall:
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise self._unknown_function(name, start)
        if name == "SelectUniqueValue" and self._depth:
            raise self._fail("expected SelectUniqueValue only as the outer call", start)
        if self._depth >= _MAX_DEPTH:
            raise self._fail(f"expected at most {_MAX_DEPTH} nested calls", start)
        self._depth += 1
        self._at += 1
        arguments: list[Expression | None] = []
        slots: list[int] = []
        self._skip_space()
        while self._peek() != ")" or slots:
            self._skip_space()
            if not self._peek():
                break
            slots.append(self._at)
            empty = self._peek() in (",", ")") and bool(self._peek())
            arguments.append(None if empty else self._argument())
            self._skip_space()
            if self._peek() != ",":
                break
            self._at += 1
        if self._peek() != ")":
            raise self._fail(f"expected ',' or ')' but found {self._found()}")
        self._at += 1
        self._depth -= 1
        call = FunctionCall(name, tuple(arguments), start + 1)
        self._check(spec, call, slots)
        return call

    def _unknown_function(self, name: str, start: int) -> ExpressionSyntaxError:
        known = [other for other in FUNCTIONS if other.lower() == name.lower()]
        hint = f" (names are case-sensitive: {known[0]!r})" if known else ""
        return self._fail(f"expected a known function{hint}, not {name!r}", start)

    def _check(self, spec: FunctionSpec, call: FunctionCall, slots: list[int]) -> None:
        count, at = len(call.arguments), call.position - 1
        most = spec.max_args
        if count < spec.min_args or (most is not None and count > most):
            raise self._fail(
                f"expected {_arity(spec)} for {spec.name}, got {count}", at
            )
        if spec.pairs and count % 2:
            raise self._fail(
                f"expected key/value pairs after {spec.name}'s source and "
                f"defaultValue, got {count} arguments",
                at,
            )
        for index, argument in enumerate(call.arguments):
            if argument is None and index not in spec.optional:
                raise self._fail(
                    f"expected {spec.name}'s argument {index + 1} "
                    f"({spec.label(index)}) but it is empty",
                    slots[index],
                )
        given = functools.partial(_given, call)
        if spec.name == "Replace" and replace_mode(given) is None:
            raise self._fail(
                "expected Replace to get oldValue with replacementValue or template, "
                "or regexPattern with replacementValue or with regexGroupName and "
                "replacementAttributeName",
                at,
            )


def _given(call: FunctionCall, index: int) -> bool:
    return index < len(call.arguments) and call.arguments[index] is not None


def _arity(spec: FunctionSpec) -> str:
    most = spec.max_args
    if most is None:
        return f"at least {spec.min_args} arguments"
    if most == spec.min_args:
        return f"{most} argument{'s' * (most != 1)}" if most else "no arguments"
    return f"{spec.min_args} to {most} arguments"


def to_text(expression: Expression) -> str:
    """The canonical text of an expression.

    Arguments are separated by ", " and left-out ones stay empty, which reproduces
    the `expression` Graph returns for `Replace([preferredLanguage], "-", , , "_", , )`
    (microsoft.md §3.6). Comparisons get a space either side of the operator.
    """
    if isinstance(expression, StringLiteral):
        escaped = expression.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(expression, NumberLiteral):
        value = expression.value
        return f"&H{value:X}" if expression.hexadecimal else str(value)
    if isinstance(expression, NamedConstant):
        return expression.name
    if isinstance(expression, AttributeRef):
        return f"[{expression.name}]"
    if isinstance(expression, Comparison):
        left, right = to_text(expression.left), to_text(expression.right)
        return f"{left} {expression.operator} {right}"
    texts = ("" if arg is None else to_text(arg) for arg in expression.arguments)
    return f"{expression.name}({', '.join(texts)})"
