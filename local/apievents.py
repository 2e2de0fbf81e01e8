"""Build API Gateway REST API proxy events (payload v1) from HTTP requests, as API Gateway does."""

from __future__ import annotations

import base64
import fnmatch
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.template import load_template

STAGE = "v1"
ACCOUNT = "123456789012"
API_ID = "1234567890"
# API Gateway refuses larger payloads; Lambda refuses synchronous invocations over 6 MB (6291456 bytes).
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024
LAMBDA_MAX_PAYLOAD = 6 * 1024 * 1024


@dataclass(frozen=True)
class Route:
    method: str
    resource: str  # e.g. /diagnoses/{key+}
    pattern: re.Pattern[str]


def template_api() -> tuple[list[Route], tuple[str, ...]]:
    """The routes and binary media types of template.yaml's API, so the local server cannot drift."""
    for resource in load_template()["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Api":
            props = resource["Properties"]
            routes = [
                Route(method.upper(), path, _pattern(path))
                for path, operations in props["DefinitionBody"]["paths"].items()
                for method in operations
            ]
            # CloudFormation writes "/" as "~1" in binary media types.
            return routes, tuple(t.replace("~1", "/") for t in props.get("BinaryMediaTypes", []))
    raise ValueError("template.yaml defines no AWS::Serverless::Api")


def _pattern(resource: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", resource)
    regex = ""
    for part in parts:
        if part.startswith("{") and part.endswith("+}"):
            regex += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            regex += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            regex += re.escape(part)
    return re.compile(f"^{regex}$")


def match_route(routes: Iterable[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        found = route.pattern.match(path)
        if found and route.method == method.upper():
            return route, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


def is_binary(content_type: str | None, binary_types: Iterable[str]) -> bool:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return bool(kind) and any(fnmatch.fnmatch(kind, pattern) for pattern in binary_types)


def proxy_event(
    method: str,
    raw_path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    route: Route,
    path_parameters: dict[str, str],
    binary_types: Iterable[str],
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The event API Gateway sends for one request: path kept percent-encoded, query decoded."""
    split = urlsplit(raw_path)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(split.query, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    binary = is_binary(content_type, binary_types)
    if binary:
        payload: str | None = base64.b64encode(body).decode("ascii")
    else:
        payload = body.decode("utf-8", errors="replace")
    now = time.time()
    return {
        "body": payload if body else None,
        "resource": route.resource,
        "path": split.path,
        "httpMethod": method.upper(),
        "isBase64Encoded": binary and bool(body),
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "headers": {k: v[-1] for k, v in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "resourceId": "123456",
            # Like `sam local start-api`: a stage name, but the path carries no stage prefix.
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": next((v for k, v in headers if k.lower() == "user-agent"), None)},
            "path": split.path,
            "resourcePath": route.resource,
            "httpMethod": method.upper(),
            "apiId": API_ID,
            "protocol": "HTTP/1.1",
        },
    }


def request_method(event: dict[str, Any]) -> str | None:
    """The HTTP method of a REST (payload 1.0) or HTTP API / Function URL (payload 2.0) event."""
    return event.get("httpMethod") or ((event.get("requestContext") or {}).get("http") or {}).get("method")


def object_named(event: dict[str, Any]) -> str | None:
    """The S3 key an API event names (JSON key/url, or the GET path), for seeding local objects."""
    import json

    from handler.api.paths import STORED_PREFIX
    from handler.api.s3_urls import NotAnS3Url, parse_s3_url

    if request_method(event) == "GET":
        key = (event.get("pathParameters") or {}).get("key")
        path = event.get("rawPath") or ""  # a Function URL names no route: the key is in its (encoded) path
        if not key and path.startswith(STORED_PREFIX):
            key = unquote(path[len(STORED_PREFIX):])
        return key or None
    try:
        body = json.loads(event.get("body") or "") if not event.get("isBase64Encoded") else {}
    except json.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("key"), str):
        return body["key"]
    try:
        return parse_s3_url(body["url"]).key if isinstance(body.get("url"), str) else None
    except NotAnS3Url:
        return None
