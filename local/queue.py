"""Lambda's SQS event source mapping, emulated: receive a batch, hand it over, delete what succeeded.

The one place that polls SQS: the demo, the local API, the tests and the reliability rig use it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

Handler = Callable[[dict[str, Any]], dict[str, Any] | None]
# How long a failed message stays invisible before it comes back, as the mapping's visibility timeout
# (SQS counts whole seconds); the pump's next receive long-polls that long, so no one sleeps.
RETRY_AFTER_S = 1


def _sqs() -> Any:
    import boto3

    return boto3.client("sqs")  # region and endpoint from the environment, like every local client


def receive_messages(queue_url: str, max_messages: int = 10, wait_seconds: int = 1) -> list[dict[str, Any]]:
    """Up to max_messages messages; the first receive long-polls up to wait_seconds, the rest do not wait."""
    sqs = _sqs()
    messages: list[dict[str, Any]] = []
    while len(messages) < max_messages:
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, max_messages - len(messages)),
            WaitTimeSeconds=wait_seconds if not messages else 0,
            AttributeNames=["All"],
        )
        if not response.get("Messages"):
            break
        messages.extend(response["Messages"])
    return messages


def receive_event(queue_url: str, batch_size: int = 10, wait_seconds: int = 1) -> dict[str, Any] | None:
    """Up to batch_size messages as the {"Records": [...]} event Lambda would pass; None when empty."""
    messages = receive_messages(queue_url, batch_size, wait_seconds)
    if not messages:
        return None
    arn = _sqs().get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"Records": [sqs_record(message, arn) for message in messages]}


def drain_bodies(queue_url: str, wait_seconds: int = 1) -> Iterator[str]:
    """Yield each message body until the queue is empty, deleting each once it has been handled."""
    sqs = _sqs()
    while messages := receive_messages(queue_url, 10, wait_seconds):
        for message in messages:
            yield message["Body"]
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def settle(queue_url: str, event: dict[str, Any], response: dict[str, Any] | None,
           retry_after: int | None = None) -> list[str]:
    """Delete the messages the reply did not list in batchItemFailures; the failed ones come back after
    the queue's visibility timeout, or retry_after seconds. Returns the ids of the failed ones."""
    sqs = _sqs()
    failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
    done = [r for r in event["Records"] if r["messageId"] not in failed]
    again = [r for r in event["Records"] if r["messageId"] in failed]
    for chunk in _chunks(done):
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)])
    for chunk in _chunks(again if retry_after is not None else []):
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": retry_after}
            for i, r in enumerate(chunk)])
    return [r["messageId"] for r in again]


def pump(queue_url: str, handler: Handler, batch_size: int = 10, max_batches: int = 500,
         on_reply: Callable[[dict[str, Any], dict[str, Any] | None], None] | None = None) -> int:
    """Feed the queue to the handler batch by batch until it is empty, failed messages included (each
    comes back after RETRY_AFTER_S, and the pump waits for it with a long poll). Returns the batches."""
    waiting: set[str] = set()  # failed messages not yet seen again
    batches = 0
    for _polls in range(2 * max_batches + 1):
        # S3 queues its events before its reply returns, so an empty queue with no retry pending is done.
        event = receive_event(queue_url, batch_size, wait_seconds=RETRY_AFTER_S + 1 if waiting else 0)
        if event is None:
            if waiting and in_flight(queue_url):
                continue  # a failed message is still invisible (its new timeout came late): poll again
            return batches
        if batches == max_batches:
            break
        waiting -= {r["messageId"] for r in event["Records"]}
        reply = handler(event)
        batches += 1
        if on_reply:
            on_reply(event, reply)
        waiting |= set(settle(queue_url, event, reply, retry_after=RETRY_AFTER_S))
    raise RuntimeError(f"queue not drained after {max_batches} batches")


def in_flight(queue_url: str) -> bool:
    """Whether the queue still holds a message, visible or not (SQS's counts are approximate; moto's exact)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    counts = _sqs().get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return any(int(counts.get(name, 0)) for name in names)


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One received message as a record of the event Lambda's SQS mapping passes."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def _chunks(records: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(records), 10):  # SQS takes at most 10 entries per batch call
        yield records[start:start + 10]
