"""HTTP requests from the three front doors: recognised here, routed and answered by the resolver.

REST API proxy events (payload 1.0), HTTP API events and Lambda Function URL events (both payload 2.0).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

SHAPE = ('API Gateway REST proxy {"httpMethod": ..., "path": ..., "resource": ..., "requestContext": {...}}; '
         'HTTP API or Function URL payload 2.0 {"version": "2.0", "routeKey": ..., "rawPath": ..., '
         '"requestContext": {"http": {...}}}')


class FrontDoor(StrEnum):
    """Which door a request came through; each has its own Powertools resolver."""

    REST_API = "rest-api"
    HTTP_API = "http-api"
    FUNCTION_URL = "function-url"


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


def is_payload_v2_event(event: Mapping[str, Any]) -> bool:
    """True for {"version": "2.0", "routeKey", "rawPath", "requestContext": {"http": {...}}}: HTTP API or Function URL."""
    context = event.get("requestContext")
    return (
        event.get("version") == "2.0"
        and isinstance(event.get("routeKey"), str)
        and isinstance(event.get("rawPath"), str)
        and isinstance(context, Mapping)
        and isinstance(context.get("http"), Mapping)
        and "Records" not in event
        and "Event" not in event
    )


def front_door(event: Mapping[str, Any]) -> FrontDoor | None:
    """The door of an HTTP request; None for any other event."""
    if is_rest_proxy_event(event):
        return FrontDoor.REST_API
    if not is_payload_v2_event(event):
        return None
    # Both send payload 2.0; only a Function URL's host is <url-id>.lambda-url.<region>.on.aws.
    domain = str(event["requestContext"].get("domainName") or "")
    return FrontDoor.FUNCTION_URL if ".lambda-url." in domain else FrontDoor.HTTP_API
