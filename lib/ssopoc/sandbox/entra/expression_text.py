"""The string functions: Append, ConvertToBase64, ConvertToUTF8Hex, CStr, InStr, Left,
Mid, NormalizeDiacritics, PCase, Replace, StripSpaces, ToLower, ToUpper and Word.

Behaviour from microsoft.md §4.2 and the Microsoft Learn page "Reference for writing
expressions for attribute mappings in Microsoft Entra Application Provisioning"
(https://learn.microsoft.com/entra/identity/app-provisioning/functions-for-customizing-application-data).
Casing follows .NET (one character to one character, invariant culture unless a
culture is given) and Replace's patterns are .NET regular expressions, rewritten
here for Python's `re`. Every function here applies to each value of a multi-valued
attribute (see `expression_calls.each`). Unconfirmed choices say "Assumption [U]".
"""

from __future__ import annotations

import base64
import functools
import re
import unicodedata
from collections.abc import Callable

from ssopoc.sandbox.entra.expression_calls import Call, Registry, each
from ssopoc.sandbox.entra.expression_values import Internal, is_null_or_empty

TEXT_FUNCTIONS = Registry()
_function = TEXT_FUNCTIONS.function

# Unicode categories that .NET's ToTitleCase treats as word breaks (PCase, §4.2).
_WORD_BREAKS = frozenset(
    {"Zs", "Zl", "Zp", "Cc", "Cf", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"}
    | {"Sm", "Sc", "Sk", "So"}
)
_TURKIC = frozenset({"tr", "az"})
_CULTURE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
# Letters without a Unicode decomposition that the NormalizeDiacritics table maps.
_LETTER_MAP = {
    "\u00e6": "ae",
    "\u00c6": "AE",
    "\u00f8": "oe",
    "\u00d8": "OE",
    "\u0153": "oe",
    "\u0152": "OE",
    "\u00df": "ss",
    "\u0142": "l",
    "\u0141": "L",
    "\u0131": "i",
}
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff]")


def _lower_char(char: str) -> str:
    if char == "\u0130":  # capital I with dot: its simple lower case is plain "i"
        return "i"
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char


def _upper_char(char: str) -> str:
    raised = char.upper()
    return raised if len(raised) == 1 else char


def change_case(text: str, *, upper: bool, culture: str | None) -> str:
    """ToUpper/ToLower: .NET's one-to-one case mapping, Turkic rules for tr and az.

    Without a culture the invariant culture applies (microsoft.md §4.2). .NET never
    changes a string's length when casing, so "ß" stays "ß" in upper case.
    """
    turkic = bool(culture) and str(culture).split("-")[0].lower() in _TURKIC
    out = []
    for char in text:
        if turkic and upper and char == "i":
            out.append("\u0130")
        elif turkic and not upper and char == "I":
            out.append("\u0131")
        else:
            out.append(_upper_char(char) if upper else _lower_char(char))
    return "".join(out)


def proper_case(text: str, separators: str | None) -> str:
    """PCase: upper-case the first character of each word, lower-case the rest.

    Without `separators`, words break at the Unicode categories Microsoft lists for
    .NET ToTitleCase; with them, only at those characters (microsoft.md §4.2).
    """
    out, at_start = [], True
    for char in text:
        if separators is not None:
            breaks = char in separators
        else:
            breaks = unicodedata.category(char) in _WORD_BREAKS
        out.append(char if breaks else (_upper_char if at_start else _lower_char)(char))
        at_start = breaks
    return "".join(out)


def normalize_diacritics(text: str) -> str:
    """Drop accent marks and spell out æ, ø, œ, ß and ł as the §4.2 table does.

    Only combining marks of the diacritic blocks go, so other scripts keep their
    vowel signs.
    """
    stripped = _COMBINING_MARKS.sub("", unicodedata.normalize("NFD", text))
    spelled = "".join(_LETTER_MAP.get(char, char) for char in stripped)
    return unicodedata.normalize("NFC", spelled)


@functools.lru_cache(maxsize=256)
def compile_dotnet_regex(pattern: str) -> re.Pattern[str]:
    """Compile a .NET regular expression (Replace, §4.2) with Python's `re`.

    Rewrites the .NET-only spellings `(?<name>...)`, `\\k<name>`, `\\z` and `\\Z`.
    Raises `re.error` when the result does not compile.
    """
    out, index = [], 0
    while index < len(pattern):
        named = re.match(r"\(\?<([A-Za-z_]\w*)>|\\k<(\w+)>", pattern[index:])
        if named:
            group, reference = named.groups()
            out.append(f"(?P<{group}>" if group else f"(?P={reference})")
            index += named.end()
            continue
        pair = pattern[index : index + 2] if pattern[index] == "\\" else pattern[index]
        out.append({"\\z": r"\Z", "\\Z": r"(?=\n?\Z)"}.get(pair, pair))
        index += len(pair)
    return re.compile("".join(out))


