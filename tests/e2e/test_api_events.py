"""Every route and every error code: API Gateway events from events/ through handler.app.lambda_handler."""

from __future__ import annotations

import base64
import dataclasses
from urllib.parse import quote, quote_plus

import pytest

from model.synthetic import LABELS
from tests.e2e.api_helpers import api_event, call, with_body, with_json, with_path
from tests.e2e.conftest import BUCKET, stored

# Every test here runs on the REST API, the HTTP API and a Function URL (tests/e2e/api_helpers.py).
pytestmark = pytest.mark.usefixtures("door")

RUST = LABELS.index("Synthleaf_rust")  # the leaf inside the upload events


def with_settings(app, **changes):
    """The same handler (clients, model) on changed settings: a new container, as a redeploy would make."""
    from handler.container import build_container
    from handler.invocation import make_handler

    c = app.container
    settings = dataclasses.replace(c.settings, **changes)
    return make_handler(build_container(settings, s3=c.s3, dynamodb=c.dynamodb, classifier=c.classifier))


@pytest.fixture
def put_leaf(s3, leaf_jpeg):
    def put(key: str, label_index: int = 0, body: bytes | None = None) -> bytes:
        data = body if body is not None else leaf_jpeg(label_index)
        s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType="image/jpeg")
        return data

    return put


# ------------------------------------------------------------------ routes


def test_seed_route_answers_label_and_confidence_for_the_multipart_image(app):
    status, body = call(app, api_event("api-seed-prediction.json"))
    assert status == 200
    assert body["label"] == LABELS[RUST]
    assert 0.5 < body["confidence"] <= 1.0


@pytest.mark.parametrize("event", ["api-diagnose-upload.json", "api-diagnose-multipart.json"])
def test_an_uploaded_image_gets_the_full_result_and_is_not_stored(app, event):
    status, body = call(app, api_event(event))
    assert status == 200, body
    assert body["label"] == LABELS[RUST] and body["status"] == "ok"
    assert next(c["label"] for c in body["top_k"]) == LABELS[RUST] and len(body["top_k"]) == 3
    assert body["model_version"] == app.container.classifier.model_version
    assert body["stored"] is False


def test_a_key_is_diagnosed_and_stored_like_an_upload_event(app, put_leaf):
    key = "garden-images/api/by key.jpg"
    put_leaf(key, LABELS.index("Synthleaf_chlorosis"))
    status, body = call(app, with_json(api_event("api-diagnose-key.json"), {"key": key}))
    assert status == 200, body
    assert body["label"] == "Synthleaf_chlorosis" and body["stored"] is True
    assert body["image"] == f"s3://{BUCKET}/{key}"
    assert stored(app, BUCKET, key)["label"] == "Synthleaf_chlorosis"


def test_asking_again_answers_from_the_stored_record_without_rediagnosing(app, put_leaf):
    key = "garden-images/api/twice.jpg"
    put_leaf(key, 1)
    first = call(app, with_json(api_event("api-diagnose-key.json"), {"key": key}))[1]
    status, again = call(app, with_json(api_event("api-diagnose-key.json"), {"key": key}))
    assert status == 200
    assert again["diagnosed_at"] == first["diagnosed_at"]  # the metadata write-back says: done by this model


KEY = "garden-images/api/feuille à pois+1.jpg"


@pytest.mark.parametrize(
    "url",
    [
        f"https://{BUCKET}.s3.amazonaws.com/{quote(KEY)}",
        f"https://{BUCKET}.s3.eu-west-3.amazonaws.com/{quote(KEY)}",
        f"https://{BUCKET}.s3-external-1.amazonaws.com/{quote(KEY)}",
        f"https://{BUCKET}.s3-us-west-2.amazonaws.com/{quote(KEY)}",
        f"https://s3.amazonaws.com/{BUCKET}/{quote(KEY)}",
        f"https://s3.us-east-1.amazonaws.com/{BUCKET}/{quote(KEY)}",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{quote(KEY)}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=abc",
        f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{quote_plus(KEY, safe='/')}",  # the console's form: space as '+'
        f"s3://{BUCKET}/{KEY}",
    ],
)
def test_every_stored_url_form_names_the_same_object(app, put_leaf, url):
    put_leaf(KEY, RUST)
    status, body = call(app, with_json(api_event("api-diagnose-url.json"), {"url": url}))
    assert status == 200, body
    assert body["image"] == f"s3://{BUCKET}/{KEY}"
    assert body["label"] == LABELS[RUST]


