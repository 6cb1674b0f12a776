"""Every function of the expression language, and the logic and collection ones.

`FUNCTIONS` maps each case-sensitive name (microsoft.md §4.1) to its `FunctionSpec`:
the functions of microsoft.md §4.2 that can apply to a user pushed to a SCIM app.
The string functions live in `expression_text`, the date functions in
`expression_dates`; this module holds the rest: IIF, Switch, Not, CBool, Coalesce,
the Is* tests, IgnoreFlowIfNullOrEmpty, Count, Item, Join, Split, RemoveDuplicates,
BitAnd, Guid, RandomString, Redact and the app-role functions.

Behaviour from microsoft.md §4.2 and the Microsoft Learn page "Reference for writing
expressions for attribute mappings in Microsoft Entra Application Provisioning"
(https://learn.microsoft.com/entra/identity/app-provisioning/functions-for-customizing-application-data).
Choices the sources leave open are marked "Assumption [U]".
"""

from __future__ import annotations

import uuid

from ssopoc.sandbox.entra.expression_calls import (
    Call,
    EvaluationContext,
    FunctionSpec,
    Registry,
    truth,
)
from ssopoc.sandbox.entra.expression_dates import DATE_FUNCTIONS
from ssopoc.sandbox.entra.expression_text import TEXT_FUNCTIONS, replace_mode
from ssopoc.sandbox.entra.expression_values import (
    ErrorCode,
    Internal,
    is_null_or_empty,
    text_of,
)

__all__ = ["FUNCTIONS", "EvaluationContext", "FunctionSpec", "replace_mode"]

_OWN = Registry()
_function = _OWN.function


def _complex_roles(call: Call) -> Internal:
    raise call.error(
        "the complex SCIM roles value is not emulated in the sandbox; map "
        "SingleAppRoleAssignment([appRoleAssignments]) instead",
        ErrorCode.NOT_SUPPORTED_IN_SANDBOX,
    )


_function("AppRoleAssignmentsComplex", "appRoleAssignments")(_complex_roles)
_function("AssertiveAppRoleAssignmentsComplex", "appRoleAssignments")(_complex_roles)


@_function("SingleAppRoleAssignment", "appRoleAssignments")
def _single_app_role(call: Call) -> Internal:
    """The user's one app role name (§4.2), or null without assignments.

    Raises MultipleAppRoleAssignments for several, which Microsoft says the function
    does not support — Assumption [U] that it fails rather than picks one.
    """
    value = call.arg(0)
    roles = value if isinstance(value, list) else [] if value is None else [value]
    if len(roles) > 1:
        raise call.error(
            f"the user has {len(roles)} app role assignments; only one is supported",
            ErrorCode.MULTIPLE_APP_ROLE_ASSIGNMENTS,
        )
    return text_of(roles[0]) if roles else None


@_function("SelectUniqueValue", variadic="uniqueValueRule", min_args=2)
def _select_unique_value(call: Call) -> Internal:
    """Always raises FunctionNotSupportedForApplication (§4.2: AD targets only)."""
    raise call.error(
        "is supported only for Workday, SuccessFactors and API-driven provisioning "
        "to Active Directory, not for SCIM apps such as Atlassian Cloud",
        ErrorCode.NOT_SUPPORTED_FOR_APPLICATION,
    )


@_function("BitAnd", "value1 value2")
def _bit_and(call: Call) -> Internal:
    """The bitwise AND of two whole numbers (`BitAnd(&HF, &HF7)` is 7, §4.2).

    Assumption [U]: a null operand gives null.
    """
    first, second = call.integer(0), call.integer(1)
    return None if first is None or second is None else first & second


@_function("CBool", "expression")
def _cbool(call: Call) -> Internal:
    """True for a true comparison or a non-zero number (§4.2); see `truth`."""
    return truth(call, call.scalar(0))


@_function("Coalesce", variadic="source", min_args=1)
def _coalesce(call: Call) -> Internal:
    """The first argument that is not null, so a trailing default (which may be "")
    applies only when every source is null (§4.2); "" is a value, not null.
    """
    for index in range(call.count):
        value = call.arg(index)
        if value is not None:
            return value
    return None


