"""API Gateway REST API proxy events (payload v1): recognise them; the resolver parses and replies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def is_rest_proxy_event(event: Mapping[str, Any]) -> bool:
    """True for {"httpMethod", "path", "resource", "requestContext": {...}} without S3's Records or Event."""
    context = event.get("requestContext")
    return (
        isinstance(event.get("httpMethod"), str)
        and isinstance(event.get("path"), str)
        and isinstance(event.get("resource"), str)
        and isinstance(context, Mapping)
        and "Records" not in event
        and "Event" not in event
    )