def test_the_stored_result_is_read_back_by_key(app, put_leaf):
    key = "garden-images/api/read back é 50%41+1.jpg"  # a literal "%41": decoded once only, on every door
    put_leaf(key, 3)
    call(app, with_json(api_event("api-diagnose-key.json"), {"key": key}))
    status, body = call(app, with_path(api_event("api-get-diagnosis.json"), "/diagnoses/" + quote(key)))
    assert status == 200, body
    assert body["image"] == f"s3://{BUCKET}/{key}" and body["label"] == LABELS[3]


def test_openapi_document_describes_every_route(app, door):
    status, doc = call(app, api_event("api-openapi.json"))
    assert status == 200
    assert set(doc["paths"]) == {"/Diagnosis/prediction", "/diagnoses", "/diagnoses/{key}", "/uploads"}
    assert set(doc["paths"]["/diagnoses"]) == {"get", "post"}  # the listing and the diagnosis
    body = doc["paths"]["/diagnoses"]["post"]["requestBody"]["content"]
    assert {"image/jpeg", "image/png", "image/webp", "multipart/form-data", "application/json"} <= set(body)
    # Called through the REST stage's URL, as events/ are; the HTTP API's $default stage and a Function URL have none.
    assert doc["servers"] == [{"url": "/v1" if door == "rest-api" else "/"}]


def test_docs_page_carries_swagger_ui_inline_and_loads_nothing_from_elsewhere(app):
    status, html = call(app, api_event("api-docs.json"))
    assert status == 200
    assert "SwaggerUIBundle" in html and "/Diagnosis/prediction" in html
    assert "<script src=" not in html and "<link rel='stylesheet'" not in html


# ------------------------------------------------------------------ errors


def test_api_errors_are_json_with_a_message(app):
    status, body = call(app, with_json(api_event("api-diagnose-key.json"), {"key": "garden-images/api/missing.jpg"}))
    assert status == 404
    assert body["statusCode"] == 404 and "no object" in body["message"]


@pytest.mark.parametrize(
    ("event", "body", "content_type", "base64_encoded", "message"),
    [
        ("api-diagnose-key.json", '{"key": ', "application/json", False, "not valid JSON"),
        ("api-diagnose-key.json", '["garden-images/a.jpg"]', "application/json", False, "JSON object"),
        ("api-diagnose-key.json", '{"path": "garden-images/a.jpg"}', "application/json", False, "exactly one"),
        ("api-diagnose-key.json", '{"key": ""}', "application/json", False, "non-empty"),
        ("api-diagnose-upload.json", "this is not base64!!", "image/jpeg", True, "base64"),
        ("api-diagnose-upload.json", b"", "image/jpeg", True, "empty"),
        ("api-seed-prediction.json", b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--b--\r\n",
         "multipart/form-data; boundary=b", True, "'image'"),
        ("api-seed-prediction.json", b"--b\r\nnot a multipart body", "multipart/form-data; boundary=b", True, "malformed"),
        ("api-seed-prediction.json", b"x", "multipart/form-data", True, "boundary"),
    ],
)
def test_malformed_bodies_are_400(app, event, body, content_type, base64_encoded, message):
    varied = with_body(api_event(event), body, content_type, base64_encoded=base64_encoded)
    if isinstance(body, str) and base64_encoded:
        varied["body"] = body  # not valid base64, yet marked as such
    status, answer = call(app, varied)
    assert status == 400, answer
    assert message in answer["message"]


def test_an_upload_over_the_limit_is_413(app, leaf_jpeg):
    data = leaf_jpeg(0)
    status, body = call(with_settings(app, max_image_bytes=len(data) - 1), with_body(api_event("api-diagnose-upload.json"), data, "image/jpeg"))
    assert status == 413 and "limit" in body["message"]


def test_an_upload_over_the_pixel_limit_is_413(app, leaf_jpeg):
    status, body = call(with_settings(app, max_image_pixels=1_000), with_body(api_event("api-diagnose-upload.json"), leaf_jpeg(0), "image/jpeg"))
    assert status == 413 and "pixels; the limit is 1,000" in body["message"]


