"""S3 event notifications (direct or unwrapped from SQS/SNS): recognise, parse, decode keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord

from handler.domain import ObjectRef, Outcome
from handler.errors import TransientError
from handler.observability import logger, metrics


@dataclass(frozen=True)
class BadRecord:
    """A record we could not parse; reported, never retried."""

    index: int
    reason: str


def decode_s3_key(raw: str) -> str:
    """S3 event keys arrive form-encoded: '+' is a space, '%2B' a plus, UTF-8 percent-escapes."""
    return unquote_plus(raw, encoding="utf-8", errors="strict")


def is_notification(event: Mapping[str, Any]) -> bool:
    """True for {"Records": [...]} where every record comes from aws:s3."""
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, Mapping) and r.get("eventSource") == "aws:s3" for r in records)
    )


def is_test_event(event: Mapping[str, Any]) -> bool:
    """S3 sends {"Event": "s3:TestEvent"} once when a notification configuration is saved."""
    return event.get("Event") == "s3:TestEvent" and event.get("Service") == "Amazon S3"


def parse_notification(event: Mapping[str, Any]) -> list[ObjectRef | BadRecord]:
    """Every ObjectCreated record becomes an ObjectRef; malformed ones become BadRecord."""
    parsed: list[ObjectRef | BadRecord] = []
    for index, record in enumerate(event["Records"]):
        try:
            parsed.append(_parse_record(record))
        except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
            parsed.append(BadRecord(index=index, reason=f"malformed S3 record: {exc!r}"))
    return parsed


def _parse_record(raw: Mapping[str, Any]) -> ObjectRef:
    record = S3EventRecord(dict(raw))
    obj = record.s3.get_object
    return ObjectRef(
        bucket=str(record.s3.bucket.name),
        # Our own decoding: strict UTF-8 (a bad escape is a malformed record, not U+FFFD), see decode_s3_key.
        key=decode_s3_key(str(obj.key)),
        etag=obj.etag or obj.get("etag") or None,  # Powertools reads "eTag" only; hand-made events say "etag"
        version_id=obj.version_id or None,
        sequencer=obj.get("sequencer") or None,  # optional here; Powertools' .sequencer raises without one
        event_name=str(record.event_name),
    )


def report_bad_record(item: BadRecord) -> dict[str, Any]:
    """Log and count a record we could not read; its line in the reply."""
    logger.error("malformed S3 record", extra={"record_index": item.index, "reason": item.reason})
    metrics.add_metric(name="ImagesRejected", unit=MetricUnit.Count, value=1)
    return {"record_index": item.index, "status": "rejected", "reason": item.reason}


@dataclass(frozen=True)
class Notification:
    items: tuple[ObjectRef | BadRecord, ...]

    @property
    def refs(self) -> tuple[ObjectRef, ...]:
        return tuple(item for item in self.items if isinstance(item, ObjectRef))


class Notifications:
    """Every record is diagnosed; one bad record never stops the others."""

    shape = 'S3 notification {"Records": [{"eventSource": "aws:s3", ...}]}'

    def recognises(self, event: Mapping[str, Any]) -> bool:
        return is_notification(event)

    def parse(self, event: Mapping[str, Any]) -> Notification:
        return Notification(tuple(parse_notification(event)))

    def reply(self, parsed: Notification, results: Sequence[Outcome | TransientError], context: Any) -> dict[str, Any]:
        outcomes: list[dict[str, Any]] = []
        transient: list[str] = []
        each = iter(results)
        for item in parsed.items:
            if isinstance(item, BadRecord):
                outcomes.append(report_bad_record(item))
                continue
            result = next(each)
            if isinstance(result, TransientError):
                transient.append(str(result))
            else:
                outcomes.append(result.summary())
        if transient:
            # Lambda retries the whole event; finished records are cheap to redo and write the same result.
            raise TransientError(f"{len(transient)} record(s) need a retry: " + "; ".join(transient))
        return {"status": "done", "results": outcomes}


@dataclass(frozen=True)
class S3TestEvent:
    bucket: str | None
    refs: tuple[ObjectRef, ...] = ()


class S3TestEvents:
    """Acknowledged: S3 sends one when a notification configuration is saved, and it names no object."""

    shape = 'S3 test event {"Service": "Amazon S3", "Event": "s3:TestEvent"}'

    def recognises(self, event: Mapping[str, Any]) -> bool:
        return is_test_event(event)

    def parse(self, event: Mapping[str, Any]) -> S3TestEvent:
        bucket = event.get("Bucket")
        return S3TestEvent(bucket if isinstance(bucket, str) else None)

    def reply(self, parsed: S3TestEvent, results: Sequence[Outcome | TransientError], context: Any) -> dict[str, Any]:
        logger.info("S3 test event acknowledged", extra={"bucket": parsed.bucket})
        return {"status": "acknowledged", "event": "s3:TestEvent"}


NOTIFICATIONS, TEST_EVENTS = Notifications(), S3TestEvents()
