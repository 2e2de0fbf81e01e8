"""What real S3 and strangers send: forged results, console folders, EventBridge keys, reads S3 denies."""

import json
from urllib.parse import quote, unquote, urlsplit

import pytest
from botocore.awsrequest import AWSResponse

from handler.object_metadata import read_diagnosis
from model.synthetic import LABELS
from ops.backfill_todo import Listed, needing_diagnosis
from tests.conftest import EVENTS
from tests.e2e.api_helpers import api_event, call, with_json, with_path
from tests.reliability.test_idempotency import SMALL, events_for, statuses
from tests.reliability.test_order_and_identity import batch_job, result_codes


def get_diagnosis(rig, key):
    return call(rig.app, with_path(api_event("api-get-diagnosis.json"), "/diagnoses/" + quote(key)))


def forged(model_version, **overrides):
    meta = {"diagnosis-model": model_version, "diagnosis-label": "Forged_healthy",
            "diagnosis-confidence": "0.9999", "diagnosis-status": "ok"}
    return {**meta, **overrides}


# --- forged results ---------------------------------------------------------------------------

@pytest.mark.parametrize("sink", ["s3-metadata", "both"])
def test_an_upload_carrying_our_metadata_is_diagnosed_and_its_forged_label_never_served(make_rig, leaf_jpeg, sink):
    rig = make_rig(sink=sink)
    key = f"garden-images/forged-{sink}/leaf.jpg"
    version = rig.classifier.model_version  # printed in every API answer
    rig.s3.put_object(Bucket=rig.stack.bucket, Key=key, Body=leaf_jpeg(2, size=SMALL), Metadata=forged(version))
    (event,) = events_for(rig)
    assert event["Records"][0]["eventName"] == "ObjectCreated:Put"
    assert statuses(rig.invoke(event)) == ["ok"]
    assert rig.classifier.inferences == 1
    status, body = get_diagnosis(rig, key)
    assert status == 200 and body["label"] == LABELS[2]
    meta = rig.s3.head_object(Bucket=rig.stack.bucket, Key=key)["Metadata"]
    assert meta["diagnosis-label"] == LABELS[2]


@pytest.mark.parametrize("confidence", ["abc", "nan", "1e999", "-0.5", "7"])
def test_metadata_that_does_not_parse_is_no_result(make_rig, leaf_jpeg, confidence):
    rig = make_rig(sink="s3-metadata")
    key = f"garden-images/unparsable/{confidence}.jpg"
    meta = forged(rig.classifier.model_version, **{"diagnosis-confidence": confidence})
    rig.s3.put_object(Bucket=rig.stack.bucket, Key=key, Body=leaf_jpeg(0, size=SMALL), Metadata=meta)
    events_for(rig)  # its event is not handled: the forged metadata is all there is
    status, body = get_diagnosis(rig, key)
    assert status == 404 and isinstance(body, dict) and "no diagnosis stored" in body["message"]
    assert read_diagnosis(f"s3://{rig.stack.bucket}/{key}", meta) is None


def test_metadata_this_module_writes_reads_back():
    meta = {"diagnosis-model": "abc", "diagnosis-label": "%C3%89rable_tache noire",
            "diagnosis-confidence": "0.9312", "diagnosis-status": "ok"}
    assert read_diagnosis("s3://b/k", meta) == {"image": "s3://b/k", "status": "ok", "label": "Érable_tache noire",
                                                "confidence": 0.9312, "model_version": "abc"}
    assert read_diagnosis("s3://b/k", {"diagnosis-model": "abc", "diagnosis-status": "rejected"})["status"] == "rejected"


# --- S3 console folders -----------------------------------------------------------------------

def test_a_console_folder_is_skipped_by_every_source(make_rig):
    rig = make_rig()
    folder = "garden-images/new folder/"
    rig.s3.put_object(Bucket=rig.stack.bucket, Key=folder, Body=b"")
    event = rig.receive()
    assert rig.invoke(event) == {"batchItemFailures": []}
    direct = rig.invoke(json.loads(event["Records"][0]["body"]))
    assert statuses(direct) == ["skipped"] and "folder" in direct["results"][0]["reason"]
    assert result_codes(rig.invoke(batch_job(rig, folder))) == [("Succeeded", "skipped")]
    assert rig.stored(folder) is None
    assert not [s for s in rig.proxy.stats.seen if s.service == "s3" and s.path.endswith(folder)]  # never read


# --- EventBridge keys ----------------------------------------------------------------------------

def eventbridge_event(rig, raw_key, etag):
    event = json.loads((EVENTS / "eventbridge-s3-object-created.json").read_text(encoding="utf-8"))
    event["detail"]["bucket"]["name"] = rig.stack.bucket
    event["detail"]["object"].update(key=raw_key, etag=etag, sequencer=None)
    event["detail"]["object"].pop("version-id", None)
    return event


