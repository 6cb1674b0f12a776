"""Values of Entra's expression language: types, errors, conversions, comparison.

Inside an evaluation a value is a `str`, `bool`, `int`, `datetime` (UTC), a list of
strings (a multi-valued attribute) or `None` (null, an absent attribute). What leaves
an evaluation is text, as in the `evaluationResult` of the Graph `parseExpression`
call, which is an array of strings (microsoft.md §3.6).

Sources: microsoft.md §4.2 and the Microsoft Learn page "Reference for writing
expressions for attribute mappings in Microsoft Entra Application Provisioning"
(https://learn.microsoft.com/entra/identity/app-provisioning/functions-for-customizing-application-data).
The Entra service is a .NET service; where the sources are silent this module copies
.NET's documented behaviour under the invariant culture and a UTC clock, and says so
as "Assumption [U]".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import TypeAlias

Scalar: TypeAlias = str | bool | int | datetime
Internal: TypeAlias = Scalar | list[str] | None
Value: TypeAlias = str | list[str] | None


class ErrorCode(StrEnum):
    """The stable codes carried by `ExpressionEvaluationError.code`.

    Microsoft documents no error codes for expression evaluation, so each code is the
    sandbox's own name for a documented failure (IIF on a null source, microsoft.md
    §4.2) or for an argument the function cannot use.
    """

    IIF_SOURCE_NULL_OR_EMPTY = "IifConditionSourceNullOrEmpty"
    INVALID_ARGUMENT = "InvalidArgument"
    MULTI_VALUED_ARGUMENT = "MultiValuedArgument"
    MULTIPLE_APP_ROLE_ASSIGNMENTS = "MultipleAppRoleAssignments"
    NOT_SUPPORTED_FOR_APPLICATION = "FunctionNotSupportedForApplication"
    NOT_SUPPORTED_IN_SANDBOX = "NotSupportedInSandbox"
    UNSUPPORTED_ATTRIBUTE_VALUE = "UnsupportedAttributeValue"


class ExpressionEvaluationError(ValueError):
    """An expression parsed but could not be evaluated against this source object.

    `code` is one of `ErrorCode`; `message` names the function, the argument and
    what it needed.
    """

    def __init__(self, message: str, code: ErrorCode) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive value is taken to be UTC already.

    Assumption [U]: the service runs on a UTC clock, so .NET "local" time is UTC.
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def text_of(value: Scalar) -> str:
    """The text form of a single value, as .NET would print it.

    Booleans print as "True"/"False"; dates as "M/d/yyyy h:mm:ss tt" (the format
    microsoft.md §4.2 gives for CDate, DateAdd and Now).
    """
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, datetime):
        moment = as_utc(value)
        meridiem = "AM" if moment.hour < 12 else "PM"
        clock = f"{moment.hour % 12 or 12}:{moment.minute:02d}:{moment.second:02d}"
        return f"{moment.month}/{moment.day}/{moment.year} {clock} {meridiem}"
    if isinstance(value, int):
        return str(value)
    return value


def to_flow_value(value: Internal) -> Value:
    """What an evaluation hands to the provisioning engine: text, a list or null."""
    if value is None or isinstance(value, list):
        return value
    return text_of(value)


def is_null_or_empty(value: Internal) -> bool:
    """True for null, "" and a multi-valued attribute with no values (§4.2)."""
    return value is None or value == "" or value == []


def parse_int(text: str) -> int | None:
    """A whole number written in decimal or as a VBA hex literal (`&HF7`), else None."""
    text = text.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"&[Hh][0-9A-Fa-f]+", text):
        return int(text[2:], 16)
    return None


def compare(operator: str, left: Internal, right: Internal) -> bool:
    """Apply one of the IIF comparison operators `= <> > >= < <=` (microsoft.md §4.1).

    Raises `ExpressionEvaluationError` (MultiValuedArgument) for a list operand.
    Assumption [U]: null compares as ""; two whole numbers compare as numbers, a date
    with a date; anything else compares as case-sensitive ordinal text, matching the
    case-sensitive Switch (§4.2).
    """
    if isinstance(left, list) or isinstance(right, list):
        raise ExpressionEvaluationError(
            f"the comparison {operator!r} needs single values, not a multi-valued "
            "attribute; reduce it with Item(...) or Join(...)",
            ErrorCode.MULTI_VALUED_ARGUMENT,
        )
    first: Scalar = "" if left is None else left
    second: Scalar = "" if right is None else right
    order = _order(first, second)
    outcomes = {
        "=": order == 0,
        "<>": order != 0,
        ">": order > 0,
        ">=": order >= 0,
        "<": order < 0,
        "<=": order <= 0,
    }
    return outcomes[operator]


def _order(first: Scalar, second: Scalar) -> int:
    if isinstance(first, datetime) or isinstance(second, datetime):
        try:
            a, b = _as_date(first), _as_date(second)
        except ValueError:
            pass
        else:
            return (a > b) - (a < b)
    x = None if isinstance(first, bool) else parse_int(text_of(first))
    y = None if isinstance(second, bool) else parse_int(text_of(second))
    if x is not None and y is not None:
        return (x > y) - (x < y)
    s, t = text_of(first), text_of(second)
    return (s > t) - (s < t)


def _as_date(value: Scalar) -> datetime:
    return as_utc(value) if isinstance(value, datetime) else parse_datetime(str(value))


# -- dates ------------------------------------------------------------------------

_ZONE = r"(Z|[+-]\d{2}(?::?\d{2})?)?"
_ISO_DATE = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,7}))?)?)?\s*" + _ZONE,
    re.IGNORECASE,
)
_US_DATE = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})"
    r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?()\s*([AP]M)?)?\s*" + _ZONE,
    re.IGNORECASE,
)


def parse_datetime(text: str) -> datetime:
    """Read a date/time as CDate does and return it in UTC.

    Accepts ISO 8601 dates with optional time and offset ("2020-03-16-07:00",
    "2009-06-15T01:45:30-07:00") and the "M/d/yyyy h:mm:ss tt" form the functions
    print, as in the §4.2 examples. Raises ValueError for anything else.
    Assumption [U]: a value without an offset is UTC.
    """
    text = text.strip()
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    elif match := _US_DATE.fullmatch(text):
        month, day, year = int(match[1]), int(match[2]), int(match[3])
    else:
        raise ValueError(f"{text!r} is not a recognised date/time")
    hour, minute = int(match[4] or 0), int(match[5] or 0)
    second, fraction = int(match[6] or 0), (match[7] or "").ljust(6, "0")[:6]
    meridiem = (match[8] or "").upper() if match.re is _US_DATE else ""
    zone = match[9] if match.re is _US_DATE else match[8]
    hour = twelve_hour(hour, meridiem) if meridiem else hour
    moment = datetime(year, month, day, hour, minute, second, int(fraction))
    return apply_zone(moment, zone)


def twelve_hour(hour: int, meridiem: str) -> int:
    """A 12-hour clock hour with its "AM"/"PM" (or "A"/"P") as a 24-hour hour."""
    return hour % 12 + (12 if meridiem.startswith("P") else 0)


def apply_zone(moment: datetime, zone: str | None) -> datetime:
    """`moment` read in the offset `zone` ("Z", "+08:00", "-0700"; none: UTC)."""
    if not zone or zone.upper() == "Z":
        return moment.replace(tzinfo=UTC)
    digits = zone[1:].replace(":", "").ljust(4, "0")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    sign = -1 if zone[0] == "-" else 1
    return moment.replace(tzinfo=timezone(sign * offset)).astimezone(UTC)
