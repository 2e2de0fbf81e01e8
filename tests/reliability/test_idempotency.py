"""At-least-once delivery: duplicates, concurrent duplicates and legitimate overwrites, over HTTP."""


import pytest

from handler.errors import TransientError
from local.aws import drain_events
from local.faults import FaultPlan
from model.synthetic import LABELS
from tests.threads import run_together

SMALL = (128, 128)


def events_for(rig):
    """The S3 notifications S3 queued, taken off the queue (a test hands them to the handler itself)."""
    return list(drain_events(rig.stack.queue_url, wait_seconds=0))


def statuses(reply):
    return [r["status"] for r in reply["results"]]


def test_the_same_event_twice_gives_one_inference_and_one_write(make_rig, leaf_jpeg):
    rig = make_rig()
    key = "garden-images/dup/leaf.jpg"
    rig.upload(key, leaf_jpeg(1, size=SMALL))
    (event,) = events_for(rig)
    first, second = rig.invoke(event), rig.invoke(event)
    assert statuses(first) == ["ok"] and statuses(second) == ["skipped"]
    assert "already recorded" in second["results"][0]["reason"]
    assert rig.classifier.inferences == 1 and rig.writes() == 1
    assert rig.stored(key)["label"] == LABELS[1]


def test_the_same_event_twice_at_once_gives_one_inference_and_one_write(make_rig, leaf_jpeg):
    # Slow S3 reads keep the first invocation busy while the second one arrives.
    rig = make_rig(FaultPlan(delay_rate=0.99, max_delay_s=0.3, services=("s3",), seed=3))
    keys = [f"garden-images/concurrent/leaf-{i}.jpg" for i in range(4)]
    for i, key in enumerate(keys):
        rig.upload(key, leaf_jpeg(i, size=SMALL))
    events = events_for(rig)
    assert len(events) == len(keys)
    replies, errors = [], []

    def deliver(event):
        try:
            replies.append(rig.invoke(event))
        except TransientError as exc:  # the loser: Lambda would retry it
            errors.append((event, exc))

    for event in events:
        run_together([lambda event=event: deliver(event)] * 2)
    assert all("being diagnosed by another invocation" in str(exc) for _, exc in errors)
    for event, _ in errors:  # Lambda's retry of the loser
        assert statuses(rig.invoke(event)) == ["skipped"]
    assert rig.classifier.inferences == len(keys)
    assert rig.writes() == len(keys)
    for i, key in enumerate(keys):
        assert rig.stored(key)["label"] == LABELS[i]


def test_a_new_upload_to_the_same_key_is_diagnosed_again(make_rig, leaf_jpeg):
    rig = make_rig()
    key = "garden-images/overwrite/leaf.jpg"
    rig.upload(key, leaf_jpeg(0, size=SMALL))
    (old,) = events_for(rig)
    rig.invoke(old)
    assert rig.stored(key)["label"] == LABELS[0]
    etag = rig.upload(key, leaf_jpeg(3, size=SMALL))["ETag"].strip('"')
    (new,) = events_for(rig)
    assert statuses(rig.invoke(new)) == ["ok"]
    assert rig.stored(key)["label"] == LABELS[3] and rig.stored(key)["etag"] == etag
    assert statuses(rig.invoke(old)) == ["skipped"]  # the old event redelivered late changes nothing
    assert rig.stored(key)["label"] == LABELS[3]
    assert rig.classifier.inferences == 2 and rig.writes() == 2


def test_the_same_object_under_a_new_model_version_is_diagnosed_again(make_rig, leaf_jpeg):
    rig = make_rig()
    key = "garden-images/new-model/leaf.jpg"
    rig.upload(key, leaf_jpeg(2, size=SMALL))
    (event,) = events_for(rig)
    rig.invoke(event)
    rig.classifier.new_version = "f" * 16
    assert statuses(rig.invoke(event)) == ["ok"]
    assert rig.stored(key)["model_version"] == "f" * 16
    assert rig.classifier.inferences == 2


@pytest.mark.parametrize("sink", ["both", "s3-metadata"])
def test_duplicates_write_the_metadata_once_too(make_rig, leaf_jpeg, sink):
    rig = make_rig(sink=sink)
    key = f"garden-images/dup-{sink}/leaf.jpg"
    rig.upload(key, leaf_jpeg(4, size=SMALL))
    (event,) = events_for(rig)
    rig.invoke(event)
    rig.invoke(event)
    copies = [s for s in rig.proxy.stats.seen if s.method == "PUT" and s.path.endswith(key)]
    assert len(copies) == 1
    assert rig.s3.head_object(Bucket=rig.stack.bucket, Key=key)["Metadata"]["diagnosis-label"] == LABELS[4]
