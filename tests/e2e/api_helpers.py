"""API Gateway events from events/, varied per test, sent through any front door, and their responses decoded.

Tests write REST API events (events/api-*.json, varied with the helpers below); `call` sends each through
the front door the test runs on. The `door` fixture (tests/e2e/conftest.py) runs a test once per door, so
a test of a route is a test of it on the REST API, the HTTP API and a Function URL alike.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from contextvars import ContextVar
from typing import Any
from urllib.parse import unquote, urlencode

from local.context import LocalContext
from tests.conftest import EVENTS

DOORS = ("rest-api", "http-api", "function-url")
DOOR: ContextVar[str] = ContextVar("door", default="rest-api")
HTTP_API_DOMAIN = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
FUNCTION_URL_DOMAIN = "abcdefghijklmnopqrstuvwxyz0123456.lambda-url.us-east-1.on.aws"


def api_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def with_body(event: dict[str, Any], body: bytes | str, content_type: str | None, *, base64_encoded: bool | None = None) -> dict[str, Any]:
    """The same request with another body, encoded the way API Gateway would send it."""
    varied = copy.deepcopy(event)
    binary = isinstance(body, bytes) if base64_encoded is None else base64_encoded
    if isinstance(body, bytes) and binary:
        varied["body"] = base64.b64encode(body).decode("ascii")
    else:
        varied["body"] = body.decode("utf-8") if isinstance(body, bytes) else body
    varied["isBase64Encoded"] = binary
    for headers in (varied["headers"], varied["multiValueHeaders"]):
        headers.pop("Content-Type", None)
        if content_type is not None:
            headers["Content-Type"] = content_type if headers is varied["headers"] else [content_type]
    return varied


def with_json(event: dict[str, Any], payload: Any) -> dict[str, Any]:
    return with_body(event, json.dumps(payload), "application/json", base64_encoded=False)


def with_path(event: dict[str, Any], path: str) -> dict[str, Any]:
    varied = copy.deepcopy(event)
    varied["path"] = path
    varied["requestContext"]["path"] = "/v1" + path
    return varied


def through(event: dict[str, Any], door: str) -> dict[str, Any]:
    """The payload-2.0 event the same request makes through an HTTP API ($default stage, the route's
    {key+} in pathParameters, the path decoded as HTTP APIs hand it over) or a Function URL (route
    $default, no pathParameters, the path as sent); a REST event as it is."""
    if door == "rest-api":
        return event
    method, path = event["httpMethod"], event["path"]
    headers = {name.lower(): ",".join(values) for name, values in (event.get("multiValueHeaders") or {}).items()}
    headers.update({name.lower(): value for name, value in (event.get("headers") or {}).items()})
    query = event.get("multiValueQueryStringParameters") or {}
    http_api = door == "http-api"
    domain = HTTP_API_DOMAIN if http_api else FUNCTION_URL_DOMAIN
    raw_path = unquote(path) if http_api else path
    route_key = f"{method} {event['resource']}" if http_api else "$default"
    headers["host"] = domain
    v2: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": urlencode([(k, v) for k, values in query.items() for v in values]),
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": domain.split(".")[0], "domainName": domain,
            "domainPrefix": domain.split(".")[0], "requestId": "id", "routeKey": route_key, "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000", "timeEpoch": 1583348638390,
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "192.168.0.1",
                     "userAgent": headers.get("user-agent", "")},
        },
        "isBase64Encoded": bool(event.get("isBase64Encoded")),
    }
    if query:
        v2["queryStringParameters"] = {k: ",".join(values) for k, values in query.items()}
    if event.get("body") is not None:
        v2["body"] = event["body"]
    parameters = _path_parameters(event["resource"], path) if http_api else {}
    if parameters:
        v2["pathParameters"] = parameters
    return v2


def _path_parameters(resource: str, path: str) -> dict[str, str]:
    """What an HTTP API route like /diagnoses/{key+} puts in pathParameters for this path (decoded)."""
    regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(resource))
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
    found = re.fullmatch(regex, path)
    return {name: unquote(value) for name, value in found.groupdict().items()} if found else {}


def call(app: Any, event: dict[str, Any]) -> tuple[int, Any]:
    """Invoke the Lambda entry point through the test's door; (status, decoded JSON body or text)."""
    status, _, body = respond(app, event)
    return status, body


def respond(app: Any, event: dict[str, Any], door: str | None = None) -> tuple[int, dict[str, str], Any]:
    """(status, headers, decoded JSON body or text) of one request through `door` (default: the test's)."""
    response = app.lambda_handler(through(event, door or DOOR.get()), LocalContext())
    headers = {name.lower(): ",".join(map(str, values)) for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers.update({name.lower(): str(value) for name, value in (response.get("headers") or {}).items()})
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    try:
        return response["statusCode"], headers, json.loads(body)
    except json.JSONDecodeError:
        return response["statusCode"], headers, body
