"""Transient faults over real HTTP are retried; permanent ones are recorded; nothing is half-written."""

import time

from botocore.config import Config

from handler.errors import TransientError
from local.context import LocalContext
from local.faults import FaultPlan
from model.synthetic import LABELS
from tests.reliability.test_idempotency import SMALL, events_for, statuses

STORMY = FaultPlan(error_rate=0.12, lost_reply_rate=0.05, delay_rate=0.2, max_delay_s=0.05, seed=11)


def test_every_upload_ends_with_exactly_one_correct_result_under_faults(make_rig, leaf_jpeg, fast_backoff):
    rig = make_rig(STORMY, sink="both")
    bodies = {f"garden-images/stormy/leaf-{i:02d}.jpg": leaf_jpeg(i % len(LABELS), seed=800_000 + i, size=SMALL)
              for i in range(30)}
    # "Correct" = what the model says about these bytes with no faults at all.
    keys = {key: rig.container.diagnoser.classify_bytes(body).label for key, body in bodies.items()}
    for key, body in bodies.items():
        rig.upload(key, body)
    started = time.perf_counter()
    batches = rig.pump(batch_size=5, max_batches=300)
    print(f"\nstorm: {len(keys)} uploads, {batches} batches, {rig.failures} messages retried, "
          f"{rig.proxy.stats.count('error')} errors + {rig.proxy.stats.count('lost-reply')} lost replies injected "
          f"in {len(rig.proxy.stats.seen)} requests, {time.perf_counter() - started:.1f} s")
    for key, label in keys.items():
        item = rig.stored(key)
        assert item is not None and (item["status"], item["label"]) == ("ok", label), key
        assert rig.s3.head_object(Bucket=rig.stack.bucket, Key=key)["Metadata"]["diagnosis-label"] == label
        assert rig.writes(key) == 1, key
    stats = rig.proxy.stats
    # The storm really happened, on both services, in every shape.
    assert stats.count("error") >= 10 and stats.count("lost-reply") >= 3 and stats.count("delay") >= 10
    assert {s.service for s in stats.seen if s.fault == "error"} == {"s3", "dynamodb"}
    assert {s.status for s in stats.seen if s.fault} >= {500, 503, 400}


def test_a_dependency_that_stays_down_fails_the_invocation_and_the_retry_succeeds(make_rig, leaf_jpeg, fast_backoff):
    rig = make_rig(FaultPlan(error_rate=0.999, services=("dynamodb",), seed=5))
    key = "garden-images/outage/leaf.jpg"
    rig.upload(key, leaf_jpeg(2, size=SMALL))
    (event,) = events_for(rig)
    try:
        rig.invoke(event)
        raise AssertionError("expected the invocation to fail so Lambda retries it")
    except TransientError as exc:
        assert "ProvisionedThroughputExceeded" in str(exc) or "Throttling" in str(exc) or "InternalServerError" in str(exc)
    dynamodb = lambda seen: [(s.operation, s.fault) for s in seen if s.service == "dynamodb"]
    rig.proxy.stats.wait_for(lambda seen: len(dynamodb(seen)) >= 5)  # recorded just after the reply is sent
    attempts = dynamodb(rig.proxy.stats.seen)
    # botocore counts retries in "max_attempts": 4 means the call and four retries, with backoff.
    assert attempts == [("UpdateItem", "error")] * 5
    assert rig.stored(key) is None
    rig.proxy.set_plan(FaultPlan())
    assert statuses(rig.invoke(event)) == ["ok"]  # Lambda's retry
    assert rig.stored(key)["label"] == LABELS[2]


def test_an_s3_outage_is_a_retry_not_a_rejected_image(make_rig, leaf_jpeg, fast_backoff):
    rig = make_rig(FaultPlan(error_rate=0.999, services=("s3",), operations=("GET",), seed=6))
    key = "garden-images/s3-down/leaf.jpg"
    rig.upload(key, leaf_jpeg(4, size=SMALL))
    event = rig.receive()
    reply = rig.invoke(event)
    assert [f["itemIdentifier"] for f in reply["batchItemFailures"]] == [event["Records"][0]["messageId"]]
    assert rig.stored(key) is None  # not "rejected": the image was never seen
    rig.proxy.set_plan(FaultPlan())
    assert rig.invoke(event) == {"batchItemFailures": []}  # the redelivery
    assert rig.stored(key)["label"] == LABELS[4]