@_function("Count", "attribute")
def _count(call: Call) -> Internal:
    """How many values a multi-valued attribute has (§4.2).

    Assumption [U]: null counts 0 and a single value counts 1.
    """
    value = call.arg(0)
    if value is None:
        return 0
    return len(value) if isinstance(value, list) else 1


@_function("Guid")
def _guid(call: Call) -> Internal:
    """A random version-4 GUID in lower case, drawn from the context's `rng`."""
    return str(uuid.UUID(int=call.context.rng.getrandbits(128), version=4))


@_function("IgnoreFlowIfNullOrEmpty", "expression")
def _ignore_flow(call: Call) -> Internal:
    """Null when the value is null or empty, which drops the attribute from the flow:
    the engine never sends null (microsoft.md §4.2, §4.3).
    """
    value = call.arg(0)
    return None if is_null_or_empty(value) else value


@_function("IIF", "condition valueIfTrue valueIfFalse")
def _iif(call: Call) -> Internal:
    """valueIfTrue or valueIfFalse, whichever the condition picks (§4.2).

    Raises IifConditionSourceNullOrEmpty when the condition reads a null or empty
    attribute, even through IsPresent or IsNullOrEmpty: "if the source attribute in
    the condition is null/empty the condition check fails" (microsoft.md §4.2).
    Assumption [U]: that failure is an evaluation error rather than a silent False;
    Microsoft documents no error code for it.
    """
    condition, empties = call.watched(0)
    if empties:
        name = empties[0]
        raise call.error(
            f"the condition reads [{name}], which is null or empty, so Entra fails "
            f'the check; test for empty values with Switch([{name}], [{name}], "", '
            "...) instead",
            ErrorCode.IIF_SOURCE_NULL_OR_EMPTY,
        )
    if isinstance(condition, list):
        raise call.error(
            "the condition is multi-valued", ErrorCode.MULTI_VALUED_ARGUMENT
        )
    return call.arg(1) if truth(call, condition) else call.arg(2)


@_function("IsNull", "expression")
def _is_null(call: Call) -> Internal:
    """True when the value is null: the attribute is absent (§4.2)."""
    return call.arg(0) is None


@_function("IsNullOrEmpty", "expression")
def _is_null_or_empty(call: Call) -> Internal:
    """True when the value is null or "" (§4.2)."""
    return is_null_or_empty(call.arg(0))


@_function("IsPresent", "expression")
def _is_present(call: Call) -> Internal:
    """The inverse of IsNullOrEmpty (§4.2)."""
    return not is_null_or_empty(call.arg(0))


@_function("IsString", "expression")
def _is_string(call: Call) -> Internal:
    """Whether the value is text (§4.2).

    Assumption [U]: true only for a single text value, not for null, a list, a
    number literal or the result of a test.
    """
    return isinstance(call.arg(0), str)


@_function("Item", "attribute index")
def _item(call: Call) -> Internal:
    """The index-th value, counting from 1 (microsoft.md §4.2, §4.4).

    Raises InvalidArgument for an index below 1 ("Index 0 shouldn't be used").
    Assumption [U]: an index past the end gives null; a single value acts as a
    list of one.
    """
    values, index = call.arg(0), call.required_integer(1)
    if index < 1:
        raise call.error(f"index is 1-based and cannot be {index}")
    if values is None:
        return None
    items = values if isinstance(values, list) else [text_of(values)]
    return items[index - 1] if index <= len(items) else None


@_function("Join", "separator", variadic="source", min_args=2)
def _join(call: Call) -> Internal:
    """Every value of every source, separated; multi-valued ones join in full (§4.2).

    Null and "" values are skipped, as the Learn example `Join(", ", "", [surname],
    [givenName])` giving "Doe, John" shows. Assumption [U]: if nothing is left the
    result is null, not "".
    """
    separator, parts = call.text(0) or "", list[str]()
    for index in range(1, call.count):
        value = call.arg(index)
        values = value if isinstance(value, list) else [] if value is None else [value]
        parts.extend(text for text in map(text_of, values) if text != "")
    return separator.join(parts) if parts else None


