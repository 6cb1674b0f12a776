"""The date functions: CDate, DateAdd, DateDiff, DateFromNum, FormatDateTime, Now,
NumFromDate, and the .NET date format strings FormatDateTime reads and writes.

Behaviour from microsoft.md §4.2 and the Microsoft Learn page "Reference for writing
expressions for attribute mappings in Microsoft Entra Application Provisioning"
(https://learn.microsoft.com/entra/identity/app-provisioning/functions-for-customizing-application-data),
whose examples the tests replay. The service is .NET; where the sources are silent
this module follows .NET's documented custom and standard date formats under the
invariant culture on a UTC clock, marked "Assumption [U]".
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from ssopoc.sandbox.entra.expression_calls import Call, Registry
from ssopoc.sandbox.entra.expression_values import (
    Internal,
    apply_zone,
    as_utc,
    twelve_hour,
)

DATE_FUNCTIONS = Registry()
_function = DATE_FUNCTIONS.function

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_STANDARD_FORMATS = {  # .NET standard formats under the invariant culture
    "d": "MM/dd/yyyy",
    "D": "dddd, dd MMMM yyyy",
    "f": "dddd, dd MMMM yyyy HH:mm",
    "F": "dddd, dd MMMM yyyy HH:mm:ss",
    "g": "MM/dd/yyyy HH:mm",
    "G": "MM/dd/yyyy HH:mm:ss",
    "M": "MMMM dd",
    "m": "MMMM dd",
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "t": "HH:mm",
    "T": "HH:mm:ss",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "y": "yyyy MMMM",
    "Y": "yyyy MMMM",
}
_FORMAT_TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|\\.|([A-Za-z])\1*|.", re.DOTALL)


def _tokens(pattern: str) -> list[str]:
    pattern = _STANDARD_FORMATS.get(pattern, pattern)
    return [m.group(0) for m in _FORMAT_TOKEN.finditer(pattern) if m.group(0) != "%"]


def format_datetime(moment: datetime, pattern: str) -> str:
    """Print `moment` (in UTC) with a .NET custom or standard date format string.

    Raises ValueError for more than seven fraction digits, as .NET does.
    Assumption [U]: the server clock is UTC, so `z`/`zz`/`zzz` print a zero offset.
    """
    moment = as_utc(moment)
    return "".join(_render(token, moment) for token in _tokens(pattern))


def _render(token: str, moment: datetime) -> str:
    kind, size = token[0], len(token)
    if kind in "'\"":
        return token[1:-1]
    if kind == "\\":
        return token[1:]
    if kind == "y":
        year = moment.year % 100 if size <= 2 else moment.year
        return str(year).zfill(size)
    if kind in "Md" and size >= 3:
        name = _MONTHS[moment.month - 1] if kind == "M" else _DAYS[moment.weekday()]
        return name[:3] if size == 3 else name
    numbers = {
        "M": moment.month,
        "d": moment.day,
        "h": moment.hour % 12 or 12,
        "H": moment.hour,
        "m": moment.minute,
        "s": moment.second,
    }
    if kind in numbers:
        return str(numbers[kind]).zfill(min(size, 2))
    if kind in "fF":
        if size > 7:
            raise ValueError(f"too many fraction digits in {token!r}")
        digits = f"{moment.microsecond:06d}0"[:size]
        return digits.rstrip("0") if kind == "F" else digits
    if kind == "t":
        return ("AM" if moment.hour < 12 else "PM")[: min(size, 2)]
    if kind == "z":
        return {1: "+0", 2: "+00"}.get(size, "+00:00")
    return "Z" if kind == "K" else token


def _parse_regex(kind: str, size: int) -> str | None:
    if kind in "yMdhHms" and size <= 2:
        return r"\d{1,2}" if size == 1 else r"\d{2}"
    if kind == "y":
        return rf"\d{{{size}}}"
    if kind in "Md":
        names = _MONTHS if kind == "M" else _DAYS
        return "|".join(name[:3] if size == 3 else name for name in names)
    if kind in "fF" and size <= 7:
        return rf"\d{{{size}}}" if kind == "f" else rf"\d{{0,{size}}}"
    if kind == "t":
        return "[AP]" if size == 1 else "[AP]M"
    if kind == "z":
        return r"[+-]\d{1,2}" if size < 3 else r"[+-]\d{2}:\d{2}"
    return r"Z|[+-]\d{2}:\d{2}|" if kind == "K" else None


def parse_with_format(text: str, pattern: str, today: datetime) -> datetime:
    """Read `text` with a .NET custom date format string and return it in UTC.

    Raises ValueError when `text` does not match. Missing date parts come from
    `today`. Assumptions [U]: two-digit years below 50 are 20xx (the .NET default
    cut-off 2049); a value without an offset is UTC; a value with one is converted
    to UTC, as .NET's RoundtripKind does on a UTC server.
    """
    regex, kinds = "", []
    for token in _tokens(pattern):
        kind = token[0]
        literal = token[1:-1] if kind in "'\"" else token[1:] if kind == "\\" else None
        piece = None if literal is not None else _parse_regex(kind, len(token))
        if piece is None:
            regex += re.escape(token if literal is None else literal)
        else:
            regex += f"({piece})"
            kinds.append(token)
    match = re.fullmatch(regex, text.strip(), re.IGNORECASE)
    if match is None:
        raise ValueError(f"{text!r} does not match the format {pattern!r}")
    parts = {"y": today.year, "M": today.month, "d": today.day, "H": 0, "m": 0, "s": 0}
    micro, meridiem, zone = 0, "", None
    for token, raw in zip(kinds, match.groups(), strict=True):
        kind, size = token[0], len(token)
        if kind in "Md" and size >= 3:
            if kind == "M":
                abbreviations = [month[:3].lower() for month in _MONTHS]
                parts["M"] = abbreviations.index(raw[:3].lower()) + 1
        elif kind in "yMdhHms":
            parts["H" if kind == "h" else kind] = int(raw)
            if kind == "y" and size <= 2:
                parts["y"] += 2000 if parts["y"] <= 49 else 1900
        elif kind in "fF":
            micro = int(raw.ljust(6, "0")[:6] or 0)
        elif kind == "t":
            meridiem = raw.upper()
        elif kind in "zK" and raw:
            short = ":" not in raw and raw.upper() != "Z"
            zone = f"{raw[0]}{raw[1:].zfill(2)}:00" if short else raw
    hour = twelve_hour(parts["H"], meridiem) if meridiem else parts["H"]
    moment = datetime(
        parts["y"], parts["M"], parts["d"], hour, parts["m"], parts["s"], micro
    )
    return apply_zone(moment, zone)


_STEPS = {
    "d": timedelta(days=1),
    "ww": timedelta(weeks=1),
    "h": timedelta(hours=1),
    "n": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}
_MONTH_STEPS = {"yyyy": 12, "m": 1}
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_STYLES = frozenset(
    {
        "none",
        "allowleadingwhite",
        "allowtrailingwhite",
        "allowinnerwhite",
        "allowwhitespaces",
        "nocurrentdatedefault",
        "adjusttouniversal",
        "assumelocal",
        "assumeuniversal",
        "roundtripkind",
    }
)


def _interval(call: Call) -> str:
    interval = (call.text(0) or "").lower()
    if interval not in _STEPS and interval not in _MONTH_STEPS:
        raise call.error(
            f"interval must be yyyy, m, d, ww, h, n or s, not {interval!r}"
        )
    return interval


def _add_months(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _toward_zero(numerator: int, denominator: int) -> int:
    quotient = abs(numerator) // denominator
    return -quotient if numerator < 0 else quotient


@_function("CDate", "expression")
def _cdate(call: Call) -> Internal:
    """A UTC date/time from text such as "2020-03-16-07:00" (§4.2)."""
    return call.date(0)


@_function("DateAdd", "interval value dateTime")
def _date_add(call: Call) -> Internal:
    """Add `value` intervals; months and years clamp the day as .NET AddMonths does.

    Raises InvalidArgument for an unknown interval or a date out of range.
    Assumption [U]: a null dateTime gives null; interval letters ignore case.
    """
    interval, amount, moment = _interval(call), call.required_integer(1), call.date(2)
    if moment is None:
        return None
    try:
        if interval in _MONTH_STEPS:
            return _add_months(moment, _MONTH_STEPS[interval] * amount)
        return moment + _STEPS[interval] * amount
    except (OverflowError, ValueError):
        raise call.error("the resulting date is out of range") from None


@_function("DateDiff", "interval date1 date2")
def _date_diff(call: Call) -> Internal:
    """date2 - date1 in whole intervals; positive when date2 is later (§4.2).

    Years and months count calendar boundaries and "ww" counts Sunday-started
    weeks: the rule that reproduces every row of the Learn page's DateDiff table
    (e.g. -493 weeks from 8/25/2021 5:41:18 PM to 2012-03-16-07:00) — Assumption
    [U] beyond those rows. Other intervals truncate toward zero.
    """
    interval, first, second = _interval(call), call.date(1), call.date(2)
    if first is None or second is None:
        return None
    if interval == "yyyy":
        return second.year - first.year
    if interval == "m":
        return (second.year - first.year) * 12 + second.month - first.month
    if interval == "ww":
        first -= timedelta(days=(first.weekday() + 1) % 7)
        second -= timedelta(days=(second.weekday() + 1) % 7)
        days = _toward_zero((second - first) // _MICROSECOND, 86_400_000_000)
        return _toward_zero(days, 7)
    step = _STEPS[interval] // _MICROSECOND
    return _toward_zero((second - first) // _MICROSECOND, step)


@_function("DateFromNum", "value")
def _date_from_num(call: Call) -> Internal:
    """An AD timestamp (100 ns ticks since 1601-01-01 UTC) as a date/time (§4.2)."""
    ticks = call.integer(0)
    if ticks is None:
        return None
    try:
        if ticks < 0:
            raise OverflowError
        return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    except OverflowError:
        raise call.error(f"{ticks} is not a representable AD timestamp") from None


@_function("NumFromDate", "value")
def _num_from_date(call: Call) -> Internal:
    """A date/time as an AD timestamp: 100 ns ticks since 1601-01-01 UTC (§4.2)."""
    moment = call.date(0)
    if moment is None:
        return None
    return (moment - _FILETIME_EPOCH) // _MICROSECOND * 10


@_function("FormatDateTime", "source dateTimeStyles? inputFormat outputFormat")
def _format_date_time(call: Call) -> Internal:
    """Re-format a date string from one .NET format string to another (§4.2).

    Raises InvalidArgument for an unknown dateTimeStyles name or a source that does
    not match inputFormat. Assumption [U]: on a UTC server the styles change nothing
    visible beyond the trimming of surrounding spaces, which always applies.
    """
    source, styles = call.text(0), call.text(1) or ""
    input_format, output_format = call.text(2) or "", call.text(3) or ""
    for style in filter(None, re.split(r"\s*[,|]\s*", styles.strip())):
        if style.lower().removeprefix("datetimestyles.") not in _STYLES:
            raise call.error(f"unknown dateTimeStyles value {style!r}")
    if source is None:
        return None
    try:
        moment = parse_with_format(source, input_format, as_utc(call.context.clock()))
        return format_datetime(moment, output_format)
    except ValueError as exc:
        raise call.error(str(exc)) from None


@_function("Now")
def _now(call: Call) -> Internal:
    """The context clock's time in UTC, printed as "M/d/yyyy h:mm:ss tt" (§4.2)."""
    return as_utc(call.context.clock())