def dotnet_replacement(template: str) -> str:
    """Turn a .NET replacement string (`${name}`, `$1`, `$&`, `$$`) into Python's."""
    out, index = [], 0
    while index < len(template):
        match = re.match(r"\$(?:\{(\w+)\}|(\d+)|(\$)|(&))", template[index:])
        if match:
            name, number, dollar, _ = match.groups()
            out.append("$" if dollar else f"\\g<{name or number or 0}>")
            index += match.end()
            continue
        out.append("\\\\" if template[index] == "\\" else template[index])
        index += 1
    return "".join(out)


def _culture(call: Call) -> str | None:
    culture = call.text(1) or None
    if culture is not None and not _CULTURE.fullmatch(culture):
        raise call.error(
            f"culture must be an RFC 4646 name like en-US, not {culture!r}"
        )
    return culture


@_function("Append", "source suffix")
def _append(call: Call) -> Internal:
    """source followed by suffix (§4.2).

    Assumption [U]: a null source counts as "", so the result is the suffix.
    """
    source, suffix = call.arg(0), call.text(1)
    if source is None:
        return suffix
    return each(source, lambda text: text + (suffix or ""))


@_function("ConvertToBase64", "source")
def _to_base64(call: Call) -> Internal:
    """Base64 of the UTF-16LE bytes ("Hello world!" → "SABlAGwA...", §4.2)."""
    return each(call.arg(0), lambda s: base64.b64encode(s.encode("utf-16-le")).decode())


@_function("ConvertToUTF8Hex", "source")
def _to_utf8_hex(call: Call) -> Internal:
    """Upper-case hex of the UTF-8 bytes ("Hello world!" → "48656C6C...", §4.2)."""
    return each(call.arg(0), lambda text: text.encode("utf-8").hex().upper())


@_function("CStr", "value")
def _cstr(call: Call) -> Internal:
    """The value as text: booleans "True"/"False", dates "M/d/yyyy h:mm:ss tt"."""
    return each(call.arg(0), lambda text: text)


@_function("InStr", "value1 value2 start? compareType?")
def _instr(call: Call) -> Internal:
    """The 1-based position of value2 in value1 from `start`, or 0 (§4.2).

    Raises InvalidArgument for start below 1 or an unknown compareType.
    Assumption [U], after VBA: null text gives null; compareType is
    vbBinaryCompare (0, the default) or vbTextCompare (1, ignores case).
    """
    haystack, needle, start = call.text(0), call.text(1), call.integer(2)
    start = 1 if start is None else start
    mode = call.text(3) or "vbBinaryCompare"
    if mode not in ("vbBinaryCompare", "vbTextCompare", "0", "1"):
        raise call.error(
            f"compareType must be vbBinaryCompare or vbTextCompare: {mode!r}"
        )
    if start < 1:
        raise call.error(f"start is 1-based and cannot be {start}")
    if haystack is None or needle is None:
        return None
    if mode in ("vbTextCompare", "1"):
        haystack = change_case(haystack, upper=False, culture=None)
        needle = change_case(needle, upper=False, culture=None)
    return haystack.find(needle, start - 1) + 1


@_function("Left", "string numChars")
def _left(call: Call) -> Internal:
    """The first numChars characters; 0 → "", below 0 → all, null → "" (§4.2)."""
    value, count = call.arg(0), call.required_integer(1)
    if value is None:
        return ""
    return each(value, lambda text: text if count < 0 else text[:count])


@_function("Mid", "source start length")
def _mid(call: Call) -> Internal:
    """`length` characters from the 1-based `start`, stopping at the end (§4.2).

    Raises InvalidArgument for start below 1 or a negative length.
    Assumption [U]: a null source gives null.
    """
    start, length = call.required_integer(1), call.required_integer(2)
    if start < 1 or length < 0:
        raise call.error(f"start is 1-based and length not negative: {start}, {length}")
    return each(call.arg(0), lambda text: text[start - 1 : start - 1 + length])


@_function("NormalizeDiacritics", "source")
def _normalize_diacritics(call: Call) -> Internal:
    """The source without diacritics ("Zoë" → "Zoe", §4.2)."""
    return each(call.arg(0), normalize_diacritics)


