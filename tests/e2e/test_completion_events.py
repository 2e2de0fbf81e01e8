"""Completion events end to end: S3 upload -> handler -> EventBridge bus -> a rule -> an SQS queue (moto delivers).

Exactly one message per stored result; none for the write-back's Copy event, a duplicate delivery, or a
result the API answers from the table. The events client holds the role's PutEvents grant only.
"""

from __future__ import annotations

import dataclasses
import json

import boto3
import pytest

from local.aws import create_policy_user, drain_events
from local.context import LocalContext
from local.iam import function_role_policy
from tests.e2e.api_helpers import api_event, call, with_json
from tests.e2e.conftest import BUCKET, TABLE, handler_client, stored

BUS = "garden-events-e2e"
PATTERN = {"source": ["leaf-diagnosis"], "detail-type": ["Diagnosis Stored"]}


@pytest.fixture(scope="module")
def subscriber(local_stack):
    """What an app does to subscribe: a rule on the bus matching source and detail type, an SQS target."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="garden-app-diagnoses")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="garden-app", EventBusName=BUS, EventPattern=json.dumps(PATTERN))
    events.put_targets(Rule="garden-app", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": arn}])
    return queue_url


@pytest.fixture(scope="module")
def app_with_bus(app, local_stack, subscriber):
    """The session's handler on the same clients, with EVENT_BUS_NAME set and the role's events grant."""
    from handler.container import build_container
    from handler.invocation import make_handler

    role = function_role_policy(images_bucket=BUCKET, table=TABLE, parameters={"EventBusName": BUS})
    statements = [s for s in role["Statement"] if "events:PutEvents" in str(s["Action"])]
    assert statements, "the template grants PutEvents when EventBusName is set"
    for statement in statements:
        # moto checks conditions but sends no events:source/events:detail-type keys, and (as for DynamoDB,
        # tests/e2e/conftest.py) evaluates EventBridge requests against the resource "*" only: both are
        # widened here, the action unchanged; tests/deploy checks the bus ARN and the conditions (local.iam.allows).
        statement.pop("Condition")
        statement["Resource"] = "*"
    keys = create_policy_user("leaf-diagnosis-events", {"Version": "2012-10-17", "Statement": statements})
    c = app.container
    settings = dataclasses.replace(c.settings, event_bus_name=BUS)
    return make_handler(build_container(settings, s3=c.s3, dynamodb=c.dynamodb, classifier=c.classifier,
                                        events=handler_client("events", keys)))


def received(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs")
    messages = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def deliver_all(handler, local_stack) -> list[tuple[dict, list[dict]]]:
    """Every S3 event queued so far, handed to the handler; (event, its results) for each."""
    delivered = []
    for event in drain_events(local_stack.queue_url or "", wait_seconds=0):
        delivered.append((event, handler.lambda_handler(event, LocalContext()).get("results", [])))
    return delivered


def test_one_event_per_stored_result_none_for_the_write_back_or_a_duplicate(app_with_bus, local_stack, subscriber, s3,
                                                                           leaf_jpeg):
    deliver_all(app_with_bus, local_stack)  # what earlier tests left
    received(subscriber)
    s3.put_object(Bucket=BUCKET, Key="garden-images/events/leaf.jpg", Body=leaf_jpeg(1), ContentType="image/jpeg")
    s3.put_object(Bucket=BUCKET, Key="garden-images/events/not-a-photo.jpg", Body=b"%PDF-1.4", ContentType="image/jpeg")
    delivered = deliver_all(app_with_bus, local_stack)  # the two uploads, then the write-back's Copy events
    statuses = sorted(r["status"] for _, results in delivered for r in results)
    assert statuses == ["ok", "rejected", "skipped", "skipped"]
    uploads = [event for event, _ in delivered if "ObjectCreated:Put" in json.dumps(event)]
    assert len(uploads) == 2
    for event in uploads:  # each upload event delivered again: a duplicate
        results = app_with_bus.lambda_handler(event, LocalContext())["results"]
        assert [r["status"] for r in results] == ["skipped"]

    messages = received(subscriber)

    assert sorted(m["detail"]["status"] for m in messages) == ["ok", "rejected"]
    for message in messages:
        assert (message["source"], message["detail-type"]) == ("leaf-diagnosis", "Diagnosis Stored")
        key = message["detail"]["image"].removeprefix(f"s3://{BUCKET}/")
        row = stored(app_with_bus, BUCKET, key)
        assert message["detail"] == {k: v for k, v in row.items() if k in message["detail"]}
        assert len(json.dumps(message["detail"])) < 2_000  # the record, never the image's bytes


def test_the_api_announces_what_it_stores_once(app_with_bus, subscriber, s3, leaf_jpeg):
    key = "garden-images/events/by-api.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(2), ContentType="image/jpeg")
    received(subscriber)
    for _ in range(2):  # the second call is answered from the stored record
        status, body = call(app_with_bus, with_json(api_event("api-diagnose-key.json"), {"key": key}))
        assert status == 200, body
    messages = received(subscriber)
    assert [m["detail"]["image"] for m in messages] == [f"s3://{BUCKET}/{key}"]


def test_without_a_bus_nothing_is_put(app, local_stack, subscriber, s3, leaf_jpeg):
    deliver_all(app, local_stack)
    received(subscriber)
    s3.put_object(Bucket=BUCKET, Key="garden-images/events/quiet.jpg", Body=leaf_jpeg(0), ContentType="image/jpeg")
    statuses = sorted(r["status"] for _, results in deliver_all(app, local_stack) for r in results)
    assert statuses == ["ok", "skipped"]  # the upload, and the write-back's Copy
    assert app.container.completion_events is None and received(subscriber) == []
