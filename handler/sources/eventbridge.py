"""S3 "Object Created" events delivered by EventBridge: recognise and parse."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventBridgeNotificationEvent

from handler.domain import ObjectRef, Outcome
from handler.errors import TransientError
from handler.sources.s3 import decode_s3_key

# detail.reason -> the S3 notification event name the rest of the handler speaks.
_EVENT_NAMES = {
    "PutObject": "ObjectCreated:Put",
    "POST Object": "ObjectCreated:Post",
    "PostObject": "ObjectCreated:Post",
    "CopyObject": "ObjectCreated:Copy",
    "CompleteMultipartUpload": "ObjectCreated:CompleteMultipartUpload",
}


def is_object_created(event: Mapping[str, Any]) -> bool:
    """True for {"source": "aws.s3", "detail-type": "Object Created", "detail": {...}}."""
    return (
        event.get("source") == "aws.s3"
        and event.get("detail-type") == "Object Created"
        and isinstance(event.get("detail"), Mapping)
    )


def parse_object_created(event: Mapping[str, Any]) -> ObjectRef:
    """The object the event names.

    The key is URL-decoded as Powertools (S3EventBridgeNotificationObject.key, unquote_plus) and S3
    notifications do: `leaf+spot.jpg` is `leaf spot.jpg`. Should the decoded key not exist, the raw
    one is tried once (fallback_key), for a key that really holds a '+' or a '%'.
    """
    detail = S3EventBridgeNotificationEvent(dict(event)).detail
    obj = detail.object
    # The raw key, decoded here: Powertools' .key decodes with errors="replace" and keeps no raw spelling to fall back on.
    raw = obj["key"]
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"detail.object.key must be a non-empty string; got {raw!r}")
    key = decode_s3_key(raw)
    reason = str(detail.reason or "PutObject")
    return ObjectRef(
        bucket=str(detail.bucket.name),
        key=key,
        etag=obj.etag or None,
        # Optional here: Powertools' .version_id and .sequencer raise KeyError when S3 leaves them out.
        version_id=obj.get("version-id") or None,
        sequencer=obj.get("sequencer") or None,
        event_name=_EVENT_NAMES.get(reason, f"ObjectCreated:{reason}"),
        fallback_key=raw if raw != key else None,
    )


class ObjectCreatedEvents:
    """One object per event; a retryable failure raises so EventBridge's async invoke retries it."""

    shape = 'EventBridge S3 event {"source": "aws.s3", "detail-type": "Object Created", "detail": {...}}'

    def recognises(self, event: Mapping[str, Any]) -> bool:
        return is_object_created(event)

    def parse(self, event: Mapping[str, Any]) -> Created:
        return Created((parse_object_created(event),))

    def reply(self, parsed: Created, results: Sequence[Outcome | TransientError], context: Any) -> dict[str, Any]:
        (result,) = results
        if isinstance(result, TransientError):
            raise result
        return {"status": "done", "results": [result.summary()]}


@dataclass(frozen=True)
class Created:
    refs: tuple[ObjectRef]


OBJECT_CREATED = ObjectCreatedEvents()
