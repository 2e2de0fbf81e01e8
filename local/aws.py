"""The embedded default: moto's server on 127.0.0.1 and the project's resources inside it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from local.template import table_key_schema

DEFAULT_BUCKET = "leaf-images-local"
DEFAULT_TABLE = "leaf-diagnoses-local"
DEFAULT_QUEUE = "leaf-upload-events"
REGION = "us-east-1"
# moto accepts any credentials; these never leave the machine.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}


@dataclass(frozen=True)
class LocalStack:
    endpoint: str
    bucket: str
    table: str
    queue_url: str | None


def use_local_credentials(endpoint: str) -> None:
    """Point boto3 (and the handler, which reads the same variables) at the local endpoint."""
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ["AWS_ENDPOINT_URL"] = endpoint


@contextmanager
def moto_server(port: int = 0) -> Iterator[str]:
    """Start moto's threaded HTTP server on loopback and yield its endpoint URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request is noise here
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.stop()


def create_resources(
    bucket: str = DEFAULT_BUCKET,
    table: str = DEFAULT_TABLE,
    queue: str | None = DEFAULT_QUEUE,
    prefix: str = "garden-images/",
    events: tuple[str, ...] = ("s3:ObjectCreated:*",),
    create_table: bool = True,
) -> LocalStack:
    """Bucket, results table (key schema read from template.yaml) and, optionally, S3→SQS notifications."""
    import boto3

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    if create_table:
        key_schema, attributes = table_key_schema()
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=table, KeySchema=key_schema, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
        )
    queue_url = None
    if queue:
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": arn,
                        "Events": list(events),
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                    }
                ]
            },
        )
    return LocalStack(endpoint=os.environ.get("AWS_ENDPOINT_URL", ""), bucket=bucket, table=table, queue_url=queue_url)


def drain_events(queue_url: str, wait_seconds: int = 1) -> Iterator[dict[str, Any]]:
    """Yield the S3 event bodies S3 put on the queue, deleting each as it is handed out."""
    import boto3

    sqs = boto3.client("sqs", region_name=REGION)
    while True:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        messages = response.get("Messages", [])
        if not messages:
            return
        for message in messages:
            yield json.loads(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
