"""POST /uploads' presigned POST: the policy document S3 enforces, decoded and read condition by condition."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from handler.api.errors import BadRequestError, RequestEntityTooLargeError, UnsupportedMediaTypeError
from handler.api.presign import (
    MAX_UPLOAD_BYTES_VARIABLE,
    UploadRequest,
    bucket_origin,
    clean_filename,
    max_upload_bytes,
    new_upload_id,
    presign_config,
    presigned_upload,
    read_upload_request,
)
from handler.api.uploads import IMAGE_TYPES
from handler.errors import ConfigError

BUCKET = "leaf-images-test"
PREFIX = "garden-images/"
MiB = 1024 * 1024


def s3_client(**options):
    """A client of its own session: boto3's default session would cache these fake keys for later tests."""
    return boto3.session.Session(region_name="us-east-1").client("s3", **options)


@pytest.fixture
def s3():
    return s3_client(config=presign_config())  # signing is local: no request is made


def policy_of(post: dict) -> dict:
    return json.loads(base64.b64decode(post["fields"]["policy"]))


def condition(policy: dict, name: str):
    """The value an exact-match condition pins ({"name": v} or ["eq", "$name", v]); None if absent."""
    for item in policy["conditions"]:
        if isinstance(item, dict) and name in item:
            return item[name]
        if isinstance(item, list) and item[0] == "eq" and item[1] == f"${name}":
            return item[2]
    return None


def test_the_policy_pins_bucket_key_size_type_and_expiry(s3):
    before = datetime.now(UTC)
    post = presigned_upload(s3, BUCKET, PREFIX, UploadRequest("leaf.jpg", "image/jpeg"), max_bytes=20 * MiB, expires_in=300)
    policy = policy_of(post)
    assert condition(policy, "bucket") == BUCKET
    assert condition(policy, "key") == post["key"] == post["fields"]["key"]
    assert post["key"].startswith(f"{PREFIX}uploads/") and post["key"].endswith("-leaf.jpg")
    assert ["content-length-range", 1, 20 * MiB] in policy["conditions"]
    assert condition(policy, "Content-Type") == post["fields"]["Content-Type"] == "image/jpeg"
    # No starts-with condition anywhere: nothing in the form is left open to the client.
    assert not [c for c in policy["conditions"] if isinstance(c, list) and c[0] == "starts-with"]
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(seconds=290) <= expires - before <= timedelta(seconds=301)
    assert post["url"].startswith("https://") and BUCKET in post["url"]
    assert condition(policy, "x-amz-algorithm") == post["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert condition(policy, "x-amz-credential").endswith("/us-east-1/s3/aws4_request")


def test_a_client_signing_with_sigv2_is_refused():
    legacy = s3_client()  # botocore's presigning default here: SigV2
    with pytest.raises(ConfigError, match="SigV4"):
        presigned_upload(legacy, BUCKET, PREFIX, UploadRequest("a.jpg", "image/jpeg"), max_bytes=MiB)


def test_the_size_limit_is_the_one_given(s3):
    post = presigned_upload(s3, BUCKET, PREFIX, UploadRequest("a.png", "image/png"), max_bytes=5 * MiB)
    assert ["content-length-range", 1, 5 * MiB] in policy_of(post)["conditions"]
    assert condition(policy_of(post), "Content-Type") == "image/png"


def test_every_upload_gets_its_own_key_even_for_the_same_name(s3):
    keys = {presigned_upload(s3, BUCKET, PREFIX, UploadRequest("leaf.jpg", "image/jpeg"), max_bytes=MiB)["key"] for _ in range(50)}
    assert len(keys) == 50


def test_upload_ids_sort_by_time():
    early = new_upload_id(now=lambda: 1_700_000_000.000, random_bytes=lambda n: b"\xff" * n)
    late = new_upload_id(now=lambda: 1_700_000_000.001, random_bytes=lambda n: b"\x00" * n)
    assert len(early) == len(late) == 26 and early < late


@pytest.mark.parametrize(
    ("given", "cleaned"),
    [
        ("leaf.jpg", "leaf.jpg"),
        ("../../etc/passwd", "passwd.jpg"),
        ("C:\\Users\\me\\IMG 0042.JPG", "IMG-0042.jpg"),
        ("<script>alert(1)</script>.png", "script-png.jpg"),
        ("Dürrfleckenkrankheit – Blatt 3.jpg", "Durrfleckenkrankheit-Blatt-3.jpg"),
        ("ジャガイモの葉.jpg", "photo.jpg"),
        ("...", "photo.jpg"),
        ("no extension", "no-extension.jpg"),
        ("a\x00b\nc.jpeg", "a-b-c.jpeg"),
        ("virus.exe", "virus-exe.jpg"),
        ("IMG_0042.HEIC", "IMG_0042-HEIC.jpg"),
        ("leaf.png", "leaf-png.jpg"),
        ("x" * 250 + ".jpeg", "x" * 59 + ".jpeg"),
    ],
)
def test_the_clients_name_is_cleaned_to_a_short_safe_suffix(given, cleaned):
    assert clean_filename(given, "image/jpeg") == cleaned


def test_a_name_cannot_escape_the_prefix(s3):
    post = presigned_upload(s3, BUCKET, PREFIX, UploadRequest("/../../other/leaf.jpg", "image/jpeg"), max_bytes=MiB)
    assert post["key"].startswith(f"{PREFIX}uploads/") and ".." not in post["key"] and post["key"].count("/") == 2


def test_a_valid_request_is_read():
    assert read_upload_request(b'{"filename": "leaf.jpg", "content_type": "Image/JPEG "}') == UploadRequest("leaf.jpg", "image/jpeg")


def test_every_accepted_type_is_the_apis_list():
    for content_type in IMAGE_TYPES:
        body = json.dumps({"filename": "x", "content_type": content_type}).encode()
        assert read_upload_request(body).content_type == content_type


@pytest.mark.parametrize(
    ("body", "error", "says"),
    [
        (b"", BadRequestError, "JSON object"),
        (b"not json", BadRequestError, "not valid JSON"),
        (b"[1]", BadRequestError, "JSON object"),
        (b"[" * 3000, BadRequestError, "nested too deeply"),
        (b"[" * 5000, RequestEntityTooLargeError, "at most"),
        (b'{"content_type": "image/jpeg"}', BadRequestError, "'filename'"),
        (b'{"filename": "a.jpg"}', BadRequestError, "'content_type'"),
        (b'{"filename": 7, "content_type": "image/jpeg"}', BadRequestError, "'filename'"),
        (b'{"filename": "  ", "content_type": "image/jpeg"}', BadRequestError, "'filename'"),
        (b'{"filename": "a.pdf", "content_type": "application/pdf"}', UnsupportedMediaTypeError, "image/jpeg"),
        (b'{"filename": "a.gif", "content_type": "image/gif"}', UnsupportedMediaTypeError, "not accepted"),
        (b'{"filename": "a.svg", "content_type": "image/svg+xml"}', UnsupportedMediaTypeError, "not accepted"),
        (b'{"filename": "\\ud800.jpg", "content_type": "image/jpeg"}', BadRequestError, "lone surrogate"),
        (json.dumps({"filename": "a" * 256, "content_type": "image/jpeg"}).encode(), BadRequestError, "256 characters"),
        (json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "pad": "x" * 5000}).encode(), RequestEntityTooLargeError, "bytes"),
    ],
)
def test_bad_requests_are_refused_saying_why(body, error, says):
    with pytest.raises(error) as raised:
        read_upload_request(body)
    assert says in raised.value.msg


