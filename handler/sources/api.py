"""API Gateway REST API proxy events (payload v1): recognised here, routed and answered by the resolver."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SHAPE = 'API Gateway REST proxy {"httpMethod": ..., "path": ..., "resource": ..., "requestContext": {...}}'


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
