"""The three front doors answer alike: every route, the same status, headers and body on each.

A new route needs a REST fixture in events/api-*.json (the first test says so); from then on it is
sent through the REST API, the HTTP API and a Function URL here, and the answers must agree.
"""

from __future__ import annotations

import copy
import json

import pytest

from tests.conftest import EVENTS
from tests.e2e.api_helpers import DOORS, api_event, respond, through, with_path
from tests.e2e.conftest import BUCKET

REST_FIXTURES = sorted(path.name for path in EVENTS.glob("api-*.json"))
V2_FIXTURES = sorted(path.name for path in [*EVENTS.glob("http-api-*.json"), *EVENTS.glob("function-url-*.json")])
KEY = "garden-images/tomato-leaf.jpg"  # the object every fixture names
VOLATILE = ("latency_ms",)  # an upload is diagnosed afresh on each call: its time varies


def without_stage(event: dict) -> dict:
    """The request through a custom domain (no stage in the path): what HTTP API and Function URL requests are."""
    varied = copy.deepcopy(event)
    varied["requestContext"]["path"] = varied["path"]
    return varied


# POST /uploads answers a fresh key and signature each time; GET /diagnoses' thumbnails are signed to the second.
SIGNED = ("key", "fields", "thumbnail_url")


def steady(body):
    if not isinstance(body, dict):
        return body
    if "fields" in body:  # a presigned POST: the same bucket URL and limits, its key under the same prefix
        return {**{k: v for k, v in body.items() if k not in SIGNED}, "key": body["key"].rsplit("/", 1)[0]}
    if "items" in body:
        return {**body, "items": [{k: v for k, v in item.items() if k not in (*SIGNED[2:], *VOLATILE)} for item in body["items"]]}
    return {k: v for k, v in body.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def leaf(app, leaf_jpeg_module):
    import boto3

    boto3.client("s3").put_object(Bucket=BUCKET, Key=KEY, Body=leaf_jpeg_module, ContentType="image/jpeg")
    return KEY


@pytest.fixture(scope="module")
def leaf_jpeg_module():
    import io

    from model.synthetic import make_leaf

    buffer = io.BytesIO()
    make_leaf(2, seed=4242).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def fixture_event(name: str) -> dict:
    """The fixture, naming this test's bucket where it names an S3 URL."""
    text = (EVENTS / name).read_text(encoding="utf-8").replace("leaf-images-local", BUCKET)
    return json.loads(text)


def test_every_route_has_a_rest_fixture(app):
    from handler.api.routes import make_resolver

    resolver = make_resolver(app.container)
    routes = [(route.method, route.rule) for route in [*resolver._static_routes, *resolver._dynamic_routes]]
    requests = [(event["httpMethod"], event["path"]) for event in map(api_event, REST_FIXTURES)]
    missing = [f"{method} {rule.pattern}" for method, rule in routes
               if not any(m == method and rule.match(path) for m, path in requests)]
    assert not missing, f"add an events/api-*.json fixture for: {missing}"


@pytest.mark.parametrize("name", REST_FIXTURES)
def test_every_route_answers_the_same_through_every_door(app, leaf, name):
    event = without_stage(fixture_event(name))
    respond(app, event, "rest-api")  # a key or URL is diagnosed and stored once; the answers below read it back
    answers = {door: respond(app, event, door) for door in DOORS}
    rest_status, rest_headers, rest_body = answers["rest-api"]
    assert rest_status < 500, rest_body
    for door in ("http-api", "function-url"):
        status, headers, body = answers[door]
        assert (status, headers) == (rest_status, rest_headers), door
        assert steady(body) == steady(rest_body), door


@pytest.mark.parametrize("name", V2_FIXTURES)
def test_the_payload_2_fixtures_answer_as_their_rest_twin(app, leaf, name):
    twin = {"diagnose-key": "api-diagnose-key.json", "get-diagnosis": "api-get-diagnosis.json"}
    rest = without_stage(fixture_event(twin[name.split("-", 2)[-1].removesuffix(".json")]))
    expected = respond(app, rest, "rest-api")
    assert respond(app, fixture_event(name), "rest-api") == expected  # the event as it is, any door's resolver
    assert expected[0] == 200 and expected[2]["image"] == f"s3://{BUCKET}/{KEY}"


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(("method", "path"), [("GET", "/nothing/here"), ("POST", "/docs"), ("DELETE", "/diagnoses")])
def test_an_unknown_route_is_a_404_pointing_to_the_page_and_the_docs(app, door, method, path):
    event = with_path(api_event("api-get-diagnosis.json"), path)
    event["httpMethod"], event["resource"] = method, "/{proxy+}"
    status, _, body = respond(app, event, door)
    assert status == 404, body
    assert body["home"].endswith("/") and body["docs"].endswith("/docs")
    assert "/docs" in body["message"] and path in body["message"]


def test_a_missing_result_is_still_its_own_404(app):
    status, _, body = respond(app, with_path(api_event("api-get-diagnosis.json"), "/diagnoses/garden-images/none.jpg"))
    assert status == 404 and "no diagnosis stored" in body["message"] and "home" not in body


def test_through_a_function_url_the_key_is_read_from_the_raw_path(app, leaf):
    event = through(without_stage(api_event("api-get-diagnosis.json")), "function-url")
    assert "pathParameters" not in event and event["routeKey"] == "$default"
    status, _, body = respond(app, event, "rest-api")
    assert status == 200 and body["image"] == f"s3://{BUCKET}/{KEY}"
