"""Disorder and races: late older events, objects replaced or deleted between event and read."""

import copy

import pytest

from handler.domain import sequencer_order
from handler.errors import TransientError
from local.aws import drain_events
from model.synthetic import LABELS
from tests.reliability.test_idempotency import SMALL, events_for, statuses
from tests.threads import run_together


def with_sequencer(event, sequencer):
    event = copy.deepcopy(event)
    event["Records"][0]["s3"]["object"]["sequencer"] = sequencer
    return event


def test_sequencers_of_different_lengths_compare_after_left_padding():
    # AWS: "left-pad the shorter value with zeros, and then do a lexicographical comparison".
    assert sequencer_order("1000000000000000") > sequencer_order("FFFFFFFFFFFFFFF")
    assert sequencer_order("0062e99a88dc407460") == sequencer_order("62E99A88DC407460")
    assert sequencer_order(None) < sequencer_order("0") and sequencer_order("not hex") == sequencer_order(None)


@pytest.mark.parametrize("versioned", [True, False], ids=["versioned", "unversioned"])
def test_a_late_older_event_never_replaces_the_newer_result(make_rig, leaf_jpeg, versioned):
    rig = make_rig(versioned=versioned)
    key = "garden-images/order/leaf.jpg"
    rig.upload(key, leaf_jpeg(0, size=SMALL))
    rig.upload(key, leaf_jpeg(2, size=SMALL))
    old, new = events_for(rig)
    # Sequencers that a plain string comparison would order the wrong way round (15 vs 16 digits).
    old, new = with_sequencer(old, "FFFFFFFFFFFFFFF"), with_sequencer(new, "1000000000000000")
    assert statuses(rig.invoke(new)) == ["ok"]
    assert statuses(rig.invoke(old)) == ["skipped"]
    item = rig.stored(key)
    assert item["label"] == LABELS[2] and item["sequencer"] == "1000000000000000"
    assert rig.classifier.inferences == 1 and rig.writes() == 1


def test_older_and_newer_events_at_once_always_leave_the_newer_result(make_rig, leaf_jpeg):
    # A versioned bucket: the older event can still read its own version, so only the
    # conditional write on the sequencer decides which result survives.
    rig = make_rig(versioned=True)
    keys = [f"garden-images/race/leaf-{i}.jpg" for i in range(6)]
    for key in keys:
        rig.upload(key, leaf_jpeg(1, size=SMALL))
        rig.upload(key, leaf_jpeg(3, size=SMALL))
    events = events_for(rig)
    by_key = {}
    for event in events:
        by_key.setdefault(event["Records"][0]["s3"]["object"]["key"], []).append(event)
    failures = []

    def deliver(event):
        try:
            rig.invoke(event)
        except TransientError:
            failures.append(event)

    for old, new in by_key.values():
        run_together([lambda e=e: deliver(e) for e in (new, old)])
    for event in failures:  # Lambda's retries
        rig.invoke(event)
    for key in keys:
        assert rig.stored(key)["label"] == LABELS[3], key


def test_an_object_replaced_before_it_is_read_is_skipped_and_the_newer_event_stores_it(make_rig, leaf_jpeg):
    rig = make_rig()  # unversioned: the read is conditional on the event's ETag
    key = "garden-images/replaced/leaf.jpg"
    rig.upload(key, leaf_jpeg(0, size=SMALL))
    rig.upload(key, leaf_jpeg(4, size=SMALL))
    old, new = events_for(rig)
    reply = rig.invoke(old)
    assert statuses(reply) == ["skipped"] and "replaced" in reply["results"][0]["reason"]
    assert rig.stored(key) is None  # nothing was diagnosed from bytes the event did not name
    assert statuses(rig.invoke(new)) == ["ok"]
    assert rig.stored(key)["label"] == LABELS[4]
    reads = [s for s in rig.proxy.stats.seen if s.method == "GET" and s.path.endswith(key)]
    assert [s.status for s in reads][:1] == [412]


def test_a_replaced_object_in_a_versioned_bucket_is_read_at_the_events_version(make_rig, leaf_jpeg):
    rig = make_rig(versioned=True)
    key = "garden-images/versioned/leaf.jpg"
    rig.upload(key, leaf_jpeg(0, size=SMALL))
    second = rig.upload(key, leaf_jpeg(4, size=SMALL))
    old, new = events_for(rig)
    # The first version is read at its own version, never as the second's bytes; since it is no longer the
    # current object, its result is not stored (issue 20.1: an older version never becomes the result).
    assert statuses(rig.invoke(old)) == ["skipped"]
    assert rig.stored(key) is None
    assert statuses(rig.invoke(new)) == ["ok"]
    item = rig.stored(key)
    assert item["label"] == LABELS[4] and item["version_id"] == second["VersionId"]


def test_an_object_deleted_before_it_is_read_is_skipped_without_a_retry(make_rig, leaf_jpeg):
    rig = make_rig()
    key = "garden-images/deleted/leaf.jpg"
    rig.upload(key, leaf_jpeg(1, size=SMALL))
    rig.s3.delete_object(Bucket=rig.stack.bucket, Key=key)
    event = rig.receive()
    reply = rig.invoke(event)
    assert reply == {"batchItemFailures": []}  # the message is done: no retry, no DLQ
    assert rig.stored(key) is None
    assert list(drain_events(rig.stack.queue_url, wait_seconds=0)) == []
