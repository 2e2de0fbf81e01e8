"""API Gateway REST API proxy events (payload v1): recognise them; the resolver parses and replies."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from handler.domain import ObjectRef, Outcome
from handler.errors import TransientError

Resolve = Callable[[Mapping[str, Any], Any], dict[str, Any]]  # Powertools' APIGatewayRestResolver.resolve


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


@dataclass(frozen=True)
class ApiCall:
    """The request as it came; the API resolver routes it and diagnoses what it names itself."""

    event: Mapping[str, Any]
    refs: tuple[ObjectRef, ...] = field(default=())


class RestProxy:
    """Requests answered by the API resolver: nothing to diagnose before it routes them."""

    shape = 'API Gateway REST proxy {"httpMethod": ..., "path": ..., "resource": ..., "requestContext": {...}}'

    def __init__(self, resolve: Resolve) -> None:
        self._resolve = resolve

    def recognises(self, event: Mapping[str, Any]) -> bool:
        return is_rest_proxy_event(event)

    def parse(self, event: Mapping[str, Any]) -> ApiCall:
        return ApiCall(event)

    def reply(self, parsed: ApiCall, results: Sequence[Outcome | TransientError], context: Any) -> dict[str, Any]:
        return self._resolve(parsed.event, context)
