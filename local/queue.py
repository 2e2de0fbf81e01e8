"""Lambda's SQS event source mapping, emulated: receive a batch, hand it over, delete what succeeded."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from local.aws import REGION

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def receive_event(queue_url: str, batch_size: int = 10, wait_seconds: int = 1) -> dict[str, Any] | None:
    """Up to batch_size messages as the {"Records": [...]} event Lambda would pass; None when empty."""
    import boto3

    sqs = boto3.client("sqs", region_name=REGION)
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    records: list[dict[str, Any]] = []
    while len(records) < batch_size:
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, batch_size - len(records)),
            WaitTimeSeconds=wait_seconds if not records else 0,
            AttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            break
        records.extend(_record(message, arn) for message in messages)
    return {"Records": records} if records else None


def settle(queue_url: str, event: dict[str, Any], response: dict[str, Any] | None) -> list[str]:
    """Delete the messages the reply did not list in batchItemFailures; return the ids left to retry."""
    import boto3

    sqs = boto3.client("sqs", region_name=REGION)
    failed = [f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])]
    for record in event["Records"]:
        if record["messageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"])
    return failed


def pump(queue_url: str, handler: Handler, batch_size: int = 10) -> list[dict[str, Any]]:
    """Feed the queue to the handler batch by batch until it is empty (failed messages stay invisible)."""
    replies = []
    while (event := receive_event(queue_url, batch_size, wait_seconds=0)) is not None:
        reply = handler(event)
        settle(queue_url, event, reply)
        replies.append(reply)
    return replies


def _record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
