"""SQS batches: each message body is read as the S3 event it carries, or marked unreadable."""

import json

from handler.sources import eventbridge, s3, sqs
from tests.conftest import EVENTS


def fixture(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def message(body: str, message_id: str = "m-1") -> dict:
    return {"messageId": message_id, "body": body, "eventSource": "aws:sqs"}


def test_the_sqs_fixture_is_a_batch_and_nothing_else():
    event = fixture("sqs-s3-put.json")
    assert sqs.is_batch(event)
    assert not s3.is_notification(event) and not s3.is_test_event(event)
    assert not eventbridge.is_object_created(event)


def test_each_message_yields_the_object_its_s3_event_names_with_the_key_decoded():
    messages = sqs.parse_batch(fixture("sqs-s3-put.json"))
    assert [m.message_id for m in messages] == [
        "19dd0b57-b21e-4ac1-bd88-01bbb068cb78",
        "2e1424d4-f796-459a-8184-9c92662be6da",
    ]
    assert [ref.key for m in messages for ref in m.refs] == [
        "garden-images/tomato-leaf.jpg",
        "garden-images/my garden/leaf (1).jpg",
    ]
    assert messages[0].refs[0].etag == "0123456789abcdef0123456789abcdef"
    assert all(m.error is None for m in messages)


def test_a_body_that_is_not_an_s3_event_is_an_error_for_that_message_only():
    good = fixture("sqs-s3-put.json")["Records"][0]
    event = {"Records": [message("not json", "bad-1"), good, message('{"hello": "world"}', "bad-2")]}
    messages = sqs.parse_batch(event)
    assert [m.error is not None for m in messages] == [True, False, True]
    assert "not JSON" in messages[0].error


def test_the_s3_test_event_in_a_message_is_recognised():
    body = (EVENTS / "s3-test-event.json").read_text(encoding="utf-8")
    (parsed,) = sqs.parse_batch({"Records": [message(body)]})
    assert parsed.refs == () and parsed.bad_records == () and parsed.error is None


def test_an_s3_event_inside_an_sns_envelope_is_unwrapped():
    s3_event = json.loads(fixture("sqs-s3-put.json")["Records"][0]["body"])
    envelope = {
        "Type": "Notification",
        "TopicArn": "arn:aws:sns:us-east-1:1:t",
        "Message": json.dumps(s3_event),
    }
    (parsed,) = sqs.parse_batch({"Records": [message(json.dumps(envelope))]})
    assert [ref.key for ref in parsed.refs] == ["garden-images/tomato-leaf.jpg"]