def test_a_huge_content_type_is_not_echoed_whole():
    body = json.dumps({"filename": "a.jpg", "content_type": "x" * 3000}).encode()
    with pytest.raises(UnsupportedMediaTypeError) as raised:
        read_upload_request(body)
    assert len(raised.value.msg) < 400


def test_the_upload_limit_defaults_to_the_functions_and_cannot_exceed_it():
    assert max_upload_bytes({}, 20 * MiB) == 20 * MiB
    assert max_upload_bytes({MAX_UPLOAD_BYTES_VARIABLE: "1048576"}, 20 * MiB) == MiB
    for bad in ("0", "-1", "lots", str(21 * MiB)):
        with pytest.raises(ConfigError, match=MAX_UPLOAD_BYTES_VARIABLE):
            max_upload_bytes({MAX_UPLOAD_BYTES_VARIABLE: bad}, 20 * MiB)


def test_the_bucket_origin_is_where_the_form_posts(s3):
    post = presigned_upload(s3, BUCKET, PREFIX, UploadRequest("a.jpg", "image/jpeg"), max_bytes=MiB)
    assert post["url"].rstrip("/") == bucket_origin(s3, BUCKET)
    local = s3_client(endpoint_url="http://127.0.0.1:5000", config=presign_config())
    assert bucket_origin(local, BUCKET) == "http://127.0.0.1:5000"


def test_the_extension_follows_the_content_type():
    assert clean_filename("leaf.png", "image/png") == "leaf.png"
    assert clean_filename("leaf.WEBP", "image/webp") == "leaf.webp"
    assert clean_filename("leaf.jpg", "image/webp") == "leaf-jpg.webp"
