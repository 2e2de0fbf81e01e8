"""Event detection: API Gateway proxy events and S3 events can never be taken for each other."""

import json

import pytest

from handler.sources import api, s3
from tests.conftest import EVENTS

API_EVENTS = sorted(EVENTS.glob("api-*.json"))
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
