"""Versioned bucket: the metadata write-back only ever touches the current object, with the bytes diagnosed.

moto 5.2 ignores x-amz-copy-source-if-match on CopyObject (it checks only if-none-match), so the
`s3_copy_preconditions` fixture makes moto's server enforce it the way S3 documents it: the copy
fails with 412 PreconditionFailed when the source's ETag differs. Each test also asserts, from the
handler's own requests, that the copy names no version and carries the diagnosed ETag.
"""

import threading
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from model.synthetic import LABELS
from tests.reliability.test_idempotency import SMALL, events_for, statuses

KEY = "garden-images/versioned-write-back/leaf.jpg"


@pytest.fixture
def s3_copy_preconditions(monkeypatch):
    """moto's server, in this process, refuses a copy whose source ETag is not the one asked for."""
    from moto.s3.exceptions import PreconditionFailed
    from moto.s3.responses import S3Response

    original = S3Response.copy_object

    def copy_object(self):
        wanted = self.headers.get("x-amz-copy-source-if-match")
        if wanted:
            source = urlparse(self.headers["x-amz-copy-source"])
            bucket, key = unquote(source.path).lstrip("/").split("/", 1)
            version = parse_qs(source.query).get("versionId", [None])[0]
            current = self.backend.get_object(bucket, key, version_id=version)
            if current is not None and current.etag.strip('"') != wanted.strip('"'):
                raise PreconditionFailed("x-amz-copy-source-If-Match")
        return original(self)

    monkeypatch.setattr(S3Response, "copy_object", copy_object)


def copies_sent(rig):
    """Every CopyObject the handler sends, as its parameters."""
    sent = []
    rig.container.s3.meta.events.register("before-call.s3.CopyObject",
                                          lambda params, **_: sent.append(params))
    return sent


def current(rig):
    response = rig.s3.get_object(Bucket=rig.stack.bucket, Key=KEY)
    return response["Body"].read(), response["Metadata"]


def assert_every_copy_is_of_the_current_object_if_it_is_the_diagnosed_one(sent, etags):
    for params in sent:
        assert "x-amz-copy-source" in params["headers"] and "versionId" not in params["headers"]["x-amz-copy-source"]
        assert params["headers"]["x-amz-copy-source-if-match"].strip('"') in etags


@pytest.mark.parametrize("sink", ["s3-metadata", "both"])
def test_a_late_event_for_an_older_version_writes_nothing_onto_the_newer_upload(
        make_rig, leaf_jpeg, s3_copy_preconditions, sink):
    rig = make_rig(sink=sink, versioned=True)
    sent = copies_sent(rig)
    old_body, new_body = leaf_jpeg(0, size=SMALL), leaf_jpeg(2, size=SMALL)
    old_etag = rig.upload(KEY, old_body)["ETag"].strip('"')
    new_etag = rig.upload(KEY, new_body)["ETag"].strip('"')
    old, new = events_for(rig)
    assert statuses(rig.invoke(new)) == ["ok"]
    events_for(rig)  # the Copy event of the write-back
    late = rig.invoke(old)
    assert statuses(late) == ["skipped"]
    body, meta = current(rig)
    assert body == new_body and meta["diagnosis-label"] == LABELS[2]
    assert_every_copy_is_of_the_current_object_if_it_is_the_diagnosed_one(sent, {old_etag, new_etag})
    if sink == "both":
        assert rig.stored(KEY)["label"] == LABELS[2]


@pytest.mark.parametrize("sink", ["s3-metadata", "both"])
def test_a_redelivered_event_after_a_newer_upload_writes_nothing_onto_it(make_rig, leaf_jpeg, s3_copy_preconditions, sink):
    rig = make_rig(sink=sink, versioned=True)
    sent = copies_sent(rig)
    old_body, new_body = leaf_jpeg(1, size=SMALL), leaf_jpeg(3, size=SMALL)
    old_etag = rig.upload(KEY, old_body)["ETag"].strip('"')
    (old,) = events_for(rig)
    assert statuses(rig.invoke(old)) == ["ok"]
    events_for(rig)
    body, meta = current(rig)
    assert body == old_body and meta["diagnosis-label"] == LABELS[1]
    new_etag = rig.upload(KEY, new_body)["ETag"].strip('"')
    (new,) = [e for e in events_for(rig) if e["Records"][0]["eventName"] != "ObjectCreated:Copy"]
    assert statuses(rig.invoke(new)) == ["ok"]
    events_for(rig)
    assert statuses(rig.invoke(old)) == ["skipped"]  # S3 delivers the first event again, late
    body, meta = current(rig)
    assert body == new_body and meta["diagnosis-label"] == LABELS[3]
    assert_every_copy_is_of_the_current_object_if_it_is_the_diagnosed_one(sent, {old_etag, new_etag})


@pytest.mark.parametrize("sink", ["s3-metadata", "both"])
def test_an_event_racing_a_newer_upload_never_puts_the_older_photo_back(make_rig, leaf_jpeg, s3_copy_preconditions, sink,
                                                                       monkeypatch):
    rig = make_rig(sink=sink, versioned=True)
    from handler.observability import metrics

    counted = []
    original = metrics.add_metric
    monkeypatch.setattr(metrics, "add_metric", lambda **kw: (counted.append(kw["name"]), original(**kw)))
    sent = copies_sent(rig)
    old_body, new_body = leaf_jpeg(4, size=SMALL), leaf_jpeg(0, size=SMALL)
    rig.upload(KEY, old_body)
    (old,) = events_for(rig)
    diagnoser = rig.container.diagnoser
    classify = diagnoser.classify_bytes
    old_read, new_done = threading.Event(), threading.Event()

    def classify_then_wait(data):
        body = data if isinstance(data, bytes) else data.read()  # bytes, or the streamed S3 body read whole
        if body == old_body and not old_read.is_set():
            old_read.set()  # the old version is read; hold its write-back until the newer upload is done
            assert new_done.wait(timeout=30)
        return classify(body)

    diagnoser.classify_bytes = classify_then_wait
    replies = []
    worker = threading.Thread(target=lambda: replies.append(rig.invoke(old)))
    worker.start()
    assert old_read.wait(timeout=30)
    rig.upload(KEY, new_body)
    (new,) = events_for(rig)
    assert statuses(rig.invoke(new)) == ["ok"]
    new_done.set()
    worker.join(timeout=30)
    assert statuses(replies[0]) == ["skipped"]
    body, meta = current(rig)
    assert body == new_body and meta["diagnosis-label"] == LABELS[0]
    copies = [s for s in rig.proxy.stats.seen if s.method == "PUT" and s.path.endswith(KEY)]
    # The older one is stopped before its copy: the HEAD of the current object sees the newer upload
    # (issue 20.1). Were that check gone, the copy's CopySourceIfMatch would still refuse it (412).
    assert sorted(s.status for s in copies) == [200]
    assert len(sent) == 1 and counted.count("MetadataNotWritten") == 0
    if sink == "both":
        assert rig.stored(KEY)["label"] == LABELS[0]
