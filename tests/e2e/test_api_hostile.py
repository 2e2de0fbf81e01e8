"""What strangers send the API: never a Lambda error, never a 5xx but 503, never their input echoed whole."""

from __future__ import annotations

import json
import logging

import pytest

from tests.e2e.api_helpers import api_event, call, with_body, with_json, with_path
from tests.e2e.conftest import BUCKET

# Every test here runs on the REST API, the HTTP API and a Function URL (tests/e2e/api_helpers.py).
pytestmark = pytest.mark.usefixtures("door")

# The most of the caller's input an answer may carry (the message around it comes on top).
ECHO_LIMIT = 400


def deep_json(depth: int) -> str:
    return '{"key": ' * depth + '"garden-images/a.jpg"' + "}" * depth


@pytest.mark.parametrize(
    ("body", "status", "phrase"),
    [
        ('{"key": "garden-images/\\ud800.jpg"}', 400, "UTF-8"),  # a lone surrogate: no S3 key can hold it
        ("[" * 10_000 + "]" * 10_000, 400, "nested"),
        (deep_json(10_000), 400, "nested"),
        ('{"url": "s3:bucket/key"}', 403, "s3://"),
        ('{"url": "s3:/bucket/key"}', 403, "s3://"),
        (json.dumps({"url": f"https://{BUCKET}.s3.amazonaws.com:abc/garden-images/a.jpg"}), 403, "port"),
        (json.dumps({"url": f"https://{BUCKET}.s3.amazonaws.com:99999/garden-images/a.jpg"}), 403, "port"),
        (json.dumps({"url": f"https://s3.amazonaws.com:-1/{BUCKET}/garden-images/a.jpg"}), 403, "port"),
        (json.dumps({"url": "https://[::1/garden-images/a.jpg"}), 403, "not a URL"),
        (json.dumps({"url": f"s3://{BUCKET}/garden-images/%ED%A0%80.jpg"}), 404, "no object"),
    ],
    ids=["lone-surrogate", "deep-array", "deep-object", "s3-no-slashes", "s3-one-slash", "port-abc", "port-99999",
         "port-negative", "unclosed-ipv6", "percent-surrogate-is-literal"],
)
def test_hostile_json_bodies_get_a_clear_4xx(app, body, status, phrase):
    answer_status, answer = call(app, with_body(api_event("api-diagnose-key.json"), body, "application/json",
                                                base64_encoded=False))
    assert answer_status == status, answer
    assert phrase in answer["message"]


@pytest.mark.parametrize("size", [1_025, 5_000_000])
def test_a_key_over_s3s_1024_bytes_is_400_before_any_request_and_is_not_echoed(app, s3, size, caplog, monkeypatch):
    key = "garden-images/" + "k" * (size - len("garden-images/"))
    calls: list[str] = []
    monkeypatch.setattr(app.container.s3, "head_object", lambda **kw: calls.append("head") or {})
    caplog.set_level(logging.DEBUG)
    for event in (with_json(api_event("api-diagnose-key.json"), {"key": key}),
                  with_json(api_event("api-diagnose-url.json"), {"url": f"s3://{BUCKET}/{key}"}),
                  with_path(api_event("api-get-diagnosis.json"), "/diagnoses/" + key)):
        status, answer = call(app, event)
        assert status == 400, str(answer)[:300]
        assert "1,024" in answer["message"]
        assert len(answer["message"]) < ECHO_LIMIT + 200
    assert calls == []
    assert all(len(record.getMessage()) < 2_000 for record in caplog.records)


def test_a_key_of_multibyte_characters_is_measured_in_utf8_bytes(app):
    key = "garden-images/" + "é" * 510  # 1,020 bytes of 'é' plus the prefix: 1,034 bytes, 524 characters
    status, answer = call(app, with_json(api_event("api-diagnose-key.json"), {"key": key}))
    assert status == 400 and "1,024" in answer["message"]


def test_a_long_foreign_url_is_refused_without_echoing_it(app):
    url = "https://" + "x" * 100_000 + ".example.com/garden-images/a.jpg"
    status, answer = call(app, with_json(api_event("api-diagnose-url.json"), {"url": url}))
    assert status == 403
    assert len(answer["message"]) < ECHO_LIMIT + 200 and "…" in answer["message"]


def test_a_long_content_type_is_refused_without_echoing_it(app):
    status, answer = call(app, with_body(api_event("api-diagnose-upload.json"), b"x", "text/" + "p" * 100_000))
    assert status == 415
    assert len(answer["message"]) < ECHO_LIMIT + 200


def test_long_multipart_field_names_are_not_echoed(app):
    # The parser caps one part's headers at a few KB; ten parts under that cap still add up.
    parts = "".join(f'--b\r\nContent-Disposition: form-data; name="{n}{"f" * 3_000}"\r\n\r\nx\r\n' for n in range(10))
    body = (parts + "--b--\r\n").encode()
    status, answer = call(app, with_body(api_event("api-seed-prediction.json"), body, "multipart/form-data; boundary=b"))
    assert status == 400 and "'image'" in answer["message"]
    assert len(answer["message"]) < ECHO_LIMIT + 200