@_function("PCase", "source wordSeparators?")
def _pcase(call: Call) -> Internal:
    """Proper case; see `proper_case`. Assumption [U]: "" separators means none."""
    separators = call.text(1) or None
    return each(call.arg(0), lambda text: proper_case(text, separators))


def replace_mode(given: Callable[[int], bool]) -> str | None:
    """Which Replace behaviour the non-empty slots select, or None if none does.

    From microsoft.md §4.2: regexPattern + regexGroupName + replacementAttributeName
    → "fallback"; regexPattern + regexGroupName + replacementValue → "group";
    regexPattern + replacementValue → "regex"; oldValue + template → "template";
    oldValue + replacementValue → "plain". Assumption [U]: that order decides when
    more arguments are given than one mode needs.
    """
    if given(2) and given(3) and given(5):
        return "fallback"
    if given(2) and given(4):
        return "group" if given(3) else "regex"
    if given(1) and given(6):
        return "template"
    return "plain" if given(1) and given(4) else None


# Parameter keys: Graph's parseExpression example labels oldValue "Find" and
# replacementValue "Replacement" (microsoft.md §4.2); the rest use the Learn names.
@_function(
    "Replace",
    "source Find? regexPattern? regexGroupName? Replacement? "
    "replacementAttributeName? template?",
)
def _replace(call: Call) -> Internal:
    """Replace text, case-sensitively, in the mode `replace_mode` selects (§4.2).

    Raises InvalidArgument for an empty oldValue, a bad regex or an unknown group.
    Assumption [U]: a null source gives null, except in the fallback mode, and a
    null replacementValue counts as "".
    """
    mode, source = replace_mode(call.given), call.arg(0)
    if mode == "template":
        old, template = call.text(1) or "", call.text(6)
        if not old or template is None:
            raise call.error("oldValue and template must not be empty")
        return each(source, lambda text: template.replace(old, text))
    if mode == "plain":
        old, new = call.text(1) or "", call.text(4) or ""
        if not old:
            raise call.error("oldValue must not be empty")
        return each(source, lambda text: text.replace(old, new))
    try:
        pattern = compile_dotnet_regex(call.text(2) or "")
        return _replace_regex(call, mode, pattern, source)
    except (re.error, IndexError) as exc:
        raise call.error(f"the regular expression failed: {exc}") from None


def _replace_regex(
    call: Call, mode: str | None, pattern: re.Pattern[str], source: Internal
) -> Internal:
    group = call.text(3) or ""
    if mode == "fallback":
        if not is_null_or_empty(source):
            return source
        other = call.text(5)
        match = None if other is None else pattern.search(other)
        return None if match is None else match.group(group)
    replacement = call.text(4) or ""
    if mode == "regex":
        template = dotnet_replacement(replacement)
        return each(source, lambda text: pattern.sub(template, text))

    def swap(match: re.Match[str]) -> str:
        start, end = match.span(group)
        if start < 0:
            return match.group(0)
        whole, offset = match.group(0), match.start()
        return whole[: start - offset] + replacement + whole[end - offset :]

    return each(source, lambda text: pattern.sub(swap, text))


@_function("StripSpaces", "source")
def _strip_spaces(call: Call) -> Internal:
    """The source without space characters (" " only, §4.2)."""
    return each(call.arg(0), lambda text: text.replace(" ", ""))


@_function("ToLower", "source culture?")
def _to_lower(call: Call) -> Internal:
    """Lower case under `culture`, invariant by default (§4.2); see `change_case`."""
    culture = _culture(call)
    return each(call.arg(0), lambda s: change_case(s, upper=False, culture=culture))


@_function("ToUpper", "source culture?")
def _to_upper(call: Call) -> Internal:
    """Upper case under `culture`, invariant by default (§4.2); see `change_case`."""
    culture = _culture(call)
    return each(call.arg(0), lambda s: change_case(s, upper=True, culture=culture))


@_function("Word", "string wordNumber delimiters")
def _word(call: Call) -> Internal:
    """The n-th word, counting from 1, between any of the delimiter characters.

    n below 1, a null string or too few words give "" (§4.2).
    """
    value, number, delimiters = call.arg(0), call.integer(1), call.text(2) or ""
    if value is None or number is None or number < 1:
        return ""

    breaks = re.compile("|".join(map(re.escape, delimiters))) if delimiters else None

    def pick(text: str) -> str:
        words = [word for word in (breaks.split(text) if breaks else [text]) if word]
        return words[number - 1] if number <= len(words) else ""

    return each(value, pick)
