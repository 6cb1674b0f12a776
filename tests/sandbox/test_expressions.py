"""The Entra attribute-mapping expression language of the sandbox (microsoft.md §4).

Each table row names the fact it checks: "§4.x" is a section of
docs/reference/microsoft.md, "Learn" an example of the Microsoft Learn page
"Reference for writing expressions for attribute mappings in Microsoft Entra
Application Provisioning", "Graph" the parseExpression / attributeMappingSource
pages, and "[U]" a documented assumption of the implementation.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from ssopoc.sandbox.entra.expressions import (
    MAX_EXPRESSION_LENGTH,
    AttributeRef,
    ErrorCode,
    EvaluationContext,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    FunctionCall,
    StringLiteral,
    Value,
    evaluate,
    is_multi_valued,
    is_redacted,
    parse,
    referenced_attributes,
    supported_functions,
    to_mapping_source,
    to_text,
)

NOW = datetime(2021, 7, 2, 15, 33, 38, tzinfo=UTC)
Source = Mapping[str, object]
OTHER_MAILS = ["first@unverified.example", "second@unverified.example"]
MAILS: Source = {"otherMails": OTHER_MAILS}


def run(text: str, source: Source | None = None, seed: int = 7) -> Value:
    context = EvaluationContext(clock=lambda: NOW, rng=random.Random(seed))
    return evaluate(text, source or {}, context=context)


def row(text: str, source: Source, expected: Value, fact: str) -> object:
    return pytest.param(text, source, expected, id=fact)


# fmt: off
LEARN_EXAMPLES = [
    row('Append([userPrincipalName], ".test")', {"userPrincipalName": "J@c.com"},
        "J@c.com.test", "Learn Append"),
    row("BitAnd(&HF, &HF7)", {}, "7", "Learn BitAnd hex literals"),
    row("CDate([StatusHireDate])", {"StatusHireDate": "2020-03-16-07:00"},
        "3/16/2020 7:00:00 AM", "Learn CDate 1 UTC"),
    row('CDate("2021-06-30+08:00")', {}, "6/29/2021 4:00:00 PM", "Learn CDate 2"),
    row('CDate("2009-06-15T01:45:30-07:00")', {}, "6/15/2009 8:45:30 AM",
        "Learn CDate 3"),
    row("Coalesce([mail],[userPrincipalName])", {"userPrincipalName": "j@c.com"},
        "j@c.com", "Learn Coalesce mail null"),
    row('ConvertToBase64("Hello world!")', {}, "SABlAGwAbABvACAAdwBvAHIAbABkACEA",
        "§4.2 ConvertToBase64 UTF-16LE"),
    row('ConvertToUTF8Hex("Hello world!")', {}, "48656C6C6F20776F726C6421",
        "Learn ConvertToUTF8Hex"),
    row('DateAdd("d", 7, CDate("2012-03-16-07:00"))', {}, "3/23/2012 7:00:00 AM",
        "Learn DateAdd 7 days"),
    row('DateAdd("d", -10, CDate("2012-03-16-07:00"))', {}, "3/6/2012 7:00:00 AM",
        "Learn DateAdd -10 days"),
    row('DateAdd("ww", 2, CDate("2012-03-16-07:00"))', {}, "3/30/2012 7:00:00 AM",
        "Learn DateAdd 2 weeks"),
    row('DateAdd("m", 10, CDate("2012-03-16-07:00"))', {}, "1/16/2013 7:00:00 AM",
        "Learn DateAdd 10 months"),
    row('DateAdd("yyyy", 2, CDate("2012-03-16-07:00"))', {}, "3/16/2014 7:00:00 AM",
        "Learn DateAdd 2 years"),
    row('DateDiff("d", CDate("2021-08-18+08:00"), CDate("2021-08-31+08:00"))', {},
        "13", "Learn DateDiff positive days"),
    row('DateDiff("d", CDate("8/25/2021 5:41:18 PM"), CDate("2012-03-16-07:00"))',
        {}, "-3449", "Learn DateDiff negative days"),
    row('DateDiff("ww", CDate("8/25/2021 5:41:18 PM"), CDate("2012-03-16-07:00"))',
        {}, "-493", "Learn DateDiff weeks"),
    row('DateDiff("m", CDate("8/25/2021 5:41:18 PM"), CDate("2012-03-16-07:00"))',
        {}, "-113", "Learn DateDiff months"),
    row('DateDiff("yyyy", CDate("8/25/2021 5:41:18 PM"), CDate("2012-03-16-07:00"))',
        {}, "-9", "Learn DateDiff years"),
    row('DateDiff("d", CDate("2021-08-31+08:00"), CDate("2021-08-31+08:00"))', {},
        "0", "Learn DateDiff same"),
    row('DateDiff("h", CDate("2021-08-24"), CDate("2021-08-25"))', {}, "24",
        "Learn DateDiff hours"),
    row('DateDiff("n", CDate("2021-08-24"), CDate("2021-08-25"))', {}, "1440",
        "Learn DateDiff minutes"),
    row('DateDiff("s", CDate("2021-08-24"), CDate("2021-08-25"))', {}, "86400",
        "Learn DateDiff seconds"),
    row("DateFromNum(129699324000000000)", {}, "1/1/2012 11:00:00 PM",
        "Learn DateFromNum"),
    row('FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")',
        {"extensionAttribute1": "20150123105347.1Z"}, "2015-01-23",
        "Learn FormatDateTime"),
    # 2020-12-31 23:59:59-08:00 is Unix time 1609487999; the AD epoch is
    # 116444736000000000 ticks before the Unix one.
    row('NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", '
        '"yyyy-MM-dd"), " 23:59:59-08:00"))', {"ContractEndDate": "2020-12-31-08:00"},
        str(116444736000000000 + 1609487999 * 10**7), "Learn NumFromDate Workday"),
    row('InStr("The quick brown fox","quick")', {}, "5", "Learn InStr"),
    row('InStr("repEated","e",3,vbBinaryCompare)', {}, "7", "Learn InStr binary"),
    row('Left("John Doe", 3)', {}, "Joh", "Learn Left"),
    row("NormalizeDiacritics([givenName])", {"givenName": "Zo\u00eb"}, "Zoe",
        "Learn NormalizeDiacritics"),
    row("PCase([firstName])", {"firstName": "PABLO GONSALVES (SECOND)"},
        "Pablo Gonsalves (Second)", "Learn PCase default separators"),
    row("PCase([lastName],\" '-\")", {"lastName": "PINTO-DE'SILVA"},
        "Pinto-De'Silva", "Learn PCase given separators"),
    row('PCase(Join(" ",[firstName],[lastName]))',
        {"firstName": "GREGORY", "lastName": "JAMES"}, "Gregory James",
        "Learn PCase nested Join"),
    row('Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )',
        {"BusinessTitle": "Product Developer"}, "Software Engineer",
        "Learn Replace 1 oldValue+replacementValue"),
    row('Replace([UserID],"<username>", , , , , "<username>@contoso.com")',
        {"UserID": "jsmith"}, "jsmith@contoso.com", "Learn Replace 2 template"),
    row('Replace([telephoneNumber], , "\\\\+(?<isdCode>\\\\d* )(?<phoneNumber>'
        '\\\\d{10})", , "${phoneNumber}", , )', {"telephoneNumber": "+91 9998887777"},
        "9998887777", "Learn Replace 3 regex+replacementValue"),
    # The Learn page prints 19998887777, which its own pattern cannot produce.
    row('Replace([mobile], , "[()\\\\s-]+", , "", , )',
        {"mobile": "+1 (999) 888-7777"}, "+19998887777", "Learn Replace 3 collapse"),
    row('Replace([AddressLineData], ,"(?<streetNumber>^\\\\d*)","streetNumber", '
        '"888", , )', {"AddressLineData": "545 Tremont Street"}, "888 Tremont Street",
        "Learn Replace 4 regex group"),
    row('Replace([userPrincipalName], , "(?<Suffix>@(.)*)", "Suffix", "", , )',
        {"userPrincipalName": "jsmith@contoso.com"}, "jsmith",
        "Learn Replace 4 strip suffix"),
    row('Replace([telephoneNumber], , "\\\\+(?<isdCode>\\\\d* )(?<phoneNumber>'
        '\\\\d{10})", "phoneNumber" , , [mobile], )',
        {"telephoneNumber": "", "mobile": "+91 8887779999"}, "8887779999",
        "Learn Replace 5 replacementAttributeName"),
    row('Replace([mailNickname], , "[a-zA-Z_]*", , "", , )',
        {"mailNickname": "john_doe72"}, "72", "Learn Replace 6"),
    row('Replace([mail], "@contoso.com", , ,"", ,)', {"mail": "john.doe@contoso.com"},
        "john.doe", "Learn strip known domain"),
    row('Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", '
        '"Australia/Brisbane", "SA", "Australia/Adelaide")', {"state": "QLD"},
        "Australia/Brisbane", "Learn Switch"),
    row('ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".",  '
        '[PreferredFirstName], [PreferredLastName]))), "contoso.com"))',
        {"PreferredFirstName": "John", "PreferredLastName": "Smith"},
        "john.smith@contoso.com", "Learn ToLower UPN"),
    row('Word("The quick brown fox",3," ")', {}, "brown", "Learn Word"),
    row('Word("This,string!has&many separators",3,",!&#")', {}, "has",
        "Learn Word many delimiters"),
    row("Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))",
        {"givenName": "John", "surname": "Doe"}, "JohDoe", "Learn alias from names"),
    row('Join(", ", "", [surname], [givenName])',
        {"givenName": "John", "surname": "Doe"}, "Doe, John",
        "Learn Join skips empty source"),
    row('Switch([Active], , "1", IIF(DateDiff("d", Now(), CDate([StatusHireDate])) '
        '> 5, "False", "True"), "0", "False")',
        {"Active": "1", "StatusHireDate": "2021-07-10"}, "False",
        "Learn DateDiff inside IIF inside Switch"),
    row('IIF([country]="USA",[country],[department])',
        {"country": "USA", "department": "Sales"}, "USA", "Learn IIF true branch"),
    row('IIF([country]="USA",IIF([state]="CA","True","False"),"False")',
        {"country": "USA", "state": "WA"}, "False", "Learn IIF nested AND"),
    row('Replace([preferredLanguage], "-", , , "_", ,  )',
        {"preferredLanguage": "EN-US"}, "EN_US", "Graph parseExpression example"),
]
# fmt: on


@pytest.mark.parametrize(("text", "source", "expected"), LEARN_EXAMPLES)
def test_documented_examples(text: str, source: Source, expected: Value) -> None:
    assert run(text, source) == expected


# fmt: off
EDGE_CASES = [
    row("Item([otherMails], 1)", MAILS, "first@unverified.example",
        "§4.4 Item 1-based"),
    row("Item([otherMails], 2)", MAILS, "second@unverified.example", "§4.2 Item 2nd"),
    row("Item([otherMails], 3)", MAILS, None, "[U] Item past the end is null"),
    row("Item([mail], 1)", {"mail": "a@b"}, "a@b", "[U] Item on a single value"),
    row('Mid("abcdef", 1, 3)', {}, "abc", "§4.2 Mid 1-based start"),
    row('Mid("abcdef", 3, 100)', {}, "cdef", "Learn Mid length past the end"),
    row('Mid("abc", 5, 2)', {}, "", "[U] Mid start past the end"),
    row("Mid([missing], 1, 2)", {}, None, "[U] Mid of null is null"),
    row('Switch([flag], "default", "true", "1")', {"flag": "True"}, "default",
        "§4.2 Switch is case-sensitive"),
    row('Switch([flag], "default", "true", "1")', {"flag": "true"}, "1",
        "§4.2 Switch exact key"),
    row('Switch([country], [country], "", "Other")', {}, "Other",
        "§4.2 Switch null source matches empty key"),
    row('Switch([country], [country], "", "Other")', {"country": "NZ"}, "NZ",
        "§4.2 Switch default is the source"),
    row('Switch([flag], , "a", "b")', {"flag": "z"}, None,
        "§4.2 Switch empty default gives null"),
    row("Not([v])", {"v": "True"}, "False", "§4.2 Not True"),
    row("Not([v])", {"v": "False"}, "True", "§4.2 Not False"),
    row("Not([v])", {"v": "true"}, "False", "[U] Not ignores case"),
    row("Not([v])", {"v": "yes"}, "True", "§4.2 Not anything else is True"),
    row("Not([v])", {}, "True", "§4.2 Not of null is True"),
    row("Not([accountEnabled])", {"accountEnabled": True}, "False",
        "§4.2 Not of a Graph boolean"),
    row("Coalesce([a], [b], [c])", {"b": "B", "c": "C"}, "B",
        "§4.2 Coalesce first non-null"),
    row('Coalesce([a], [b], "default")', {}, "default", "§4.2 Coalesce default"),
    row('Coalesce([a], "")', {}, "", "§4.2 Coalesce empty default"),
    row("Coalesce([a], [b])", {}, None, "§4.2 Coalesce no default is null"),
    row('Coalesce([a], "default")', {"a": ""}, "", "§4.2 Coalesce '' is not null"),
    row("Coalesce([extensionAttribute1],[mail])", {"mail": "m@verified.example"},
        "m@verified.example", "§4.4 PoC mapping falls back to mail"),
    row('Join(",", [otherMails])', MAILS,
        "first@unverified.example,second@unverified.example",
        "§4.2 Join multi-valued in full"),
    row('Join(",", [mail])', {"mail": "a@b"}, "a@b", "§4.2 Join single value"),
    row('Join("; ", [mail], [otherMails])', {"mail": "a@b", **MAILS},
        "a@b; first@unverified.example; second@unverified.example",
        "§4.2 Join single and multi-valued"),
    row('Join(",", [missing])', {}, None, "[U] Join of nothing is null"),
    row('ToLower("TITLE", "tr-TR")', {}, "t\u0131tle", "§4.2 ToLower culture tr"),
    row('ToLower("TITLE", "en-US")', {}, "title", "§4.2 ToLower culture en"),
    row('ToLower("\u0130STANBUL")', {}, "istanbul", "§4.2 ToLower invariant"),
    row('ToUpper("istanbul", "tr-TR")', {}, "\u0130STANBUL", "§4.2 ToUpper tr"),
    row('ToUpper("stra\u00dfe")', {}, "STRA\u00dfE", "[U] ToUpper keeps length"),
    row("[IsSoftDeleted]", {"IsSoftDeleted": True}, "True",
        "§4.2 IsSoftDeleted set by the engine"),
    row("Not([IsSoftDeleted])", {"isSoftDeleted": "false"}, "True",
        "§4.2 Not(IsSoftDeleted) for an active user"),
    row("Not([IsSoftDeleted])", {"accountEnabled": False}, "False",
        "[U] IsSoftDeleted from accountEnabled false"),
    row("[IsSoftDeleted]", {"deletedDateTime": "2024-01-01T00:00:00Z"}, "True",
        "[U] IsSoftDeleted from deletedDateTime"),
    row("[IsSoftDeleted]", {"accountEnabled": True}, "False",
        "[U] IsSoftDeleted false for an enabled user"),
    row('Switch([IsSoftDeleted], , "False", "True", "True", "False")',
        {"IsSoftDeleted": False}, "True", "§4.2 Switch form for active"),
    row('IIF([country]="USA","US","Other")', {"country": "usa"}, "Other",
        "[U] = compares case-sensitively"),
    row('IIF([level] > 5, "high", "low")', {"level": "10"}, "high",
        "[U] numbers compare as numbers"),
    row('IIF([level] <> "3", "no", "yes")', {"level": "3"}, "yes",
        "§4.1 <> operator"),
    row('IIF("True", "a", Item([otherMails], 0))', MAILS, "a",
        "IIF evaluates only the chosen branch"),
    row("CBool([a] = [b])", {"a": "x", "b": "x"}, "True", "Learn CBool comparison"),
    row("CBool([n])", {"n": "0"}, "False", "§4.2 CBool zero"),
    row("IsNull([displayName])", {}, "True", "§4.2 IsNull absent"),
    row("IsNull([displayName])", {"displayName": ""}, "False", "§4.2 IsNull empty"),
    row("IsNullOrEmpty([displayName])", {"displayName": ""}, "True",
        "§4.2 IsNullOrEmpty empty"),
    row("IsPresent([displayName])", {"displayName": "D"}, "True", "§4.2 IsPresent"),
    row("IsString([displayName])", {"displayName": "D"}, "True", "§4.2 IsString"),
    row("IsString([otherMails])", MAILS, "False", "[U] IsString of a list"),
    row("IgnoreFlowIfNullOrEmpty([department])", {"department": ""}, None,
        "§4.2 IgnoreFlowIfNullOrEmpty drops empty"),
    row("IgnoreFlowIfNullOrEmpty([department])", {"department": "Sales"}, "Sales",
        "§4.2 IgnoreFlowIfNullOrEmpty keeps value"),
    row("Count([otherMails])", MAILS, "2", "§4.2 Count"),
    row("Count([otherMails])", {"otherMails": []}, "0", "[U] Count of no values"),
    row("RemoveDuplicates([proxyAddresses])", {"proxyAddresses": ["a", "b", "a"]},
        ["a", "b"], "§4.2 RemoveDuplicates"),
    row('Split([extensionAttribute5], ",")',
        {"extensionAttribute5": "PermissionSetOne, PermissionSetTwo"},
        ["PermissionSetOne", " PermissionSetTwo"], "[U] Split keeps spaces"),
    row("ToLower([otherMails])", {"otherMails": ["A@X", "B@Y"]}, ["a@x", "b@y"],
        "[U] string functions map over values"),
    row("Left([mail], 0)", {"mail": "abc"}, "", "§4.2 Left 0"),
    row("Left([mail], -1)", {"mail": "abc"}, "abc", "§4.2 Left negative"),
    row("Left([mail], 2)", {}, "", "§4.2 Left null"),
    row('Word([missing], 1, " ")', {}, "", "§4.2 Word null"),
    row('Word("a b", 0, " ")', {}, "", "§4.2 Word number below 1"),
    row('Word("a b", 3, " ")', {}, "", "§4.2 Word too few words"),
    row('Append([missing], "@x")', {}, "@x", "[U] Append null source"),
    row('StripSpaces(" a b ")', {}, "ab", "§4.2 StripSpaces"),
    row('InStr("abc", "B", 1, vbTextCompare)', {}, "2", "[U] InStr text compare"),
    row('InStr("abc", "z")', {}, "0", "§4.2 InStr not found"),
    row("SingleAppRoleAssignment([appRoleAssignments])",
        {"appRoleAssignments": ["Default Assignment"]}, "Default Assignment",
        "§4.2 SingleAppRoleAssignment"),
    row("Redact([mail])", {"mail": "a@b"}, "a@b", "§4.2 Redact keeps value"),
    row("CStr(IsPresent([mail]))", {"mail": "a"}, "True", "§4.2 CStr boolean"),
    row('FormatDateTime("3/16/2020 7:00:00 AM", , "M/d/yyyy h:mm:ss tt", "o")', {},
        "2020-03-16T07:00:00.0000000Z", "[U] .NET round-trip format"),
    row("Now()", {}, "7/2/2021 3:33:38 PM", "§4.2 Now from the injected clock"),
    row('"Company name: \\"Contoso\\""', {}, 'Company name: "Contoso"',
        "§4.1 escaped quotes"),
    row('"a\\\\b"', {}, "a\\b", "§4.1 escaped backslash"),
]
# fmt: on


@pytest.mark.parametrize(("text", "source", "expected"), EDGE_CASES)
def test_edge_cases(text: str, source: Source, expected: Value) -> None:
    assert run(text, source) == expected


# fmt: off
SOURCES = [
    row("[MAIL]", {"mail": "a@b"}, "a@b", "attribute names ignore case"),
    row("[extensionAttribute1]", {"extensionAttribute1": "x@u"}, "x@u",
        "§4.4 flat extensionAttribute1"),
    row("[extensionAttribute1]",
        {"onPremisesExtensionAttributes": {"extensionAttribute1": "x@u"}}, "x@u",
        "[U] extensionAttribute1 inside the Graph object"),
    row("[onPremisesExtensionAttributes.extensionAttribute1]",
        {"onPremisesExtensionAttributes": {"extensionAttribute1": "x@u"}}, "x@u",
        "[U] dotted name walks nested objects"),
    row("[passwordProfile.password]", {"passwordProfile.password": ""}, "",
        "Graph dotted key as given"),
    row("[objectId]", {"id": "42"}, "42", "[U] objectId falls back to id"),
    row("[otherMails]", MAILS, OTHER_MAILS, "§4.4 multi-valued is a list"),
    row("[otherMails]", {"otherMails": []}, None, "[U] no values is null"),
    row("[mail]", {}, None, "missing attribute is null"),
    row("[when]", {"when": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)},
        "2024-01-02T03:04:05Z", "[U] datetime source as ISO 8601"),
    row("[count]", {"count": 3}, "3", "number source as text"),
]
# fmt: on


@pytest.mark.parametrize(("text", "source", "expected"), SOURCES)
def test_attribute_lookup(text: str, source: Source, expected: Value) -> None:
    assert run(text, source) == expected


SYNTAX_ERRORS = [
    ("Mid([mail], 1, 3", 17, "expected ',' or ')' but found end of input"),
    ("Mid([mail], 1, 3))", 18, "expected end of expression but found ')'"),
    (
        'Append([mail], "x)',
        19,
        "expected '\"' to close the string opened at position 16",
    ),
    ("[mail", 6, "expected ']'"),
    ('Join(",", [mail)', 16, "expected ']' to close the attribute"),
    ("Foo([mail])", 1, "expected a known function, not 'Foo'"),
    ("toLower([mail])", 1, "case-sensitive: 'ToLower'"),
    ("Mid([mail], 1)", 1, "expected 3 arguments for Mid, got 2"),
    ("Not([a], [b])", 1, "expected 1 argument for Not, got 2"),
    ("Now(1)", 1, "expected no arguments for Now, got 1"),
    ("Coalesce()", 1, "expected at least 1 arguments for Coalesce, got 0"),
    ("Mid([mail], , 3)", 13, "argument 2 (start) but it is empty"),
    ('Switch([a], "d", "k", "v", "k2")', 1, "expected key/value pairs"),
    ('Switch([a], "d", "k")', 1, "expected at least 4 arguments for Switch"),
    ('Replace([mail], "a", , , , , )', 1, "expected Replace to get oldValue"),
    ('Join(",", SelectUniqueValue([a], [b]))', 11, "SelectUniqueValue only as the"),
    ("", 1, "expected an expression"),
    ('"a" "b"', 5, "expected end of expression"),
    ('IIF([a] = , "x", "y")', 11, "expected a function call, an [attribute]"),
    ("Mid([ma il], 1, 2)", 8, "without spaces"),
    ("Foo", 4, "expected '(' after 'Foo'"),
    ("Now(", 5, "expected ',' or ')'"),
    ("1.5", 2, "expected end of expression but found '.'"),
    ("x" * (MAX_EXPRESSION_LENGTH + 1), MAX_EXPRESSION_LENGTH + 1, "at most 10000"),
]


@pytest.mark.parametrize(("text", "position", "fragment"), SYNTAX_ERRORS)
def test_syntax_errors_name_the_position(
    text: str, position: int, fragment: str
) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse(text)

    assert caught.value.position == position
    assert fragment in str(caught.value)
    assert str(caught.value).endswith(f"at position {position}")
    assert isinstance(caught.value, ValueError)


EVALUATION_ERRORS = [
    ('IIF([country]="USA","a","b")', {}, ErrorCode.IIF_SOURCE_NULL_OR_EMPTY),
    (
        'IIF([country]="","Other",[country])',
        {"country": ""},
        ErrorCode.IIF_SOURCE_NULL_OR_EMPTY,
    ),
    (
        'IIF(IsNullOrEmpty([country]),"Other",[country])',
        {},
        ErrorCode.IIF_SOURCE_NULL_OR_EMPTY,
    ),
    (
        'IIF(IsPresent([country]),[country],"Other")',
        {},
        ErrorCode.IIF_SOURCE_NULL_OR_EMPTY,
    ),
    ("Item([otherMails], 0)", MAILS, ErrorCode.INVALID_ARGUMENT),
    ("Mid([mail], 0, 2)", {"mail": "abc"}, ErrorCode.INVALID_ARGUMENT),
    ('Mid([mail], "a", 2)', {"mail": "abc"}, ErrorCode.INVALID_ARGUMENT),
    ('Switch([otherMails], "d", "a", "b")', MAILS, ErrorCode.MULTI_VALUED_ARGUMENT),
    ('IIF([otherMails] = "a", "x", "y")', MAILS, ErrorCode.MULTI_VALUED_ARGUMENT),
    (
        "AppRoleAssignmentsComplex([appRoleAssignments])",
        {"appRoleAssignments": ["A"]},
        ErrorCode.NOT_SUPPORTED_IN_SANDBOX,
    ),
    (
        "SelectUniqueValue([a], [b])",
        {"a": "x"},
        ErrorCode.NOT_SUPPORTED_FOR_APPLICATION,
    ),
    (
        "SingleAppRoleAssignment([appRoleAssignments])",
        {"appRoleAssignments": ["A", "B"]},
        ErrorCode.MULTIPLE_APP_ROLE_ASSIGNMENTS,
    ),
    ('ToLower([mail], "not a culture")', {"mail": "a"}, ErrorCode.INVALID_ARGUMENT),
    ('DateAdd("q", 1, Now())', {}, ErrorCode.INVALID_ARGUMENT),
    ('CDate("yesterday")', {}, ErrorCode.INVALID_ARGUMENT),
    ('Replace([mail], , "(", , "x", , )', {"mail": "a"}, ErrorCode.INVALID_ARGUMENT),
    ("RandomString(3, 2, 2, 0, 0)", {}, ErrorCode.INVALID_ARGUMENT),
    ('CBool("maybe")', {}, ErrorCode.INVALID_ARGUMENT),
    ('FormatDateTime("2020", "Bogus", "yyyy", "yyyy")', {}, ErrorCode.INVALID_ARGUMENT),
    ('FormatDateTime("2020-01", , "yyyy", "yyyy")', {}, ErrorCode.INVALID_ARGUMENT),
    ('Split([mail], "")', {"mail": "a"}, ErrorCode.INVALID_ARGUMENT),
    ("[manager]", {"manager": {"id": "1"}}, ErrorCode.UNSUPPORTED_ATTRIBUTE_VALUE),
]


@pytest.mark.parametrize(("text", "source", "code"), EVALUATION_ERRORS)
def test_evaluation_errors_carry_a_code(text: str, source: Source, code: str) -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        run(text, source)

    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)


def test_iif_error_names_the_attribute_and_the_switch_workaround() -> None:
    with pytest.raises(ExpressionEvaluationError, match=r"\[country\].*Switch"):
        run('IIF([country]="USA","a","b")')


def test_seven_argument_replace_prefers_the_regex_fallback() -> None:
    # [U] order of modes: a source with a value is returned unchanged.
    text = 'Replace([t], , "(?<n>\\\\d+)", "n", "x", [m], )'

    assert run(text, {"t": "555", "m": "ab12"}) == "555"
    assert run(text, {"m": "ab12"}) == "12"


def test_replace_maps_over_a_multi_valued_source() -> None:
    text = 'Replace([proxyAddresses], "smtp:", , , "", , )'

    assert run(text, {"proxyAddresses": ["smtp:a@x", "SMTP:b@y"]}) == [
        "a@x",
        "SMTP:b@y",
    ]


def test_random_functions_follow_the_injected_rng() -> None:
    first, again, other = (
        run("Guid()", seed=1),
        run("Guid()", seed=1),
        run("Guid()", seed=2),
    )

    assert first == again != other
    assert isinstance(first, str) and first[14] == "4" and len(first) == 36


def test_random_string_meets_its_minimums() -> None:
    value = run('RandomString(10,2,2,2,1,"?,")', seed=3)

    assert isinstance(value, str) and len(value) == 10
    assert sum(c.isdigit() for c in value) >= 2
    assert sum(c.isupper() for c in value) >= 2
    assert sum(c.islower() for c in value) >= 1
    assert sum(not c.isalnum() for c in value) >= 2
    assert not set("?,") & set(value)


def test_an_argument_is_evaluated_once() -> None:
    assert run('Switch(Guid(), "none", Guid(), "same")') == "none"
    value = run('IIF(Guid() = "x", "a", Join("|", Guid(), Guid()))')
    assert isinstance(value, str) and len(set(value.split("|"))) == 2


def test_multi_valued_results_are_flagged_for_the_engine() -> None:
    assert is_multi_valued(run("[otherMails]", MAILS))
    assert is_multi_valued(run('Split([a], ",")', {"a": "x"}))
    assert not is_multi_valued(run("Item([otherMails], 1)", MAILS))
    assert not is_multi_valued(None)


def test_parse_builds_the_tree() -> None:
    tree = parse('Replace([mail], "@x", , , "", , )')

    assert tree == FunctionCall(
        "Replace",
        (
            AttributeRef("mail"),
            StringLiteral("@x"),
            None,
            None,
            StringLiteral(""),
            None,
            None,
        ),
    )
    assert isinstance(tree, FunctionCall) and tree.position == 1
    assert tree.arguments[0] is not None and tree.arguments[0].position == 9


CANONICAL = [
    (
        'Replace([preferredLanguage], "-", , , "_", ,  )',
        'Replace([preferredLanguage], "-", , , "_", , )',
    ),
    ("Mid([userPrincipalName],1,8)", "Mid([userPrincipalName], 1, 8)"),
    (
        'IIF([country]="USA",[country],[department])',
        'IIF([country] = "USA", [country], [department])',
    ),
    ("BitAnd(&hf, &HF7)", "BitAnd(&HF, &HF7)"),
    ('Join("\\\\", "\\"q\\"")', 'Join("\\\\", "\\"q\\"")'),
    ('InStr( "a" ,\n "b", 1, vbTextCompare )', 'InStr("a", "b", 1, vbTextCompare)'),
    ("Now()", "Now()"),
    ("[mail]", "[mail]"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL)
def test_to_text_is_canonical_and_round_trips(text: str, canonical: str) -> None:
    assert to_text(parse(text)) == canonical
    assert parse(canonical) == parse(text)


def test_mapping_source_matches_the_graph_parse_expression_example() -> None:
    tree = parse('Replace([preferredLanguage], "-", , , "_", ,  )')

    def constant(value: str) -> dict[str, object]:
        return {
            "expression": f'"{value}"',
            "name": value,
            "parameters": [],
            "type": "Constant",
        }

    assert to_mapping_source(tree) == {
        "expression": 'Replace([preferredLanguage], "-", , , "_", , )',
        "name": "Replace",
        "parameters": [
            {
                "key": "source",
                "value": {
                    "expression": "[preferredLanguage]",
                    "name": "preferredLanguage",
                    "parameters": [],
                    "type": "Attribute",
                },
            },
            {"key": "Find", "value": constant("-")},
            {"key": "Replacement", "value": constant("_")},
        ],
        "type": "Function",
    }


def test_mapping_source_matches_the_graph_mid_example() -> None:
    source = to_mapping_source(parse("Mid([userPrincipalName], 1, 8)"))

    assert source["expression"] == "Mid([userPrincipalName], 1, 8)"
    assert source["parameters"] == [
        {
            "key": "source",
            "value": {
                "expression": "[userPrincipalName]",
                "name": "userPrincipalName",
                "parameters": [],
                "type": "Attribute",
            },
        },
        {
            "key": "start",
            "value": {
                "expression": '"1"',
                "name": "1",
                "parameters": [],
                "type": "Constant",
            },
        },
        {
            "key": "length",
            "value": {
                "expression": '"8"',
                "name": "8",
                "parameters": [],
                "type": "Constant",
            },
        },
    ]


def test_mapping_source_numbers_repeated_parameters() -> None:
    source = to_mapping_source(parse('Switch([s], , "a", "1", "b", "2")'))

    parameters = source["parameters"]

    assert isinstance(parameters, list)
    keys = [parameter["key"] for parameter in parameters]
    assert keys == ["source", "key1", "value1", "key2", "value2"]


def test_referenced_attributes_lists_every_read() -> None:
    text = 'IIF([a] = "x", Coalesce([b], [extensionAttribute1]), Item([otherMails], 1))'

    assert referenced_attributes(text) == {
        "a",
        "b",
        "extensionAttribute1",
        "otherMails",
    }
    assert referenced_attributes("Now()") == set()
    assert referenced_attributes("Not([IsSoftDeleted])") == {"IsSoftDeleted"}


def test_is_redacted_spots_redact_anywhere() -> None:
    assert is_redacted('Join(",", Redact([mail]))')
    assert not is_redacted("[mail]")


def test_every_required_function_is_supported() -> None:
    required = {
        "Append",
        "AppRoleAssignmentsComplex",
        "BitAnd",
        "CBool",
        "CDate",
        "Coalesce",
        "ConvertToBase64",
        "ConvertToUTF8Hex",
        "Count",
        "CStr",
        "DateAdd",
        "DateDiff",
        "DateFromNum",
        "FormatDateTime",
        "Guid",
        "IgnoreFlowIfNullOrEmpty",
        "IIF",
        "InStr",
        "IsNull",
        "IsNullOrEmpty",
        "IsPresent",
        "IsString",
        "Item",
        "Join",
        "Left",
        "Mid",
        "NormalizeDiacritics",
        "Not",
        "Now",
        "NumFromDate",
        "PCase",
        "RandomString",
        "Redact",
        "RemoveDuplicates",
        "Replace",
        "SelectUniqueValue",
        "SingleAppRoleAssignment",
        "Split",
        "StripSpaces",
        "Switch",
        "ToLower",
        "ToUpper",
        "Word",
    }

    assert required <= set(supported_functions())
