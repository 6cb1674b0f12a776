"""How expression functions are declared and called.

A function is declared once, with the parameter names of the Microsoft Learn page
"Reference for writing expressions for attribute mappings in Microsoft Entra
Application Provisioning"
(https://learn.microsoft.com/entra/identity/app-provisioning/functions-for-customizing-application-data),
through `Registry.function`. The parser reads a `FunctionSpec` to check arity; the
evaluator hands the implementation a `Call`, which evaluates arguments lazily and
once, so IIF and Switch evaluate only the branch they return and Guid() inside an
argument yields one value.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ssopoc.sandbox.entra.expression_values import (
    ErrorCode,
    ExpressionEvaluationError,
    Internal,
    Scalar,
    parse_datetime,
    parse_int,
    text_of,
)

Thunk = Callable[[], Internal]
Watch = Callable[[Thunk], tuple[Internal, list[str]]]


def _system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class EvaluationContext:
    """What the time- and chance-dependent functions (Now, Guid, RandomString) read.

    Pass a fixed `clock` and a seeded `random.Random` to make evaluation repeatable.
    """

    clock: Callable[[], datetime] = _system_clock
    rng: random.Random = field(default_factory=random.SystemRandom)


@dataclass(frozen=True)
class FunctionSpec:
    """A function's documented signature: its name, parameters and arity rules.

    `optional` holds the indices that may be left empty between commas; indices
    past `params` repeat the `variadic` names ("key1", "value1", "key2", ...).
    """

    name: str
    params: tuple[str, ...]
    optional: frozenset[int]
    min_args: int
    variadic: tuple[str, ...]
    impl: Callable[[Call], Internal]

    @property
    def max_args(self) -> int | None:
        """The largest argument count, or None when the last parameters repeat."""
        return None if self.variadic else len(self.params)

    @property
    def pairs(self) -> bool:
        """Whether the repeated parameters come in pairs (Switch's key/value)."""
        return len(self.variadic) == 2

    def label(self, index: int) -> str:
        """The parameter name at `index`, numbered for repeated ones ("key2")."""
        if index < len(self.params):
            return self.params[index]
        offset = index - len(self.params)
        stem = self.variadic[offset % len(self.variadic)]
        return f"{stem}{offset // len(self.variadic) + 1}"


class Call:
    """One invocation: lazy, memoised access to the arguments, and the context."""

    def __init__(
        self,
        spec: FunctionSpec,
        slots: Sequence[Thunk | None],
        context: EvaluationContext,
        watch: Watch,
    ) -> None:
        self.spec = spec
        self.context = context
        self._slots = slots
        self._watch = watch
        self._values: dict[int, Internal] = {}

    @property
    def count(self) -> int:
        """How many argument slots the call has, empty ones included."""
        return len(self._slots)

    def given(self, index: int) -> bool:
        """Whether slot `index` holds an argument (not left empty between commas)."""
        return index < len(self._slots) and self._slots[index] is not None

    def arg(self, index: int) -> Internal:
        """The value of argument `index`; None for an empty or missing slot."""
        if index not in self._values:
            thunk = self._slots[index] if self.given(index) else None
            self._values[index] = None if thunk is None else thunk()
        return self._values[index]

    def watched(self, index: int) -> tuple[Internal, list[str]]:
        """Argument `index` and the attributes it read that were null or empty."""
        thunk = self._slots[index] if self.given(index) else None
        if thunk is None:
            return None, []
        value, empties = self._watch(thunk)
        self._values[index] = value
        return value, empties

    def error(
        self, message: str, code: ErrorCode = ErrorCode.INVALID_ARGUMENT
    ) -> ExpressionEvaluationError:
        """An evaluation error naming this function."""
        return ExpressionEvaluationError(f"{self.spec.name}: {message}", code)

    def scalar(self, index: int) -> Scalar | None:
        """Argument `index` as a single value; raises MultiValuedArgument for a list."""
        value = self.arg(index)
        if isinstance(value, list):
            raise self.error(
                f"argument '{self.spec.label(index)}' needs a single value but got "
                f"{len(value)} values",
                ErrorCode.MULTI_VALUED_ARGUMENT,
            )
        return value

    def text(self, index: int) -> str | None:
        """Argument `index` as text, or None."""
        value = self.scalar(index)
        return None if value is None else text_of(value)

    def integer(self, index: int) -> int | None:
        """Argument `index` as a whole number, or None; raises for other text."""
        value = self.scalar(index)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        number = parse_int(text_of(value))
        if number is None:
            raise self.error(
                f"argument '{self.spec.label(index)}' must be a whole number, "
                f"got {text_of(value)!r}"
            )
        return number

    def required_integer(self, index: int) -> int:
        """Like `integer`, but a null value is an error."""
        number = self.integer(index)
        if number is None:
            raise self.error(f"argument '{self.spec.label(index)}' is null")
        return number

    def date(self, index: int) -> datetime | None:
        """Argument `index` as a UTC date/time (read as CDate reads text), or None."""
        value = self.scalar(index)
        if value is None or isinstance(value, datetime):
            return value
        try:
            return parse_datetime(text_of(value))
        except ValueError:
            raise self.error(f"{text_of(value)!r} is not a date/time") from None


Impl = Callable[[Call], Internal]


class Registry:
    """A group of functions, filled by the `function` decorator."""

    def __init__(self) -> None:
        self.functions: dict[str, FunctionSpec] = {}

    def function(
        self, name: str, signature: str = "", *, variadic: str = "", min_args: int = -1
    ) -> Callable[[Impl], Impl]:
        """Declare `name` with space-separated parameter names; "name?" is optional.

        Without `min_args`, the minimum is the position of the last required one.
        """
        words = signature.split()
        optional = frozenset(i for i, word in enumerate(words) if word.endswith("?"))
        required = [i for i in range(len(words)) if i not in optional]
        minimum = min_args if min_args >= 0 else (max(required, default=-1) + 1)

        def register(impl: Impl) -> Impl:
            self.functions[name] = FunctionSpec(
                name=name,
                params=tuple(word.rstrip("?") for word in words),
                optional=optional,
                min_args=minimum,
                variadic=tuple(variadic.split()),
                impl=impl,
            )
            return impl

        return register


def each(value: Internal, transform: Callable[[str], str]) -> Internal:
    """Apply `transform` to a value, or to each value of a multi-valued one.

    Every string function does this: given a multi-valued attribute it returns a
    list and leaves the single-valued-target check (SchemaPropertyCanOnlyAcceptValue,
    microsoft.md §4.4) to the engine — Assumption [U].
    """
    if value is None:
        return None
    if isinstance(value, list):
        return [transform(item) for item in value]
    return transform(text_of(value))


def truth(call: Call, value: Scalar | None) -> bool:
    """A condition's truth: booleans, "True"/"False" in any case, or a number.

    Raises InvalidArgument for other text. Assumption [U]: null is False.
    """
    if value is None or isinstance(value, bool):
        return bool(value)
    number = value if isinstance(value, int) else parse_int(text_of(value))
    if number is not None:
        return number != 0
    if text_of(value).strip().lower() in ("true", "false"):
        return text_of(value).strip().lower() == "true"
    raise call.error(f"cannot read {text_of(value)!r} as True or False")
