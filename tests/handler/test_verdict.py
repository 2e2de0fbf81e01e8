"""The "not recognised" verdict through the real handler and the bundled leaf model: the DynamoDB row,
the S3 metadata write-back, the API replies (the seed's route and GET /diagnoses/{key}) and the log line."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from handler.config import Settings
from handler.container import Container
from handler.domain import ObjectRef
from handler.invocation import make_handler
from handler.object_metadata import read_diagnosis
from model.recognition import NO_LEAF
from tests.conftest import LEAVES_DATA, LEAVES_MODEL_DIR
from tests.e2e.api_helpers import api_event, call, with_body, with_path
from tests.handler.conftest import BUCKET, TABLE

BOUNDARY = "verdictboundary0123456789"


def no_leaf_scene() -> bytes:
    folder = LEAVES_DATA / "Test" / "Background_without_leaves"
    if not folder.is_dir():
        pytest.skip(f"{folder} not present (../shared sits beside the clone in CI)")
    return min(folder.iterdir()).read_bytes()


def known_leaf() -> bytes:
    folder = LEAVES_DATA / "Test" / "Apple___Cedar_apple_rust"
    if not folder.is_dir():
        pytest.skip(f"{folder} not present (../shared sits beside the clone in CI)")
    return min(folder.iterdir()).read_bytes()


def solid_colour() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (30, 60, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def leaves(aws: dict[str, Any]) -> Container:
    return Container(Settings(table_name=TABLE, result_sink="both", images_bucket=BUCKET, model_dir=LEAVES_MODEL_DIR))


def diagnose(aws: dict[str, Any], container: Container, key: str, body: bytes, caplog) -> tuple[dict, dict, dict]:
    """Upload, run one S3 event through the handler; (row, object metadata, the 'diagnosed' log line)."""
    etag = aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=body, ContentType="image/jpeg")["ETag"].strip('"')
    caplog.clear()
    event = json.loads((Path(__file__).parents[2] / "events" / "s3-put.json").read_text(encoding="utf-8"))
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = BUCKET
    record["s3"]["object"].update(key=key, eTag=etag, size=len(body))
    record["s3"]["object"].pop("versionId", None)
    make_handler(container)(event, _context())
    diagnosed = [vars(line) for line in caplog.records if line.getMessage() == "diagnosed"]
    assert len(diagnosed) == 1, caplog.records
    row = container.table.get(ObjectRef(bucket=BUCKET, key=key).uri)
    meta = aws["s3"].head_object(Bucket=BUCKET, Key=key)["Metadata"]
    return row, meta, diagnosed[0]


def _context():
    from local.context import LocalContext

    return LocalContext()


def seed_reply(container: Container, body: bytes) -> dict[str, Any]:
    multipart = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.jpg\"\r\n"
                 f"Content-Type: image/jpeg\r\n\r\n").encode() + body + f"\r\n--{BOUNDARY}--\r\n".encode()
    event = with_body(api_event("api-seed-prediction.json"), multipart, f"multipart/form-data; boundary={BOUNDARY}")
    status, reply = call(_App(container), event)
    assert status == 200, reply
    return reply


def stored_reply(container: Container, key: str) -> dict[str, Any]:
    status, reply = call(_App(container), with_path(api_event("api-get-diagnosis.json"), f"/diagnoses/{key}"))
    assert status == 200, reply
    return reply


class _App:
    def __init__(self, container: Container) -> None:
        self.lambda_handler = make_handler(container)


@pytest.mark.parametrize(("name", "image", "reason"), [
    ("no-leaf scene", no_leaf_scene, NO_LEAF),
    ("solid colour", solid_colour, None),
])
def test_what_the_model_does_not_know_is_marked_not_recognised_everywhere(aws, leaves, caplog, name, image, reason):
    body = image()
    key = f"garden-images/{name.replace(' ', '-')}.jpg"
    row, meta, log = diagnose(aws, leaves, key, body, caplog)
    assert row["status"] == "ok" and row["recognized"] is False and row["reason"]
    assert reason is None or row["reason"] == reason
    assert meta["diagnosis-recognized"] == "false" and meta["diagnosis-reason"] == row["reason"]
    parsed = read_diagnosis(row["image"], meta)
    assert parsed["recognized"] is False and parsed["reason"] == row["reason"]
    assert log["recognized"] is False and log["reason"] == row["reason"]
    stored = stored_reply(leaves, key)
    assert stored["recognized"] is False and stored["reason"] == row["reason"]
    seed = seed_reply(leaves, body)
    assert seed["recognized"] is False and seed["reason"] == row["reason"]
    assert seed["label"] and 0 <= seed["confidence"] <= 1  # the seed's client still gets its two fields


def test_a_known_leaf_is_recognised_everywhere_with_a_readable_label(aws, leaves, caplog):
    body = known_leaf()
    key = "garden-images/cedar-rust.jpg"
    row, meta, log = diagnose(aws, leaves, key, body, caplog)
    assert row["label"] == "Apple_Cedar apple rust" and row["display_label"] == "Apple — Cedar apple rust"
    assert row["recognized"] is True and "reason" not in row
    assert meta["diagnosis-recognized"] == "true" and "diagnosis-reason" not in meta
    assert read_diagnosis(row["image"], meta)["recognized"] is True
    assert log["recognized"] is True and "reason" not in log
    assert stored_reply(leaves, key)["recognized"] is True
    seed = seed_reply(leaves, body)
    assert (seed["label"], seed["recognized"], seed["display_label"]) == (
        "Apple_Cedar apple rust", True, "Apple — Cedar apple rust")


@pytest.mark.parametrize("meta", [
    {"diagnosis-recognized": "maybe"},
    {"diagnosis-recognized": "false"},  # false without its reason
    {"diagnosis-recognized": "true", "diagnosis-reason": "no leaf in the photo"},
    {"diagnosis-reason": "no leaf in the photo"},
    {"diagnosis-recognized": "false", "diagnosis-reason": "x" * 121},
    {"diagnosis-recognized": "false", "diagnosis-reason": "%0Ainjected"},
])
def test_a_verdict_not_written_by_the_handler_is_no_result(meta):
    base = {"diagnosis-model": "abc", "diagnosis-status": "ok", "diagnosis-label": "x", "diagnosis-confidence": "0.5"}
    assert read_diagnosis("s3://b/k", base) == {"image": "s3://b/k", "status": "ok", "label": "x",
                                                "confidence": 0.5, "model_version": "abc"}
    assert read_diagnosis("s3://b/k", {**base, **meta}) is None