def test_a_read_timeout_is_retried_as_a_transient_fault(make_rig, leaf_jpeg):
    quick = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=1, read_timeout=0.3)
    rig = make_rig(FaultPlan(delay_rate=0.999, max_delay_s=1.0, services=("s3",), operations=("GET",), seed=1),
                   config=quick)
    key = "garden-images/slow/leaf.jpg"
    rig.upload(key, leaf_jpeg(0, size=SMALL))
    (event,) = events_for(rig)
    rig.proxy.set_plan(FaultPlan(delay_rate=0.999, max_delay_s=1.0, services=("s3",), operations=("GET",), seed=2))
    outcome = None
    for _ in range(10):  # Lambda's retries; a delay under 0.3 s gets through
        try:
            outcome = rig.invoke(event)
            break
        except TransientError as exc:
            assert "timeout" in str(exc).lower() or "timed out" in str(exc).lower()
    assert outcome is not None and statuses(outcome) == ["ok"]


def test_a_table_write_that_fails_after_the_metadata_copy_is_completed_by_the_retry(make_rig, leaf_jpeg, fast_backoff):
    rig = make_rig(FaultPlan(error_rate=0.999, services=("dynamodb",), operations=("PutItem",), seed=9), sink="both")
    key = "garden-images/half/leaf.jpg"
    rig.upload(key, leaf_jpeg(3, size=SMALL))
    (event,) = events_for(rig)
    try:
        rig.invoke(event)
        raise AssertionError("the table write failed; the invocation must fail")
    except TransientError:
        pass
    assert rig.stored(key) is None  # the metadata copy happened; the commit did not
    rig.proxy.set_plan(FaultPlan())
    events_for(rig)  # the Copy event our metadata write fired
    assert statuses(rig.invoke(event)) == ["ok"]
    assert rig.stored(key)["label"] == LABELS[3]
    copies = [s for s in rig.proxy.stats.seen if s.method == "PUT" and s.path.endswith(key)]
    assert len(copies) == 1  # the retry did not copy again: the metadata already said the same


def test_a_metadata_copy_that_fails_leaves_nothing_recorded_and_the_retry_writes_both(make_rig, leaf_jpeg, fast_backoff):
    rig = make_rig(FaultPlan(error_rate=0.999, services=("s3",), operations=("PUT",), seed=8), sink="both")
    key = "garden-images/copy-fails/leaf.jpg"
    rig.upload(key, leaf_jpeg(1, size=SMALL))
    (event,) = events_for(rig)
    try:
        rig.invoke(event)
        raise AssertionError("the metadata copy failed; the invocation must fail")
    except TransientError:
        pass
    assert rig.stored(key) is None  # no committed result that would make the retry skip the copy
    rig.proxy.set_plan(FaultPlan())
    assert statuses(rig.invoke(event)) == ["ok"]
    assert rig.stored(key)["label"] == LABELS[1]
    assert rig.s3.head_object(Bucket=rig.stack.bucket, Key=key)["Metadata"]["diagnosis-label"] == LABELS[1]


class RunningOut(LocalContext):
    """A 30 s invocation that, by the time a record would start, has 1 s left (less than its 5 s margin)."""

    asked = 0

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        return 30_000 if self.asked == 1 else 1_000


def test_an_invocation_nearly_out_of_time_starts_nothing_and_writes_nothing(make_rig, leaf_jpeg):
    rig = make_rig()
    key = "garden-images/late/leaf.jpg"
    rig.upload(key, leaf_jpeg(1, size=SMALL))
    event = rig.receive()
    reply = rig.invoke(event, RunningOut())
    assert [f["itemIdentifier"] for f in reply["batchItemFailures"]] == [event["Records"][0]["messageId"]]
    assert rig.stored(key) is None and rig.writes() == 0 and rig.classifier.inferences == 0


def test_permanent_failures_are_recorded_and_the_batch_succeeds(make_rig, leaf_jpeg):
    rig = make_rig(max_image_bytes=50_000)
    bodies = {
        "garden-images/permanent/corrupt.jpg": leaf_jpeg(0, size=SMALL)[:200],
        "garden-images/permanent/not-an-image.jpg": b"just some text, not a photo",
        "garden-images/permanent/too-big.jpg": leaf_jpeg(0, size=(1200, 1200), quality=100),
        "garden-images/permanent/fine.jpg": leaf_jpeg(1, size=SMALL),
    }
    for key, body in bodies.items():
        rig.upload(key, body)
    event = rig.receive()
    assert rig.invoke(event) == {"batchItemFailures": []}
    assert [rig.stored(k)["status"] for k in bodies] == ["rejected", "rejected", "rejected", "ok"]
    assert "the limit is 50,000" in rig.stored("garden-images/permanent/too-big.jpg")["error"]
