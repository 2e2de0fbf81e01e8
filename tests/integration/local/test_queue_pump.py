"""The local SQS pump (Lambda's event source mapping, emulated) is done only when the queue is empty."""

from __future__ import annotations

import boto3
import pytest

from local import queue
from local.aws import LOCAL_CREDENTIALS, REGION, moto_server


@pytest.fixture
def queue_url(monkeypatch: pytest.MonkeyPatch):
    with moto_server() as endpoint:
        for name, value in {**LOCAL_CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": endpoint}.items():
            monkeypatch.setenv(name, value)
        yield boto3.client("sqs").create_queue(QueueName="pump")["QueueUrl"]


def test_a_failed_message_that_comes_back_later_than_the_long_poll_is_still_delivered(queue_url, monkeypatch):
    boto3.client("sqs").send_message(QueueUrl=queue_url, MessageBody="photo")
    settle = queue.settle
    # Its new visibility timeout outlasts the pump's long poll (RETRY_AFTER_S + 1): an empty receive
    # then does not mean the queue is drained.
    monkeypatch.setattr(queue, "settle", lambda url, event, reply, retry_after=None: settle(url, event, reply, 4))
    calls = []

    def handler(event):
        calls.append(event["Records"][0]["body"])
        failed = [{"itemIdentifier": event["Records"][0]["messageId"]}] if len(calls) == 1 else []
        return {"batchItemFailures": failed}

    assert queue.pump(queue_url, handler, max_batches=5) == 2
    assert calls == ["photo", "photo"] and not queue.in_flight(queue_url)