@_function("Not", "source")
def _not(call: Call) -> Internal:
    """Flip a "True"/"False" source: "False" only for true, else "True" (§4.2).

    Assumption [U]: "true" matches in any case, as .NET's Boolean parsing does and
    as the Graph parseExpression example's `IsSoftDeleted: "false"` needs.
    """
    value = call.scalar(0)
    true = value is True or (isinstance(value, str) and value.strip().lower() == "true")
    return "False" if true else "True"


_POOLS = (
    "0123456789",
    "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "abcdefghijklmnopqrstuvwxyz",
)


@_function(
    "RandomString",
    "length minimumNumbers minimumSpecialCharacters minimumCapital "
    "minimumLowerCase charactersToAvoid?",
)
def _random_string(call: Call) -> Internal:
    """A random string meeting the minimums, drawn from the context's `rng` (§4.2).

    Raises InvalidArgument when the minimums do not fit in `length` (at most 256)
    or charactersToAvoid empties a required kind. Assumption [U]: the special
    characters are those of the Windows password complexity rule.
    """
    length, *minimums = (call.required_integer(index) for index in range(5))
    avoid = set(call.text(5) or "")
    pools = ["".join(c for c in pool if c not in avoid) for pool in _POOLS]
    if not 0 < length <= 256 or min(minimums) < 0 or sum(minimums) > length:
        raise call.error("length must be 1 to 256 and hold every minimum")
    wanted = list(zip(minimums, pools, strict=True))
    if any(need and not pool for need, pool in wanted):
        raise call.error("charactersToAvoid removes every character of a needed kind")
    rng, everything = call.context.rng, "".join(pools)
    chosen = [rng.choice(pool) for need, pool in wanted for _ in range(need)]
    chosen += [rng.choice(everything) for _ in range(length - len(chosen))]
    rng.shuffle(chosen)
    return "".join(chosen)


@_function("Redact", "value")
def _redact(call: Call) -> Internal:
    """The value unchanged; the logs show "[Redact]" instead (`is_redacted`, §4.2)."""
    return call.arg(0)


@_function("RemoveDuplicates", "attribute")
def _remove_duplicates(call: Call) -> Internal:
    """The values without repeats (§4.2).

    Assumption [U]: values compare case-sensitively and the first one stays.
    """
    value = call.arg(0)
    return list(dict.fromkeys(value)) if isinstance(value, list) else value


@_function("Split", "source delimiter")
def _split(call: Call) -> Internal:
    """A multi-valued result, split at every delimiter (§4.2).

    Raises InvalidArgument for an empty delimiter. Assumption [U]: parts keep their
    spaces, as .NET String.Split does, although the Learn sample output for
    "PermissionSetOne, PermissionSetTwo" shows none.
    """
    delimiter, value = call.text(1), call.arg(0)
    if not delimiter:
        raise call.error("delimiter must not be empty")
    if value is None:
        return None
    texts = value if isinstance(value, list) else [text_of(value)]
    return [part for text in texts for part in text.split(delimiter)]


@_function("Switch", "source defaultValue?", variadic="key value", min_args=4)
def _switch(call: Call) -> Internal:
    """The value of the first key equal to source, else defaultValue (§4.2).

    Keys compare case-sensitively; a null source matches the key "" (Learn:
    `Switch([country], [country], "", "Other")`). Raises MultiValuedArgument for a
    multi-valued source. An empty defaultValue slot gives null.
    """
    source = call.scalar(0)
    wanted = "" if source is None else text_of(source)
    for index in range(2, call.count, 2):
        key = call.scalar(index)
        if ("" if key is None else text_of(key)) == wanted:
            return call.arg(index + 1)
    return call.arg(1)


FUNCTIONS: dict[str, FunctionSpec] = {
    **TEXT_FUNCTIONS.functions,
    **DATE_FUNCTIONS.functions,
    **_OWN.functions,
}
