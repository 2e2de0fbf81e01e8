"""Event detection: HTTP requests (REST, HTTP API, Function URL) and S3 events can never be taken for each other."""

import json

import pytest

from handler.sources import api, s3
from tests.conftest import EVENTS

API_EVENTS = sorted(EVENTS.glob("api-*.json"))
V2_EVENTS = sorted([*EVENTS.glob("http-api-*.json"), *EVENTS.glob("function-url-*.json")])
S3_EVENTS = sorted(EVENTS.glob("s3-*.json"))


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_there_are_events_of_both_kinds():
    assert len(API_EVENTS) >= 8 and len(S3_EVENTS) >= 5


@pytest.mark.parametrize("path", API_EVENTS, ids=lambda p: p.name)
def test_api_events_are_recognised_as_api_and_never_as_s3(path):
    event = load(path)
    assert api.is_rest_proxy_event(event)
    assert not s3.is_notification(event) and not s3.is_test_event(event)


@pytest.mark.parametrize("path", S3_EVENTS, ids=lambda p: p.name)
def test_s3_events_are_never_taken_for_api_events(path):
    assert not api.is_rest_proxy_event(load(path))
    assert api.front_door(load(path)) is None


@pytest.mark.parametrize("path", V2_EVENTS, ids=lambda p: p.name)
def test_payload_2_events_are_neither_rest_nor_s3(path):
    event = load(path)
    assert api.is_payload_v2_event(event) and not api.is_rest_proxy_event(event)
    assert not s3.is_notification(event) and not s3.is_test_event(event)


def test_a_payload_2_event_is_a_function_url_request_only_through_a_lambda_url_host():
    event = load(EVENTS / "http-api-get-diagnosis.json")
    assert api.front_door(event) is api.FrontDoor.HTTP_API
    event["requestContext"]["domainName"] = "abc123.lambda-url.eu-west-1.on.aws"
    assert api.front_door(event) is api.FrontDoor.FUNCTION_URL


def test_an_s3_notification_with_http_looking_keys_is_still_not_an_api_event():
    event = load(EVENTS / "s3-put.json")
    event.update({"httpMethod": "POST", "path": "/diagnoses", "resource": "/diagnoses", "requestContext": {}})
    assert not api.is_rest_proxy_event(event)


@pytest.mark.parametrize(
    "event",
    [{}, {"httpMethod": "GET"}, {"httpMethod": "GET", "path": "/docs", "resource": "/docs"},
     {"version": "2.0", "routeKey": "GET /docs", "rawPath": "/docs", "requestContext": {"http": {}}}],
)
def test_partial_or_http_api_v2_shapes_are_not_rest_proxy_events(event):
    assert not api.is_rest_proxy_event(event)


@pytest.mark.parametrize(
    "event",
    [{"version": "2.0"}, {"version": "1.0", "routeKey": "$default", "rawPath": "/", "requestContext": {"http": {}}},
     {"version": "2.0", "routeKey": "$default", "rawPath": "/", "requestContext": {}},
     {"version": "2.0", "routeKey": "$default", "rawPath": "/", "requestContext": {"http": {}}, "Records": []}],
)
def test_partial_payload_2_shapes_are_no_http_request(event):
    assert api.front_door(event) is None
