"""POST /uploads, GET / (the page), GET /diagnoses (the listing) and ?wait= on GET /diagnoses/{key}.

Requests are built as API Gateway would send them for template.yaml's routes (local.apievents), so a
route missing from the template fails here as it would deployed.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from handler.invocation import make_handler
from local.apievents import match_route, proxy_event, template_api
from local.context import LocalContext
from tests.handler.conftest import BUCKET, TABLE

ROUTES, BINARY = template_api()


def request(handler, method: str, path: str, body: bytes = b"", content_type: str | None = None) -> tuple[int, dict[str, str], Any]:
    matched = match_route(ROUTES, method, path.split("?", 1)[0])
    assert matched is not None, f"template.yaml routes no {method} {path}"
    headers = [("Host", "api.example")] + ([("Content-Type", content_type)] if content_type else [])
    event = proxy_event(method, path, headers, body, matched[0], matched[1], BINARY)
    response = handler.lambda_handler(event, LocalContext(timeout_s=30.0))
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    headers.update({k.lower(): v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()})
    text = response.get("body") or ""
    payload = json.loads(text) if headers.get("content-type", "").startswith("application/json") else text
    return response["statusCode"], headers, payload


@pytest.fixture
def handler(container):
    return make_handler(container)


def upload(handler, filename="leaf.jpg", content_type="image/jpeg"):
    return request(handler, "POST", "/uploads", json.dumps({"filename": filename, "content_type": content_type}).encode(),
                   "application/json")


def test_post_uploads_answers_a_sigv4_presigned_post_under_the_upload_prefix(handler):
    code, _, post = upload(handler, "my leaf.JPG")
    assert code == 200
    assert post["key"].startswith("garden-images/uploads/") and post["key"].endswith("-my-leaf.jpg")
    assert post["fields"]["key"] == post["key"] and "x-amz-signature" in post["fields"]
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    assert {"bucket": BUCKET} in policy["conditions"]
    assert ["content-length-range", 1, 20 * 1024 * 1024] in policy["conditions"]


@pytest.mark.parametrize(("body", "status"), [(b"{", 400), (b'{"filename": "a.pdf", "content_type": "application/pdf"}', 415),
                                              (b"x" * 5000, 413), (b"[]", 400)])
def test_post_uploads_refuses_what_is_not_an_upload_request(handler, body, status):
    code, _, answer = request(handler, "POST", "/uploads", body, "application/json")
    assert code == status and answer["message"]


def test_the_page_is_served_with_its_csp_naming_the_bucket_origin(handler):
    code, headers, body = request(handler, "GET", "/")
    assert code == 200 and headers["content-type"].startswith("text/html")
    assert "<script>" in body and 'id="gallery"' in body
    csp = headers["content-security-policy"]
    assert "script-src 'sha256-" in csp and "https://" in csp.split("connect-src", 1)[1]


def store(aws, container, key: str, jpeg: bytes) -> None:
    aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=jpeg)
    handler = make_handler(container)
    code, _, _ = request(handler, "POST", "/diagnoses", json.dumps({"key": key}).encode(), "application/json")
    assert code == 200


def test_the_stored_row_carries_the_listing_index_attributes_and_the_api_hides_them(aws, container, handler, leaf_jpeg):
    store(aws, container, "garden-images/a.jpg", leaf_jpeg(1))
    item = aws["dynamodb"].get_item(TableName=TABLE, Key={"image": {"S": f"s3://{BUCKET}/garden-images/a.jpg"}})["Item"]
    assert item["listing"] == {"S": f"s3://{BUCKET}/"} and item["listed_at"]["S"].startswith(item["diagnosed_at"]["S"] + "#")
    code, _, stored = request(handler, "GET", "/diagnoses/garden-images/a.jpg")
    assert code == 200 and "listing" not in stored and "listed_at" not in stored


def test_listing_pages_newest_first_with_thumbnails_and_no_scan(aws, container, handler, leaf_jpeg, monkeypatch):
    keys = [f"garden-images/beds/{n}.jpg" for n in range(5)] + ["garden-images/pots/p.jpg"]
    for n, key in enumerate(keys):
        store(aws, container, key, leaf_jpeg(n % 3))
    scans: list[Any] = []
    original = container.dynamodb.scan
    monkeypatch.setattr(container.dynamodb, "scan", lambda **kw: scans.append(kw) or original(**kw))
    seen, token, pages = [], None, 0
    while True:
        path = "/diagnoses?limit=2" + (f"&next={token}" if token else "")
        code, _, page = request(handler, "GET", path)
        assert code == 200 and len(page["items"]) <= 2
        seen += page["items"]
        pages += 1
        token = page["next"]
        if not token:
            break
    assert [item["key"] for item in seen] == keys[::-1]  # newest first
    assert pages >= 3 and scans == []
    for item in seen:
        assert item["thumbnail_url"].startswith("http") and "X-Amz-Signature=" in item["thumbnail_url"]
        assert "listing" not in item and "event_order" not in item
    code, _, pots = request(handler, "GET", "/diagnoses?prefix=garden-images/pots/")
    assert [item["key"] for item in pots["items"]] == ["garden-images/pots/p.jpg"]
    code, _, later = request(handler, "GET", "/diagnoses?since=2999-01-01T00:00:00Z")
    assert code == 200 and later == {"items": [], "next": None}


FORGED = [
    "not base64!!",
    base64.urlsafe_b64encode(b"not json").decode(),
    base64.urlsafe_b64encode(b"[1, 2]").decode(),
    base64.urlsafe_b64encode(json.dumps({"image": {"S": "x"}}).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps({"image": {"S": "s3://b/k"}, "listing": {"S": "s3://other-bucket/"},
                                         "listed_at": {"S": "2026"}}).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps({"image": {"N": "1"}, "listing": {"S": f"s3://{BUCKET}/"},
                                         "listed_at": {"S": "2026"}}).encode()).decode(),
    "A" * 5000,
]


@pytest.mark.parametrize("token", FORGED, ids=["not-base64", "not-json", "a-list", "missing-keys", "other-bucket",
                                                "not-strings", "too-long"])
def test_a_forged_or_malformed_next_token_is_a_400(aws, handler, token):
    code, _, answer = request(handler, "GET", f"/diagnoses?next={token}")
    assert code == 400 and "next" in answer["message"]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "since=yesterday"])
def test_bad_limits_and_times_are_400s(aws, handler, query):
    code, _, _ = request(handler, "GET", f"/diagnoses?{query}")
    assert code == 400


def test_wait_returns_the_result_once_it_is_stored(aws, container, handler, leaf_jpeg, monkeypatch):
    from functools import partial

    from handler.api import longpoll, routes
    from handler.api.diagnoses import DiagnosisApi
    from handler.api.s3_urls import S3Location

    key = "garden-images/uploads/late.jpg"
    aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(2))
    looks: list[float] = []

    def pause(seconds: float) -> None:  # the long-poll's sleep: the result lands during the second pause
        looks.append(seconds)
        if len(looks) == 2:
            DiagnosisApi(container).diagnose_object(S3Location(BUCKET, key))

    monkeypatch.setattr(routes, "wait_for", partial(longpoll.wait_for, sleep=pause))
    code, _, result = request(handler, "GET", f"/diagnoses/{key}?wait=20")
    assert code == 200 and result["image"] == f"s3://{BUCKET}/{key}" and len(looks) == 2
    monkeypatch.setattr(routes, "wait_for", partial(longpoll.wait_for, sleep=lambda s: None))
    code, _, _ = request(handler, "GET", "/diagnoses/garden-images/never.jpg?wait=0.5")
    assert code == 404
    code, _, _ = request(handler, "GET", "/diagnoses/garden-images/never.jpg?wait=soon")
    assert code == 400
    looks.clear()
    code, _, _ = request(handler, "GET", "/diagnoses/garden-images/never.jpg")  # no ?wait: one look, no pause
    assert code == 404 and looks == []
