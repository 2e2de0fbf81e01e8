"""Issue 20.3: no upload lost to key decoding (EventBridge "Object Created").

EventBridge keys are decoded as Powertools decodes them ('+' is a space, %XX UTF-8); a key that
really holds a '+' or a '%' must still be found: each spelling is tried against the event's ETag.
The rig's own S3 notifications for these uploads are dropped; the EventBridge event is delivered.
"""


from model.synthetic import LABELS
from tests.reliability.round3 import SMALL, eventbridge_event, get_result, queued_events, statuses

PREFIX = "garden-images/round3-eventbridge/"


def test_a_plus_key_is_diagnosed_though_the_key_with_a_space_exists(make_rig, leaf_jpeg):
    rig = make_rig()
    plus, space = PREFIX + "leaf+1.jpg", PREFIX + "leaf 1.jpg"
    rig.upload(space, leaf_jpeg(0, size=SMALL))  # the neighbour, another photo
    etag = rig.upload(plus, leaf_jpeg(3, size=SMALL))["ETag"].strip('"')
    queued_events(rig)
    reply = rig.invoke(eventbridge_event(rig, plus, etag))  # as EventBridge sends it: not encoded
    assert statuses(reply) == ["ok"], reply
    status, body = get_result(rig, plus)
    assert status == 200 and body["label"] == LABELS[3], body


def test_a_key_whose_percent_escape_is_not_utf8_is_used_raw(make_rig, leaf_jpeg):
    rig = make_rig()
    key = PREFIX + "leaf%E9t%E9.jpg"  # a real key holding '%E9': as an escape, Latin-1, not UTF-8
    etag = rig.upload(key, leaf_jpeg(1, size=SMALL))["ETag"].strip('"')
    queued_events(rig)
    reply = rig.invoke(eventbridge_event(rig, key, etag))
    assert statuses(reply) == ["ok"], reply
    status, body = get_result(rig, key)
    assert status == 200 and body["label"] == LABELS[1], body
