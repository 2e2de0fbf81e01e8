"""The one shape every event source has, and the sources the handler walks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from handler.domain import ObjectRef, Outcome
from handler.errors import TransientError, UnknownEvent
from handler.sources import api, batch_ops, eventbridge, s3, sqs

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class Parsed(Protocol):
    """What a source read from one event: the objects to diagnose, and whatever its reply needs."""

    @property
    def refs(self) -> Sequence[ObjectRef]: ...


P = TypeVar("P", bound=Parsed)


class EventSource(Protocol[P]):
    """Recognise a raw event by its structure, parse it to object references, build the source's reply."""

    shape: str  # one line: what the raw event looks like, for the unknown-event error

    def recognises(self, event: Mapping[str, Any]) -> bool: ...

    def parse(self, event: Mapping[str, Any]) -> P: ...

    def reply(self, parsed: P, results: Sequence[Outcome | TransientError], context: LambdaContext) -> dict[str, Any]:
        """The answer this source's caller expects; it may raise TransientError to have the event retried."""
        ...


# Every source of S3 objects; no two recognise the same event (tests/handler/test_event_shapes.py), so order is
# free. API requests are no source: the handler hands them to the resolver before any source is asked.
EVENT_SOURCES: tuple[EventSource[Any], ...] = (s3.NOTIFICATIONS, s3.TEST_EVENTS, sqs.BATCHES, eventbridge.OBJECT_CREATED,
                                               batch_ops.JOB_INVOCATIONS)


def recognise(event: Mapping[str, Any], sources: Sequence[EventSource[Any]] = EVENT_SOURCES) -> EventSource[Any]:
    """The source of this event; UnknownEvent naming every accepted shape (the API's too) when none recognises it."""
    for source in sources:
        if source.recognises(event):
            return source
    shapes = [api.SHAPE, *(source.shape for source in sources)]
    raise UnknownEvent("unrecognised event; accepted shapes: " + "; ".join(shapes))