def test_an_eventbridge_key_is_url_decoded_as_powertools_decodes_it(make_rig, leaf_jpeg):
    rig = make_rig()
    key = "garden-images/eventbridge/leaf spot (100%).jpg"
    etag = rig.upload(key, leaf_jpeg(1, size=SMALL))["ETag"].strip('"')
    reply = rig.invoke(eventbridge_event(rig, "garden-images/eventbridge/leaf+spot+%28100%25%29.jpg", etag))
    assert statuses(reply) == ["ok"]
    assert rig.stored(key)["label"] == LABELS[1]


def test_an_eventbridge_key_whose_decoded_form_does_not_exist_is_tried_raw_once(make_rig, leaf_jpeg):
    rig = make_rig()
    key = "garden-images/eventbridge/leaf+1.jpg"  # a real '+' in the key
    etag = rig.upload(key, leaf_jpeg(3, size=SMALL))["ETag"].strip('"')
    assert statuses(rig.invoke(eventbridge_event(rig, key, etag))) == ["ok"]
    assert rig.stored(key)["label"] == LABELS[3]
    assert rig.stored("garden-images/eventbridge/leaf 1.jpg") is None
    tried = [s.path for s in rig.proxy.stats.seen if s.service == "s3" and s.method in ("HEAD", "GET")]
    assert tried[0].endswith("leaf 1.jpg") and all(p.endswith("leaf+1.jpg") for p in tried[1:])


# --- AccessDenied: missing or not ours --------------------------------------------------------

class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_):
        yield self._body


@pytest.fixture
def s3_without_list_bucket(monkeypatch):
    """The handler's S3 as AWS answers a role without s3:ListBucket: a missing key is 403 AccessDenied."""

    def install(rig):
        def deny_missing(request, **_):
            bucket, _, key = unquote(urlsplit(request.url).path).lstrip("/").partition("/")
            if request.method not in ("GET", "HEAD") or bucket != rig.stack.bucket or not key:
                return None
            try:
                rig.s3.head_object(Bucket=bucket, Key=key)
                return None
            except rig.s3.exceptions.ClientError:
                body = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
                return AWSResponse(request.url, 403, {"Content-Type": "application/xml"}, _Raw(body))

        rig.container.s3.meta.events.register_first("before-send.s3", deny_missing)
        counted = []
        from handler.observability import metrics

        original = metrics.add_metric
        monkeypatch.setattr(metrics, "add_metric", lambda **kw: (counted.append(kw["name"]), original(**kw)))
        return counted

    return install


def test_an_object_s3_denies_is_skipped_counted_and_never_stored_as_rejected(make_rig, leaf_jpeg, s3_without_list_bucket,
                                                                              caplog):
    rig = make_rig()
    counted = s3_without_list_bucket(rig)
    key = "garden-images/denied/" + "long-name-" * 60 + ".jpg"
    rig.upload(key, leaf_jpeg(1, size=SMALL))
    rig.s3.delete_object(Bucket=rig.stack.bucket, Key=key)
    event = rig.receive()
    assert rig.invoke(event) == {"batchItemFailures": []}
    assert rig.stored(key) is None and counted.count("ObjectReadDenied") == 1
    assert "ImagesRejected" not in counted
    reply = rig.invoke(batch_job(rig, key))
    assert result_codes(reply) == [("Succeeded", "skipped")] and "AccessDenied" in reply["results"][0]["resultString"]
    assert rig.stored(key) is None and counted.count("ObjectReadDenied") == 2
    warnings = [r for r in caplog.records if r.getMessage().startswith("S3 denied a read")]
    assert len(warnings) == 2 and all(r.levelname == "WARNING" and len(r.key) < 300 for r in warnings)


@pytest.mark.parametrize("sink", ["s3-metadata", "both"])
def test_the_api_answers_404_for_an_object_s3_denies(make_rig, s3_without_list_bucket, sink):
    rig = make_rig(sink=sink)
    counted = s3_without_list_bucket(rig)
    key = "garden-images/denied/never-uploaded.jpg"
    status, body = call(rig.app, with_json(api_event("api-diagnose-key.json"), {"key": key}))
    assert status == 404, body
    status, body = get_diagnosis(rig, key)
    assert status == 404, body
    assert counted.count("ObjectReadDenied") == (2 if sink == "s3-metadata" else 1)


def test_backfill_does_not_count_a_stored_access_denied_row_as_current():
    item = Listed("bucket-x", "garden-images/a.jpg", "etag1", 10)
    row = {"etag": "etag1", "model_version": "m1", "status": "rejected",
           "error": "access denied reading s3://bucket-x/garden-images/a.jpg"}
    todo, current = needing_diagnosis([item], [lambda chunk: {item.image: row}], "m1")
    assert (todo, current) == ([item], 0)
    corrupt = {**row, "error": "corrupt or truncated image"}
    assert needing_diagnosis([item], [lambda chunk: {item.image: corrupt}], "m1") == ([], 1)
