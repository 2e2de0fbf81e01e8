"""EventBridge "Object Created" and "Object Restore Completed": the key decoded as Powertools does, other spellings kept."""

import json

import pytest

from handler.sources import eventbridge
from tests.conftest import EVENTS


def fixture() -> dict:
    return json.loads((EVENTS / "eventbridge-s3-object-created.json").read_text(encoding="utf-8"))


def test_the_object_named_in_detail_becomes_a_ref_with_the_key_decoded_and_the_other_spellings_kept():
    ref = eventbridge.parse_object_created(fixture())
    assert ref.bucket == "leaf-images-local"
    # As Powertools' S3EventBridgeNotificationObject.key (unquote_plus): '+' is a space.
    assert ref.key == "garden-images/my garden/leaf 1 (100%).jpg"
    # '%).' is no escape: percent-decoding alone keeps the '+', and the raw key is that same spelling.
    assert ref.other_keys == ("garden-images/my garden/leaf+1 (100%).jpg",)
    assert (ref.etag, ref.version_id, ref.sequencer) == (
        "b1946ac92492d2347c6235b4d2611184",
        "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
        "617f08299329d189",
    )
    assert ref.event_name == "ObjectCreated:Put"


@pytest.mark.parametrize(
    ("reason", "event_name"),
    [
        ("CopyObject", "ObjectCreated:Copy"),
        ("CompleteMultipartUpload", "ObjectCreated:CompleteMultipartUpload"),
    ],
)
def test_the_reason_maps_to_the_s3_event_name(reason, event_name):
    event = fixture()
    event["detail"]["reason"] = reason
    assert eventbridge.parse_object_created(event).event_name == event_name


def test_other_eventbridge_events_are_not_object_created():
    event = fixture()
    assert eventbridge.is_object_created(event)
    event["detail-type"] = "Object Deleted"
    assert not eventbridge.is_object_created(event)


def test_an_empty_key_is_refused():
    event = fixture()
    event["detail"]["object"]["key"] = ""
    with pytest.raises(ValueError, match="key"):
        eventbridge.parse_object_created(event)


def test_the_key_decodes_exactly_as_powertools_decodes_it():
    from urllib.parse import unquote

    from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
    from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventBridgeNotificationEvent

    for raw in ("garden-images/leaf+spot.jpg", "garden-images/caf%C3%A9+%2B1.jpg", "garden-images/plain.jpg"):
        event = fixture()
        event["detail"]["object"]["key"] = raw
        ours = eventbridge.parse_object_created(event)
        assert ours.key == S3EventBridgeNotificationEvent(event).detail.object.key, raw
        assert ours.other_keys == tuple(dict.fromkeys(k for k in (unquote(raw), raw) if k != ours.key)), raw
    assert EventBridgeEvent  # the data class family Powertools maintains for these events


@pytest.mark.parametrize(("raw", "spellings"), [
    ("garden-images/a+b.jpg", ("garden-images/a b.jpg", "garden-images/a+b.jpg")),
    ("garden-images/caf%C3%A9+1.jpg", ("garden-images/café 1.jpg", "garden-images/café+1.jpg",
                                       "garden-images/caf%C3%A9+1.jpg")),
    # Not UTF-8 as an escape: no decoded spelling, the raw key alone (issue 20.3), never UnicodeDecodeError.
    ("garden-images/leaf%E9t%E9.jpg", ("garden-images/leaf%E9t%E9.jpg",)),
    ("garden-images/plain.jpg", ("garden-images/plain.jpg",)),
])
def test_every_spelling_of_the_key_is_kept_most_likely_first(raw, spellings):
    event = fixture()
    event["detail"]["object"]["key"] = raw
    ref = eventbridge.parse_object_created(event)
    assert (ref.key, *ref.other_keys) == spellings


def test_a_completed_restore_is_read_as_an_s3_restore_event():
    event = fixture()
    event["detail-type"] = "Object Restore Completed"
    del event["detail"]["reason"]
    assert eventbridge.is_object_created(event)
    assert eventbridge.parse_object_created(event).event_name == "ObjectRestore:Completed"
