"""An unexpected exception on one record (a bug, an unclassified library error) fails that record alone."""

import json
from urllib.parse import unquote_plus

import pytest

from handler.errors import TransientError
from model.synthetic import LABELS
from tests.reliability.test_idempotency import SMALL, events_for
from tests.reliability.test_order_and_identity import batch_job, result_codes
from tests.reliability.test_untrusted_input import eventbridge_event


@pytest.fixture
def poisoned(make_rig, leaf_jpeg, monkeypatch):
    """A rig whose diagnoser crashes (not a domain error) on one photo's bytes; metrics recorded."""
    rig = make_rig()
    poison = leaf_jpeg(0, seed=700_001, size=SMALL)
    classify = rig.container.diagnoser.classify_bytes

    def classify_or_crash(data):
        body = data if isinstance(data, bytes) else data.read()  # bytes, or the streamed S3 body read whole
        if body == poison:
            raise RuntimeError(f"a bug nobody classified, at {body[:24]!r}")  # quoting the upload's bytes
        return classify(body)

    rig.container.diagnoser.classify_bytes = classify_or_crash
    from handler.observability import metrics

    counted = []
    original = metrics.add_metric
    monkeypatch.setattr(metrics, "add_metric", lambda **kw: (counted.append(kw["name"]), original(**kw)))
    rig.poison, rig.counted, rig.heal = poison, counted, lambda: setattr(rig.container.diagnoser, "classify_bytes", classify)
    return rig


def upload_three(rig, leaf_jpeg, folder):
    keys = [f"garden-images/{folder}/{name}.jpg" for name in ("good-1", "poison", "good-2")]
    rig.upload(keys[0], leaf_jpeg(1, size=SMALL))
    rig.upload(keys[1], rig.poison)
    rig.upload(keys[2], leaf_jpeg(3, size=SMALL))
    return keys


def assert_good_ones_stored(rig, keys):
    assert rig.stored(keys[0])["label"] == LABELS[1] and rig.stored(keys[2])["label"] == LABELS[3]
    assert rig.stored(keys[1]) is None  # neither stored nor rejected: retried


def assert_logged_with_traceback_once(caplog, key):
    (record,) = [r for r in caplog.records if r.getMessage().startswith("unexpected error")]
    assert record.levelname == "ERROR" and record.exception_name == "RuntimeError" and record.key == key
    assert record.exception.startswith("Traceback") and "in classify_or_crash" in record.exception
    assert "RuntimeError: a bug nobody classified, at <bytes>" in record.exception
    assert "\\xff\\xd8" not in caplog.text and "JFIF" not in caplog.text  # no image bytes anywhere


def test_sqs_only_the_crashing_message_is_retried(poisoned, leaf_jpeg, caplog):
    rig = poisoned
    keys = upload_three(rig, leaf_jpeg, "crash-sqs")
    event = rig.receive()
    by_key = {unquote_plus(json.loads(r["body"])["Records"][0]["s3"]["object"]["key"]): r["messageId"]
              for r in event["Records"]}
    reply = rig.invoke(event)
    assert reply["batchItemFailures"] == [{"itemIdentifier": by_key[keys[1]]}]
    assert_good_ones_stored(rig, keys)
    assert rig.counted.count("RecordErrors") == 1 and rig.counted.count("ImagesDiagnosed") == 2
    assert_logged_with_traceback_once(caplog, keys[1])
    rig.heal()
    assert rig.invoke(event) == {"batchItemFailures": []}  # the redelivery: its claim was released
    assert rig.stored(keys[1])["label"] == LABELS[0]


def test_direct_invocation_fails_after_every_other_record_is_stored(poisoned, leaf_jpeg, caplog):
    rig = poisoned
    keys = upload_three(rig, leaf_jpeg, "crash-direct")
    events = events_for(rig)
    event = {"Records": [record for e in events for record in e["Records"]]}  # one notification, three records
    with pytest.raises(TransientError, match="1 record"):
        rig.invoke(event)
    assert_good_ones_stored(rig, keys)
    assert_logged_with_traceback_once(caplog, keys[1])


def test_batch_operations_reports_a_temporary_failure_for_that_task_alone(poisoned, leaf_jpeg):
    rig = poisoned
    keys = upload_three(rig, leaf_jpeg, "crash-batch")
    events_for(rig)
    job = batch_job(rig, keys[0])
    job["tasks"] = [batch_job(rig, key)["tasks"][0] for key in keys]
    reply = rig.invoke(job)
    assert result_codes(reply) == [("Succeeded", "ok"), ("TemporaryFailure", "retry"), ("Succeeded", "ok")]
    assert "unexpected RuntimeError" in reply["results"][1]["resultString"]
    assert_good_ones_stored(rig, keys)


def test_eventbridge_invocation_fails_so_it_is_retried(poisoned):
    rig = poisoned
    key = "garden-images/crash-eventbridge/poison.jpg"
    etag = rig.upload(key, rig.poison)["ETag"].strip('"')
    with pytest.raises(TransientError, match="unexpected RuntimeError"):
        rig.invoke(eventbridge_event(rig, key, etag))
    assert rig.stored(key) is None and rig.counted.count("RecordErrors") == 1
