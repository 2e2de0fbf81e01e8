"""S3 "Object Created" events delivered by EventBridge: recognise and parse."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventBridgeNotificationEvent

from handler.domain import RESTORE_COMPLETED, ObjectRef, Outcome
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


RESTORED = "Object Restore Completed"  # an archived object's restored copy is readable: diagnose it
DETAIL_TYPES = ("Object Created", RESTORED)


def is_object_created(event: Mapping[str, Any]) -> bool:
    """True for {"source": "aws.s3", "detail-type": "Object Created" | "Object Restore Completed", "detail": {...}}."""
    return (
        event.get("source") == "aws.s3"
        and event.get("detail-type") in DETAIL_TYPES
        and isinstance(event.get("detail"), Mapping)
    )


def key_spellings(raw: str) -> tuple[str, ...]:
    """Every key the event's key could name, most likely first: form-decoded ('+' a space, as Powertools and
    S3 notifications decode), percent-decoded only ('+' kept), and raw. A spelling whose escapes are not
    UTF-8 is left out; the raw key is always there. The diagnoser keeps the one holding the event's ETag."""
    spellings: list[str] = []
    for decode in (decode_s3_key, _percent_decoded):
        try:
            spellings.append(decode(raw))
        except UnicodeDecodeError:
            continue
    spellings.append(raw)
    return tuple(dict.fromkeys(spellings))


def _percent_decoded(raw: str) -> str:
    return unquote(raw, encoding="utf-8", errors="strict")


def parse_object_created(event: Mapping[str, Any]) -> ObjectRef:
    """The object the event names; every spelling of its key is kept (key_spellings)."""
    detail = S3EventBridgeNotificationEvent(dict(event)).detail
    obj = detail.object
    # The raw key, decoded here: Powertools' .key decodes with errors="replace" and keeps no raw spelling to fall back on.
    raw = obj["key"]
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"detail.object.key must be a non-empty string; got {raw!r}")
    key, *others = key_spellings(raw)
    reason = str(detail.reason or "PutObject")
    if event.get("detail-type") == RESTORED:
        event_name = RESTORE_COMPLETED  # restores carry no reason (and no sequencer)
    else:
        event_name = _EVENT_NAMES.get(reason, f"ObjectCreated:{reason}")
    return ObjectRef(
        bucket=str(detail.bucket.name),
        key=key,
        etag=obj.etag or None,
        # Optional here: Powertools' .version_id and .sequencer raise KeyError when S3 leaves them out.
        version_id=obj.get("version-id") or None,
        sequencer=obj.get("sequencer") or None,
        event_name=event_name,
        other_keys=tuple(others),
    )


class ObjectCreatedEvents:
    """One object per event; a retryable failure raises so EventBridge's async invoke retries it."""

    shape = ('EventBridge S3 event {"source": "aws.s3", "detail-type": "Object Created" | "Object Restore Completed", '
             '"detail": {...}}')

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
