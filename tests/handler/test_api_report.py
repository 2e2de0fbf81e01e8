"""An API request is counted and logged like an event's record: the same metrics, the outcome's own metric kept."""

from __future__ import annotations

import json

import pytest

from handler.invocation import make_handler
from handler.observability import metrics
from local.context import LocalContext
from tests.conftest import EVENTS
from tests.handler.conftest import BUCKET

KEY = "garden-images/api/leaf.jpg"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    monkeypatch.setattr(metrics, "add_metric", lambda **kw: names.append(kw["name"]))
    return names


def post_key(handler, key: str) -> tuple[int, dict]:
    event = json.loads((EVENTS / "api-diagnose-key.json").read_text(encoding="utf-8"))
    event["body"] = json.dumps({"key": key})
    response = handler.lambda_handler(event, LocalContext())
    return response["statusCode"], json.loads(response["body"])


def test_post_diagnoses_by_key_counts_the_image_and_its_latency(aws, container, leaf_jpeg, counted):
    aws["s3"].put_object(Bucket=BUCKET, Key=KEY, Body=leaf_jpeg(1))
    code, answer = post_key(make_handler(container), KEY)
    assert code == 200 and answer["stored"] is True
    assert counted == ["ImagesDiagnosed", "DiagnosisLatency"]


def test_post_diagnoses_keeps_the_outcomes_own_metric(aws, container, leaf_jpeg, counted):
    # User metadata near S3's 2 KB limit: the diagnosis cannot be added to it, the table still holds it.
    aws["s3"].put_object(Bucket=BUCKET, Key=KEY, Body=leaf_jpeg(1), Metadata={"note": "x" * 2000})
    code, answer = post_key(make_handler(container), KEY)
    assert code == 200 and answer["metadata_not_written"]
    assert counted == ["MetadataNotWritten", "ImagesDiagnosed", "DiagnosisLatency"]


def test_an_uploaded_image_is_counted_too(aws, container, leaf_jpeg, counted):
    event = json.loads((EVENTS / "api-diagnose-upload.json").read_text(encoding="utf-8"))
    response = make_handler(container).lambda_handler(event, LocalContext())
    assert response["statusCode"] == 200
    assert counted == ["ImagesDiagnosed", "DiagnosisLatency"]
