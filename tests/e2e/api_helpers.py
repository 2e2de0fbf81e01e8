"""API Gateway events from events/, varied per test, and their responses decoded."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from local.context import LocalContext
from tests.conftest import EVENTS


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


def call(app: Any, event: dict[str, Any]) -> tuple[int, Any]:
    """Invoke the Lambda entry point; (status, decoded JSON body or text)."""
    response = app.lambda_handler(event, LocalContext())
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    try:
        return response["statusCode"], json.loads(body)
    except json.JSONDecodeError:
        return response["statusCode"], body
