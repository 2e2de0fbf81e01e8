"""The OpenAPI document and the docs page; Swagger UI's assets come from Powertools, inlined: no CDN."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.openapi import swagger_ui
from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

from handler.api.paths import STORED_ROUTE
from handler.api.uploads import FIELD, IMAGE_TYPES

TITLE = "Leaf diagnosis"
VERSION = "1"
DESCRIPTION = (
    "Diagnose plant-leaf photos: upload one, or name one already in the images bucket. "
    "Errors are JSON `{statusCode, message}`."
)
# Powertools ships Swagger UI's bundle and stylesheet inside the wheel; they are read once, when first asked for.
_ASSETS = Path(swagger_ui.__file__).parent
_BINARY = {"type": "string", "format": "binary"}
_MULTIPART = {
    "multipart/form-data": {
        "schema": {"type": "object", "properties": {FIELD: _BINARY}, "required": [FIELD]},
    }
}
_OBJECT = {
    "application/json": {
        "schema": {
            "oneOf": [
                {"type": "object", "required": ["key"], "properties": {"key": {"type": "string", "example": "garden-images/tomato-leaf.jpg"}}},
                {"type": "object", "required": ["url"], "properties": {"url": {"type": "string", "example": "s3://bucket/garden-images/tomato-leaf.jpg"}}},
            ]
        }
    }
}


def openapi_document(app: ApiGatewayResolver, base_path: str) -> dict[str, Any]:
    """Powertools' generated document, plus the request bodies the routes parse themselves."""
    schema = app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION, servers=[_server(base_path)])
    doc: dict[str, Any] = json.loads(schema)
    paths = doc.setdefault("paths", {})
    for operations in paths.values():
        for operation in operations.values():
            # Validation failures answer 400 here (routes.py), never Powertools' default 422.
            operation.get("responses", {}).pop("422", None)
    if "/Diagnosis/prediction" in paths:
        paths["/Diagnosis/prediction"]["post"]["requestBody"] = {"required": True, "content": _MULTIPART}
    if "/diagnoses" in paths:
        raw = {kind: {"schema": _BINARY} for kind in IMAGE_TYPES}
        paths["/diagnoses"]["post"]["requestBody"] = {"required": True, "content": {**raw, **_MULTIPART, **_OBJECT}}
    if STORED_ROUTE in paths:
        operation = paths.pop(STORED_ROUTE)
        operation["get"]["parameters"] = [
            {"name": "key", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "the object key, e.g. garden-images/tomato-leaf.jpg (slashes allowed)"}
        ]
        paths["/diagnoses/{key}"] = operation
    return doc


def docs_html(document: dict[str, Any]) -> str:
    """Swagger UI with its JavaScript and CSS inlined, so the page works with no internet."""
    spec = json.dumps(document).replace("</", "<\\/")  # the spec sits inside a <script> element
    return generate_swagger_html(spec, _asset("swagger-ui-bundle.min.js"), _asset("swagger-ui.min.css"), "", None)


def _server(base_path: str) -> Any:
    from aws_lambda_powertools.event_handler.openapi.models import Server

    return Server(url=base_path or "/")


_cache: dict[str, str] = {}


def _asset(name: str) -> str:
    if name not in _cache:
        _cache[name] = (_ASSETS / name).read_text(encoding="utf-8")
    return _cache[name]
