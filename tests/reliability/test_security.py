"""No loops, no reads outside the prefix, no secrets or image bytes in logs, pinned parsers."""

import io
import logging
import re

import pytest
from packaging.version import Version

from handler.observability import logger
from local.faults import FaultPlan
from model.synthetic import LABELS
from tests.conftest import ROOT
from tests.reliability.conftest import CREDENTIALS
from tests.reliability.corpus import bad_crc_png, leaf, png_chunk, png_junk_chunk
from tests.reliability.test_idempotency import SMALL


@pytest.mark.parametrize("sink", ["both", "s3-metadata"])
def test_the_metadata_write_back_never_triggers_another_diagnosis(make_rig, leaf_jpeg, sink):
    # Notifications on for every ObjectCreated event, and sequencers as S3 sends them: the copy's
    # event is newer than the upload's, so only the object's own metadata can stop a loop.
    rig = make_rig(sink=sink)
    key = f"garden-images/loop-{sink}/leaf.jpg"
    rig.upload(key, leaf_jpeg(2, size=SMALL))
    replies = []
    rig.pump(max_batches=10, on_reply=lambda event, reply, _: replies.append(reply))
    assert rig.classifier.inferences == 1
    copies = [s for s in rig.proxy.stats.seen if s.method == "PUT" and s.path.endswith(key)]
    assert len(copies) == 1
    assert len(replies) == 2  # the upload's event, then the copy's; the pump found the queue empty after
    meta = rig.s3.head_object(Bucket=rig.stack.bucket, Key=key)["Metadata"]
    assert meta["diagnosis-label"] == LABELS[2]


def test_keys_outside_the_prefix_are_never_read(make_rig, leaf_jpeg):
    rig = make_rig()
    config = rig.s3.get_bucket_notification_configuration(Bucket=rig.stack.bucket)
    for queue in config["QueueConfigurations"]:
        queue.pop("Filter", None)  # the bucket now notifies for every key, as a careless setup would
    rig.s3.put_bucket_notification_configuration(
        Bucket=rig.stack.bucket, NotificationConfiguration={"QueueConfigurations": config["QueueConfigurations"]})
    rig.pump(max_batches=5)  # the s3:TestEvent that saving the configuration sent
    inside, outside = "garden-images/fine/leaf.jpg", "private/passport-scan.jpg"
    rig.upload(outside, leaf_jpeg(0, size=SMALL))
    rig.upload(inside, leaf_jpeg(1, size=SMALL))
    delivered = []
    rig.pump(max_batches=10, on_reply=lambda event, reply, _: delivered.extend(r["body"] for r in event["Records"]))
    assert any("passport-scan" in body for body in delivered)  # the handler was handed the outside key
    assert rig.stored(inside)["label"] == LABELS[1]
    assert rig.stored(outside) is None
    touched = [s for s in rig.proxy.stats.seen if outside in s.path]
    assert touched == [], touched  # not a GET, not a HEAD, not a claim: the handler never asked


def test_logs_hold_no_credentials_and_no_image_bytes(make_rig, leaf_jpeg, capsys):
    rig = make_rig(FaultPlan(error_rate=0.2, seed=4), sink="both")
    body = leaf_jpeg(3, size=SMALL)
    odd_chunk = bytearray(bad_crc_png(leaf(0)))
    odd_chunk[12:16] = b"\x00\xfe\x01\xff"  # an IHDR chunk type made of raw bytes: Pillow quotes them
    bodies = {
        "garden-images/logs/leaf.jpg": body,
        "garden-images/logs/odd-chunk.png": bytes(odd_chunk),
        "garden-images/logs/extra-chunk.png": b"\x89PNG\r\n\x1a\n" + png_chunk(b"\x01\x02\x03\x04", b"\xde\xad\xbe\xef" * 8),
        "garden-images/logs/truncated.jpg": body[:400],
        "garden-images/logs/junk-chunk.png": png_junk_chunk(leaf(0, (64, 64))),
    }
    for key, data in bodies.items():
        rig.upload(key, data)
    out = io.StringIO()
    capture = logging.StreamHandler(out)
    capture.setFormatter(logger.registered_formatter)  # the JSON formatter Lambda's lines use
    logger._logger.addHandler(capture)
    try:
        rig.pump(max_batches=20)
    finally:
        logger._logger.removeHandler(capture)
    text = out.getvalue() + capsys.readouterr().out
    assert "rejected" in text and "diagnosed" in text  # the logs did cover both outcomes
    for secret in CREDENTIALS.values():
        assert secret not in text
    assert not re.search(r"(?i)authorization|x-amz-security-token|signature=", text)
    for data in bodies.values():
        assert data[16:48].hex() not in text and repr(data[16:48])[2:-1] not in text
    assert "\\x" not in text and "b'" not in text


def test_runtime_dependencies_are_pinned_and_pillow_has_the_parser_fixes():
    lines = [line.split("#")[0].strip() for line in (ROOT / "layer" / "requirements.txt").read_text().splitlines()]
    pins = dict(line.split("==", 1) for line in lines if line)
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+", name) for name in pins), pins
    assert all(re.fullmatch(r"\d+(\.\d+)*", version) for version in pins.values()), pins  # exact pins only
    assert Version(pins["pillow"]) >= Version("13.0")  # image-parsing CVE fixes up to the 12.x line
    import PIL

    assert Version(PIL.__version__) == Version(pins["pillow"])  # what the tests ran is what ships