def test_an_object_over_the_limit_is_413_without_being_read(app, put_leaf):
    data = put_leaf("garden-images/api/big.jpg", 0)
    status, body = call(with_settings(app, max_image_bytes=len(data) - 1), with_json(api_event("api-diagnose-key.json"), {"key": "garden-images/api/big.jpg"}))
    assert status == 413, body


@pytest.mark.parametrize(
    ("event", "body", "content_type"),
    [
        ("api-diagnose-upload.json", b"%PDF-1.4 not a photo", "image/jpeg"),
        ("api-diagnose-upload.json", b"GIF89a", "image/gif"),
        ("api-diagnose-upload.json", b"hello", "text/plain"),
        ("api-diagnose-upload.json", b"hello", None),
        ("api-seed-prediction.json", b"\xff\xd8\xff", "image/jpeg"),  # the seed route takes multipart only
    ],
)
def test_what_is_not_an_image_or_not_an_accepted_type_is_415(app, event, body, content_type):
    status, answer = call(app, with_body(api_event(event), body, content_type))
    assert status == 415, answer


def test_an_object_that_is_not_an_image_is_415_and_its_rejection_is_stored(app, put_leaf, door):
    key = f"garden-images/api/not-a-photo-{door}.jpg"  # a rejection already stored is answered as stored
    put_leaf(key, body=b"%PDF-1.4 not a photo")
    status, _body = call(app, with_json(api_event("api-diagnose-key.json"), {"key": key}))
    assert status == 415
    assert stored(app, BUCKET, key)["status"] == "rejected"


@pytest.mark.parametrize(
    "payload",
    [
        {"key": "elsewhere/leaf.jpg"},
        {"key": "garden-images/../secrets/leaf.jpg"},
        {"url": "s3://someone-elses-bucket/garden-images/leaf.jpg"},
        {"url": "https://someone-elses-bucket.s3.amazonaws.com/garden-images/leaf.jpg"},
        {"url": f"https://s3.amazonaws.com/{BUCKET}/other-prefix/leaf.jpg"},
        {"url": "http://169.254.169.254/latest/meta-data/"},
        {"url": f"https://example.com/{BUCKET}/garden-images/leaf.jpg"},
        {"url": f"https://{BUCKET}.s3.amazonaws.com.example.com/garden-images/leaf.jpg"},
        {"url": "file:///etc/passwd"},
        {"url": f"ftp://{BUCKET}.s3.amazonaws.com/garden-images/leaf.jpg"},
        {"url": "data:image/jpeg;base64,/9j/4AAQ"},
        {"url": "garden-images/leaf.jpg"},
    ],
)
def test_foreign_buckets_other_prefixes_and_non_s3_urls_are_403(app, payload):
    status, body = call(app, with_json(api_event("api-diagnose-url.json"), payload))
    assert status == 403, body


def test_reading_a_result_outside_the_prefix_is_403(app):
    status, _ = call(app, with_path(api_event("api-get-diagnosis.json"), "/diagnoses/private/leaf.jpg"))
    assert status == 403


def test_no_object_and_no_result_are_404(app):
    status, _ = call(app, with_json(api_event("api-diagnose-url.json"), {"url": f"s3://{BUCKET}/garden-images/api/none.jpg"}))
    assert status == 404
    status, body = call(app, with_path(api_event("api-get-diagnosis.json"), "/diagnoses/garden-images/api/never.jpg"))
    assert status == 404 and "no diagnosis stored" in body["message"]


def test_base64_bodies_are_decoded_once(app, leaf_jpeg):
    """The same leaf as raw bytes in a base64 event gives the same answer as the seed's multipart call."""
    event = with_body(api_event("api-diagnose-upload.json"), leaf_jpeg(RUST), "image/png")
    assert base64.b64decode(event["body"])[:2] == b"\xff\xd8"
    status, body = call(app, event)
    assert status == 200 and body["label"] == LABELS[RUST]


def test_a_key_that_is_not_utf8_percent_encoding_is_400(app, door):
    if door == "http-api":
        pytest.skip("an HTTP API decodes the path before the function sees it")
    status, body = call(app, with_path(api_event("api-get-diagnosis.json"), "/diagnoses/garden-images/%FF.jpg"))
    assert status == 400 and "UTF-8" in body["message"]
