"""Graph request routing: path patterns, permission checks, replies and paging.

A handler receives a `Call` (the caller's app and roles, path parameters, query,
headers and JSON body) and returns a `Reply` or raises `GraphError`. Each route
declares the application permissions that allow it (`Need`); a caller without any
of them gets `403 Authorization_RequestDenied` (microsoft.md §2.5, §7 [C]).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ssopoc.sandbox.entra.errors import GraphError, bad_request, denied

GRAPH = "https://graph.microsoft.com"


@dataclass(frozen=True)
class Caller:
    """The app a token was issued to, and its granted application permissions."""

    app_id: str
    service_principal_id: str
    roles: frozenset[str]


@dataclass
class Call:
    """One Graph request as a handler sees it."""

    method: str
    path: str
    version: str
    caller: Caller
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower())

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or `400` saying it must be one."""
        if not isinstance(self.body, dict):
            raise bad_request("The request body must be a JSON object.")
        return self.body

    def context(self, fragment: str) -> str:
        """An `@odata.context` URL for this API version."""
        return f"{GRAPH}/{self.version}/$metadata#{fragment}"


@dataclass
class Reply:
    """A handler's answer: status, JSON body (or none) and extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Need:
    """The application permissions that allow a route.

    `any_of`: one of these suffices; `all_of`: every one is required as well;
    `owned`: `Application.ReadWrite.OwnedBy` also allows it when the caller owns
    the object the route names (microsoft.md §3.1 [C]).
    """

    any_of: frozenset[str] = frozenset()
    all_of: frozenset[str] = frozenset()
    owned: bool = False


def need(*any_of: str, all_of: Sequence[str] = (), owned: bool = False) -> Need:
    """Build a `Need` from permission names."""
    return Need(frozenset(any_of), frozenset(all_of), owned)


Handler = Callable[[Call], Reply]
OwnsCheck = Callable[[Call], bool]


@dataclass(frozen=True)
class Route:
    """One method and path pattern with its handler and permission."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    need: Need


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", template)
    regex = "".join(
        f"(?P<{p[1:-1]}>[^/()']+)" if p.startswith("{") else re.escape(p) for p in parts
    )
    return re.compile(f"^{regex}$", re.IGNORECASE)


class Router:
    """Routes by method and path; checks permissions before calling a handler."""

    def __init__(self, owns: OwnsCheck) -> None:
        self.routes: list[Route] = []
        self.owns = owns

    def add(self, method: str, template: str, handler: Handler, rule: Need) -> None:
        """Register a route; templates use `{name}` for one path segment."""
        self.routes.append(Route(method, _compile(template), handler, rule))

    def dispatch(self, call: Call) -> Reply:
        """Answer a call, or raise `GraphError`."""
        allowed: list[str] = []
        for route in self.routes:
            match = route.pattern.match(call.path)
            if match is None:
                continue
            if route.method != call.method:
                allowed.append(route.method)
                continue
            call.params = {k: v for k, v in match.groupdict().items() if v}
            self._authorize(call, route.need)
            return route.handler(call)
        if allowed:
            raise GraphError(
                405, "Request_BadRequest", f"The method {call.method} is not allowed."
            )
        segment = call.path.strip("/").split("/")[0]
        raise GraphError(
            400, "BadRequest", f"Resource not found for the segment '{segment}'."
        )

    def _authorize(self, call: Call, rule: Need) -> None:
        roles = call.caller.roles
        if rule.all_of and not rule.all_of <= roles:
            raise denied()
        if not rule.any_of or roles & rule.any_of:
            return
        if rule.owned and "Application.ReadWrite.OwnedBy" in roles and self.owns(call):
            return
        raise denied()


# -- OData helpers ----------------------------------------------------------------


def selected(call: Call, allowed: Sequence[str], type_name: str) -> list[str] | None:
    """The `$select` list, or None when absent; unknown names are a `400`."""
    raw = call.query.get("$select")
    if not raw:
        return None
    names = [name.strip() for name in raw.split(",") if name.strip()]
    lowered = {a.lower(): a for a in allowed}
    out = []
    for name in names:
        real = lowered.get(name.lower())
        if real is None and not name.startswith("extension_"):
            raise bad_request(
                f"Could not find a property named '{name}' on type "
                f"'microsoft.graph.{type_name}'."
            )
        out.append(real or name)
    return out


def page_size(call: Call, default: int, maximum: int) -> int:
    """`$top` checked against the collection's limits."""
    raw = call.query.get("$top")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise bad_request(
            f"Invalid page size specified: '{raw}'. Must be between 1 and {maximum}."
        )
    return int(raw)


def skip_of(call: Call) -> int:
    """Where the page starts, from an opaque `$skiptoken`."""
    token = call.query.get("$skiptoken")
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        return int(json.loads(base64.urlsafe_b64decode(padded))["skip"])
    except (ValueError, KeyError, TypeError) as error:
        raise bad_request("Invalid $skiptoken.") from error


def paged(
    call: Call,
    base: str,
    items: list[dict[str, Any]],
    size: int,
    context: str,
    count: bool = False,
) -> Reply:
    """One page of `items` with `@odata.nextLink` when more remain."""
    start = skip_of(call)
    page = items[start : start + size]
    body: dict[str, Any] = {"@odata.context": call.context(context)}
    if count:
        body["@odata.count"] = len(items)
    body["value"] = page
    if start + size < len(items):
        token = (
            base64.urlsafe_b64encode(json.dumps({"skip": start + size}).encode())
            .decode()
            .rstrip("=")
        )
        query = {k: v for k, v in call.query.items() if k != "$skiptoken"}
        query["$skiptoken"] = token
        encoded = "&".join(f"{k}={_quote(v)}" for k, v in query.items())
        body["@odata.nextLink"] = f"{base}/{call.version}{call.path}?{encoded}"
    return Reply(200, body)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="$'(),:=/")


def project(item: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Keep `id` and the selected properties of an object."""
    out = {"id": item.get("id")} if "id" in item else {}
    for name in names:
        out[name] = item.get(name)
    return out
