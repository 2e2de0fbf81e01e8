"""SQS messages carrying S3 events (buffered mode): recognise, parse each body, report partial failures."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from handler.domain import ObjectRef, Outcome
from handler.errors import TransientError
from handler.observability import logger
from handler.sources import eventbridge, s3
from handler.sources.s3 import BadRecord, report_bad_record


@dataclass(frozen=True)
class Message:
    """One SQS message and the objects its body names."""

    message_id: str
    refs: tuple[ObjectRef, ...] = ()
    bad_records: tuple[BadRecord, ...] = ()  # malformed records inside a readable body: rejected, not retried
    error: str | None = None  # the body is no S3 event at all: the message fails, and ends in the DLQ


def is_batch(event: Mapping[str, Any]) -> bool:
    """True for {"Records": [...]} where every record comes from aws:sqs."""
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" for r in records)
    )


def parse_batch(event: Mapping[str, Any]) -> list[Message]:
    """Every message, in order; a body we cannot read becomes a Message with an error."""
    return [_parse_message(index, record) for index, record in enumerate(event["Records"])]


def _parse_message(index: int, record: Mapping[str, Any]) -> Message:
    message_id = str(record.get("messageId") or f"#{index}")
    try:
        body = json.loads(record["body"])
    except (KeyError, TypeError, ValueError) as exc:
        return Message(message_id, error=f"message body is not JSON: {exc!r}")
    if not isinstance(body, Mapping):
        return Message(message_id, error="message body is not a JSON object")
    if body.get("Type") == "Notification" and isinstance(body.get("Message"), str):
        # S3 -> SNS -> SQS without raw message delivery: the S3 event is a string inside the SNS envelope.
        return _parse_message(index, {"messageId": message_id, "body": body["Message"]})
    if s3.is_test_event(body):
        return Message(message_id)  # nothing to diagnose, nothing to retry
    if s3.is_notification(body):
        parsed = s3.parse_notification(body)
        return Message(
            message_id,
            refs=tuple(p for p in parsed if isinstance(p, ObjectRef)),
            bad_records=tuple(p for p in parsed if isinstance(p, BadRecord)),
        )
    if eventbridge.is_object_created(body):  # an EventBridge rule whose target is the queue
        try:
            return Message(message_id, refs=(eventbridge.parse_object_created(body),))
        except (KeyError, TypeError, ValueError) as exc:
            return Message(message_id, error=f"malformed EventBridge event: {exc!r}")
    return Message(message_id, error="message body is neither an S3 notification nor an S3 test event")


@dataclass(frozen=True)
class Batch:
    event: Mapping[str, Any]  # as it came: the reply lists failed records in its order
    messages: tuple[Message, ...]

    @property
    def refs(self) -> tuple[ObjectRef, ...]:
        return tuple(ref for message in self.messages for ref in message.refs)


class Batches:
    """Every message's objects are diagnosed; only the messages that need a retry are reported as failed."""

    shape = 'SQS batch of S3 events {"Records": [{"eventSource": "aws:sqs", "body": "<S3 event JSON>", ...}]}'

    def recognises(self, event: Mapping[str, Any]) -> bool:
        return is_batch(event)

    def parse(self, event: Mapping[str, Any]) -> Batch:
        # One Message per id: a message delivered twice in a batch is diagnosed once.
        messages = {message.message_id: message for message in parse_batch(event)}
        return Batch(event, _without_repeats(tuple(messages.values())))

    def reply(self, parsed: Batch, results: Sequence[Outcome | TransientError], context: Any) -> dict[str, Any]:
        """The partial-batch response Lambda reads, written directly: every failure is known by now.

        A batch where every message failed gets the same per-message report, not an exception.
        """
        each = iter(results)
        results_of = {m.message_id: (m, [next(each) for _ in m.refs]) for m in parsed.messages}
        failures = []
        for index, record in enumerate(parsed.event["Records"]):
            message_id = str(record.get("messageId") or f"#{index}")
            message, message_results = results_of[message_id]
            if _failed(message, message_results):
                failures.append({"itemIdentifier": message_id})
        return {"batchItemFailures": failures}


def _without_repeats(messages: tuple[Message, ...]) -> tuple[Message, ...]:
    """Each object reference once per batch: S3 may deliver one event twice (two messages, one body).

    Diagnosed twice at once, the second copy would meet the first's claim (InProgress) and wait out a
    visibility timeout only to be skipped. The copy keeps no refs: it succeeds, and the first copy,
    retried if it fails, covers it.
    """
    seen: set[ObjectRef] = set()
    kept = []
    for message in messages:
        refs = tuple(ref for ref in message.refs if ref not in seen)
        seen.update(refs)
        kept.append(replace(message, refs=refs))
    return tuple(kept)


def _failed(message: Message, results: list[Outcome | TransientError]) -> bool:
    """Log what fails one message; True when it must be delivered again."""
    if message.error:
        # Redelivered until maxReceiveCount, then it waits in the DLQ.
        logger.error("unreadable SQS message", extra={"message_id": message.message_id, "error": message.error})
        return True
    for bad in message.bad_records:
        report_bad_record(bad)
    return any(isinstance(r, TransientError) for r in results)  # each was logged when it failed (handler.invocation)


BATCHES = Batches()
