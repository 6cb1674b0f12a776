"""JSON batching: `POST /$batch` with at most 20 requests (microsoft.md §2.6 [C]).

Ids must be unique; URLs are relative; a request with a body must carry headers
(`Content-Type`). The outer answer is `200` even when inner requests fail; a
request whose `dependsOn` failed gets `424`. Each inner request is checked
against the caller's permissions like any other.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ssopoc.sandbox.entra.errors import GraphError, bad_request
from ssopoc.sandbox.entra.routing import Call, Reply, Router

LIMIT = 20


def _check(requests: Any) -> list[dict[str, Any]]:
    if not isinstance(requests, list) or not requests:
        raise bad_request("The batch body must carry a non-empty 'requests' array.")
    if len(requests) > LIMIT:
        raise bad_request(
            f"Number of batch request steps exceeds the maximum of {LIMIT}."
        )
    seen: set[str] = set()
    for item in requests:
        if not isinstance(item, dict) or not item.get("id") or not item.get("url"):
            raise bad_request("Every batch request needs an id, a method and a url.")
        if str(item["id"]) in seen:
            raise bad_request(f"Batch request id '{item['id']}' is not unique.")
        seen.add(str(item["id"]))
        if item.get("body") is not None and not item.get("headers"):
            raise bad_request(
                f"Write request id : {item['id']} does not contain Content-Type header "
                "or body."
            )
    return requests


def run_batch(router: Router, outer: Call) -> Reply:
    """Answer a `$batch` call: each inner request dispatched in order."""
    requests = _check(outer.json_object().get("requests"))
    statuses: dict[str, int] = {}
    responses: list[dict[str, Any]] = []
    for item in requests:
        request_id = str(item["id"])
        failed = [
            d for d in item.get("dependsOn") or [] if statuses.get(str(d), 200) >= 400
        ]
        if failed:
            status, body = 424, _envelope("FailedDependency", f"Failed: {failed[0]}")
            headers: dict[str, str] = {}
        else:
            status, body, headers = _one(router, outer, item)
        statuses[request_id] = status
        answer: dict[str, Any] = {
            "id": request_id,
            "status": status,
            "headers": headers,
        }
        if body is not None:
            answer["body"] = body
            answer["headers"] = {"Content-Type": "application/json", **headers}
        responses.append(answer)
    return Reply(200, {"responses": responses})


def _one(
    router: Router, outer: Call, item: dict[str, Any]
) -> tuple[int, Any, dict[str, str]]:
    url = urlsplit(str(item["url"]))
    path = url.path if url.path.startswith("/") else f"/{url.path}"
    for prefix in ("/v1.0", "/beta"):
        if path.startswith(prefix + "/"):
            path = path[len(prefix) :]
    call = Call(
        method=str(item.get("method", "GET")).upper(),
        path=path,
        version=outer.version,
        caller=outer.caller,
        query=dict(parse_qsl(url.query)),
        headers={k.lower(): str(v) for k, v in (item.get("headers") or {}).items()},
        body=item.get("body"),
    )
    try:
        reply = router.dispatch(call)
    except GraphError as error:
        return error.status, _envelope(error.code, error.message), dict(error.headers)
    return reply.status, reply.body, dict(reply.headers)


def _envelope(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
