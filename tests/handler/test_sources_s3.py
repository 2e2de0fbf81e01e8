import json

import pytest

from handler.sources.s3 import (
    BadRecord,
    ObjectRef,
    decode_s3_key,
    is_notification,
    is_test_event,
    parse_notification,
)
from tests.conftest import EVENTS


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("garden-images/plain.jpg", "garden-images/plain.jpg"),
        ("garden-images/my+garden/leaf+%281%29.jpg", "garden-images/my garden/leaf (1).jpg"),
        ("garden-images/a%2Bb%3Dc.jpg", "garden-images/a+b=c.jpg"),
        ("garden-images/%C3%A9rable/feuille+%C3%A0+pois.jpg", "garden-images/érable/feuille à pois.jpg"),
        ("garden-images/100%25+sure.jpg", "garden-images/100% sure.jpg"),
        ("garden-images%2Fnested%2Fx.jpg", "garden-images/nested/x.jpg"),
    ],
)
def test_keys_are_form_decoded(raw, key):
    assert decode_s3_key(raw) == key


def test_put_event_becomes_one_object_ref():
    [ref] = parse_notification(load("s3-put.json"))
    assert ref == ObjectRef(
        bucket="leaf-images-local",
        key="garden-images/tomato-leaf.jpg",
        etag="0123456789abcdef0123456789abcdef",
        size=1024,
        sequencer="0A1B2C3D4E5F678901",
        event_name="ObjectCreated:Put",
        event_time="1970-01-01T00:00:00.000Z",
    )
    assert ref.uri == "s3://leaf-images-local/garden-images/tomato-leaf.jpg"


def test_every_record_is_parsed_with_its_decoded_key():
    refs = parse_notification(load("s3-put-special-keys.json"))
    assert [r.key for r in refs] == [
        "garden-images/my garden/leaf (1).jpg",
        "garden-images/a+b=c.jpg",
        "garden-images/érable/feuille à pois.jpg",
        "garden-images/100% sure.jpg",
    ]


def test_a_malformed_record_does_not_hide_the_good_ones():
    event = load("s3-put.json")
    event["Records"].insert(0, {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}})
    bad, good = parse_notification(event)
    assert isinstance(bad, BadRecord) and bad.index == 0
    assert isinstance(good, ObjectRef) and good.key == "garden-images/tomato-leaf.jpg"


@pytest.mark.parametrize("name", ["s3-put.json", "s3-put-special-keys.json", "s3-copy-writeback.json"])
def test_notifications_are_not_test_events(name):
    event = load(name)
    assert is_notification(event) and not is_test_event(event)


def test_test_event_is_not_a_notification():
    event = load("s3-test-event.json")
    assert is_test_event(event) and not is_notification(event)


@pytest.mark.parametrize(
    "event",
    [{}, {"Records": []}, {"Records": [{"eventSource": "aws:sqs"}]}, {"Records": "nope"}, {"Event": "s3:TestEvent"}],
)
def test_other_shapes_match_neither(event):
    assert not is_notification(event) and not is_test_event(event)
