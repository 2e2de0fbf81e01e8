"""local.client's SigV4 signing and API keys: what reaches the server is checked with botocore's own signer."""

from __future__ import annotations

import re

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.client import ApiError, SigV4, api_session, call_json, signing_target
from tests.integration.local.standin_api import Seen, stand_in_api

CREDENTIALS = Credentials("AKIDSTANDIN", "stand-in-secret", "stand-in-session-token")
_AUTHORIZATION = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                            r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})")


def expected_signature(seen: Seen, url: str, service: str, region: str, credentials: Credentials = CREDENTIALS) -> str:
    """botocore's signature for the request as the server received it: its signed headers only."""
    signed_names = _AUTHORIZATION.fullmatch(seen.headers["Authorization"]).group(5).split(";")
    lower = {name.lower(): value for name, value in seen.headers.items()}
    request = AWSRequest(method=seen.method, url=f"{url}{seen.path}", data=seen.body,
                         headers={name: lower[name] for name in signed_names})
    request.context["timestamp"] = lower["x-amz-date"]
    signer = SigV4Auth(credentials, service, region)
    return signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)


@pytest.mark.parametrize(("service", "region"), [("execute-api", "eu-west-1"), ("lambda", "us-east-2")])
def test_a_signed_request_carries_a_signature_botocore_verifies(service, region):
    with stand_in_api() as api:
        session = requests.Session()
        session.auth = SigV4(service, region, CREDENTIALS)
        call_json("POST", f"{api.url}/uploads", session, json={"filename": "Blatt ü.jpg", "content_type": "image/jpeg"})
        call_json("GET", f"{api.url}/diagnoses/garden-images/a%20b.jpg", session, allow=(404,), params={"wait": 20})
    for seen in api.requests:
        match = _AUTHORIZATION.fullmatch(seen.headers["Authorization"])
        assert match, seen.headers["Authorization"]
        key_id, day, signed_region, signed_service, signed_names, signature = match.groups()
        assert (key_id, signed_region, signed_service) == ("AKIDSTANDIN", region, service)
        assert seen.headers["X-Amz-Date"].startswith(day)
        assert seen.headers["X-Amz-Security-Token"] == "stand-in-session-token"
        assert {"host", "x-amz-date", "x-amz-security-token"} <= set(signed_names.split(";"))
        assert signature == expected_signature(seen, api.url, service, region)
    assert "content-type" in _AUTHORIZATION.fullmatch(api.requests[0].headers["Authorization"]).group(5)


def test_the_check_fails_for_another_body_or_another_key():
    with stand_in_api() as api:
        session = requests.Session()
        session.auth = SigV4("execute-api", "eu-west-1", CREDENTIALS)
        call_json("POST", f"{api.url}/uploads", session, json={"filename": "a.jpg", "content_type": "image/jpeg"})
    (seen,) = api.requests
    signature = _AUTHORIZATION.fullmatch(seen.headers["Authorization"]).group(6)
    tampered = Seen(seen.method, seen.path, seen.headers, seen.body.replace(b"a.jpg", b"b.jpg"))
    assert expected_signature(tampered, api.url, "execute-api", "eu-west-1") != signature
    other = Credentials("AKIDSTANDIN", "another-secret", "stand-in-session-token")
    assert expected_signature(seen, api.url, "execute-api", "eu-west-1", other) != signature


def test_an_api_key_is_sent_and_signed_with_the_request(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMCHAIN")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "chain-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    with stand_in_api() as api:
        session = api_session(api.url, auth="iam", api_key="k-123", region="eu-west-1")
        call_json("GET", f"{api.url}/diagnoses/x.jpg", session, allow=(404,))
    (seen,) = api.requests
    assert seen.headers["x-api-key"] == "k-123"
    match = _AUTHORIZATION.fullmatch(seen.headers["Authorization"])
    assert match.group(1) == "AKIDFROMCHAIN" and "x-api-key" in match.group(5).split(";")
    assert match.group(6) == expected_signature(seen, api.url, "execute-api", "eu-west-1", Credentials("AKIDFROMCHAIN", "chain-secret"))


def test_without_auth_nothing_is_signed():
    with stand_in_api() as api:
        call_json("GET", f"{api.url}/diagnoses/x.jpg", api_session(api.url), allow=(404,))
    (seen,) = api.requests
    assert "Authorization" not in seen.headers and "x-api-key" not in seen.headers


@pytest.mark.parametrize(
    ("url", "service", "region"),
    [
        ("https://abc123.execute-api.eu-central-1.amazonaws.com/Prod", "execute-api", "eu-central-1"),
        ("https://abcdefghijklmnop.lambda-url.ap-south-1.on.aws/", "lambda", "ap-south-1"),
    ],
)
def test_the_service_and_region_come_from_the_url(url, service, region):
    assert signing_target(url) == (service, region)


def test_a_custom_domain_needs_a_region(monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(ApiError, match="--region"):
        signing_target("https://leaves.example.com")
    assert signing_target("https://leaves.example.com", "eu-west-3") == ("execute-api", "eu-west-3")
