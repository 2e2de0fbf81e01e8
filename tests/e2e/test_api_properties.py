"""Property: whatever a stranger sends any route, the answer is 200, a 4xx or 503, never an error.

The events/api-*.json fixtures are the templates; Hypothesis varies body, content type, path, key,
URL and the base64 flag, and the event goes through handler.app.lambda_handler like any other.
Derandomized with a bounded example count, so CI runs the same examples every time.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.context import LocalContext
from tests.conftest import EVENTS
from tests.e2e.api_helpers import through
from tests.e2e.conftest import BUCKET

TEMPLATES = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(EVENTS.glob("api-*.json"))}
EXAMPLES = 300

# Any code point, and often the ones that break things: lone surrogates, separators, escapes, NUL.
# (st.text draws from its alphabet in its own way and gives these far less often than a list does.)
CHARS = st.sampled_from(["\ud800", "\udfff", "/", ".", "%", "+", " ", "é", "\x00", ":", "?", "#", "@", "["]) | st.characters(
    exclude_categories=())
TEXT = st.lists(CHARS, max_size=40).map("".join)
# Mostly the real prefix: what gets past the prefix check reaches S3 and DynamoDB.
PREFIXES = st.just("garden-images/") | st.sampled_from(["garden-images/../", "other/", "", "/garden-images/", "garden-images/./"])
KEYS = (
    st.builds(lambda prefix, rest: prefix + rest, PREFIXES, TEXT)
    | st.integers(1_000, 3_000).map(lambda size: "garden-images/" + "k" * size)  # around S3's 1,024-byte limit
    | TEXT
)
HOSTS = st.sampled_from([f"{BUCKET}.s3.amazonaws.com", f"{BUCKET}.s3.eu-west-3.amazonaws.com", "s3.amazonaws.com",
                         f"s3.amazonaws.com/{BUCKET}", "example.com", "[::1", "169.254.169.254", ""]) | TEXT
PORTS = st.sampled_from(["", ":443", ":abc", ":99999", ":-1", ":0", ":"]) | st.lists(CHARS, max_size=6).map(lambda p: ":" + "".join(p))
SCHEMES = st.sampled_from(["s3://", "s3:", "s3:/", "https://", "http://", "ftp://", "file://", "", "HTTPS://"])
URLS = st.builds(lambda scheme, host, port, key: f"{scheme}{host}{port}/{key}", SCHEMES, HOSTS, PORTS, KEYS) | TEXT
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
JSON_BODIES = (
    st.builds(lambda key: {"key": key}, KEYS)
    | st.builds(lambda url: {"url": url}, URLS)
    | st.dictionaries(st.sampled_from(["key", "url", "path"]), JSON_VALUES | KEYS, max_size=3)
    | JSON_VALUES
).map(json.dumps) | st.integers(1, 3_000).map(lambda depth: "[" * depth + "]" * depth)
CONTENT_TYPES = st.none() | st.sampled_from([
    "application/json", "application/vnd.api+json", "image/jpeg", "image/png", "image/webp", "text/plain",
    "multipart/form-data", "multipart/form-data; boundary=b", 'multipart/form-data; boundary="b"', "",
]) | TEXT
MULTIPART = st.builds(
    lambda name, payload, close: f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode(errors="surrogatepass") + payload
    + (b"\r\n--b--\r\n" if close else b""),
    st.sampled_from(["image", "file", ""]) | TEXT, st.binary(max_size=64), st.booleans(),
)
BODIES = st.none() | TEXT | st.binary(max_size=200) | JSON_BODIES | MULTIPART
PATHS = (
    st.builds(lambda key: "/diagnoses/" + key, KEYS)
    | st.builds(lambda raw: "/diagnoses/garden-images/" + "".join(f"%{b:02X}" for b in raw), st.binary(max_size=12))
    | st.sampled_from(["/diagnoses", "/diagnoses/", "/Diagnosis/prediction", "/docs", "/openapi.json", "/", "//"])
    | TEXT
)


@st.composite
def api_events(draw: st.DrawFn) -> dict[str, Any]:
    event = copy.deepcopy(TEMPLATES[draw(st.sampled_from(sorted(TEMPLATES)))])
    if draw(st.booleans()):
        body = draw(BODIES)
        flag = draw(st.sampled_from([True, False, None]))
        if isinstance(body, bytes):
            body = base64.b64encode(body).decode("ascii") if flag or draw(st.booleans()) else body.decode("latin-1")
        event["body"], event["isBase64Encoded"] = body, flag
    if draw(st.booleans()):
        content_type = draw(CONTENT_TYPES)
        for headers in (event["headers"], event["multiValueHeaders"]):
            headers.pop("Content-Type", None)
            if content_type is not None:
                headers["Content-Type"] = content_type if headers is event["headers"] else [content_type]
    if draw(st.booleans()):
        event["path"] = draw(PATHS)
        event["requestContext"]["path"] = "/v1" + event["path"]
    if draw(st.booleans()):
        event["httpMethod"] = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]))
    return event


PROPERTY = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def assert_answered(app: Any, event: dict[str, Any], door: str = "rest-api") -> None:
    """200, a 4xx or 503; JSON (the docs page aside); an error message of bounded length."""
    response = app.lambda_handler(through(event, door), LocalContext())  # an exception here is the Lambda error ruled out
    status = response["statusCode"]
    assert status == 200 or 400 <= status < 500 or status == 503, (status, response.get("body", "")[:300])
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    if status == 200 and _content_type(response).startswith("text/html"):
        return  # the docs page and the results page ("/", "//", "" reach it too); every other answer is JSON
    answer = json.loads(body)
    if status != 200:
        assert answer["statusCode"] == status and isinstance(answer["message"], str)
        assert len(answer["message"]) < 1_000, answer["message"][:300]


def _content_type(response: dict[str, Any]) -> str:
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    multi = {k.lower(): v for k, v in (response.get("multiValueHeaders") or {}).items()}
    return str(headers.get("content-type") or (multi.get("content-type") or [""])[0])


@PROPERTY
@given(event=api_events())
def test_any_request_to_any_route_is_answered_200_4xx_or_503(app, event):
    assert_answered(app, event)


@PROPERTY
@given(body=JSON_BODIES, content_type=st.sampled_from(["application/json", "application/problem+json"]))
def test_any_json_naming_an_object_is_answered_200_4xx_or_503(app, body, content_type):
    event = copy.deepcopy(TEMPLATES["api-diagnose-key.json"])
    event["body"], event["isBase64Encoded"] = body, False
    event["headers"]["Content-Type"], event["multiValueHeaders"]["Content-Type"] = content_type, [content_type]
    assert_answered(app, event)


@PROPERTY
@given(template=st.sampled_from(sorted(name for name, event in TEMPLATES.items() if event["httpMethod"] == "POST")),
       body=BODIES, content_type=CONTENT_TYPES, flag=st.sampled_from([True, False, None]))
def test_any_body_to_any_post_route_is_answered_200_4xx_or_503(app, template, body, content_type, flag):
    event = copy.deepcopy(TEMPLATES[template])
    if isinstance(body, bytes):
        body = base64.b64encode(body).decode("ascii") if flag else body.decode("latin-1")
    event["body"], event["isBase64Encoded"] = body, flag
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("Content-Type", None)
    if content_type is not None:
        event["headers"]["Content-Type"], event["multiValueHeaders"]["Content-Type"] = content_type, [content_type]
    assert_answered(app, event)


@PROPERTY
@given(path=PATHS)
def test_any_path_asking_for_a_stored_result_is_answered_200_4xx_or_503(app, path):
    event = copy.deepcopy(TEMPLATES["api-get-diagnosis.json"])
    event["path"], event["requestContext"]["path"] = path, "/v1" + path
    assert_answered(app, event)


@PROPERTY
@given(path=PATHS, door=st.sampled_from(["http-api", "function-url"]))
def test_any_path_through_a_payload_2_door_is_answered_200_4xx_or_503(app, path, door):
    event = copy.deepcopy(TEMPLATES["api-get-diagnosis.json"])
    event["path"], event["requestContext"]["path"] = path, path
    assert_answered(app, event, door)
