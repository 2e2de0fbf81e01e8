"""Issue 20.6: never a 5xx for bad input — JSON bodies written by hand, paths and query strings.

tests/e2e/test_api_properties.py builds its JSON with json.dumps, which cannot write what a
stranger can: integers past Python's 4,300-digit conversion limit, exponents past a float's range,
duplicate keys. These bodies are written as text. Derandomized, bounded: the same examples run in
seconds every time. A raised exception is what API Gateway answers 502 for.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.round3 import call, event_fixture, with_path, with_text_body

FUZZ = settings(max_examples=120, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CHARS = st.sampled_from(["/", ".", "%", "+", " ", "é", "\x00", "\ud800", "?", "#", "&", "=", "\\", '"']) | st.characters()
TEXT = st.lists(CHARS, max_size=30).map("".join)
# Numbers as a stranger writes them: around and past the 4,300-digit limit, huge exponents.
DIGITS = st.sampled_from([1, 4300, 4301, 5000, 20000]) | st.integers(1, 6000)
NUMBERS = (
    st.builds(lambda sign, n: sign + "7" * n, st.sampled_from(["", "-"]), DIGITS)
    | st.builds(lambda n, exp: "1." + "5" * n + "e" + exp, st.integers(0, 5000), st.sampled_from(["999999", "-999999", "+4301"]))
)
STRINGS = TEXT.map(lambda t: json.dumps(t, ensure_ascii=False) if "\ud800" not in t else json.dumps(t))
KEYS = st.sampled_from(["garden-images/a.jpg", "garden-images/", "garden-images/../x.jpg", ""]) | TEXT
VALUES = st.recursive(
    st.sampled_from(["null", "true", "false", "0", "-0", "1e5"]) | NUMBERS | STRINGS,
    lambda inner: st.lists(inner, max_size=3).map(lambda items: "[" + ",".join(items) + "]")
    | st.lists(st.tuples(STRINGS, inner), max_size=3).map(lambda kv: "{" + ",".join(f"{k}:{v}" for k, v in kv) + "}"),
    max_leaves=6,
)
FIELDS = st.sampled_from(['"key"', '"url"', '"extra"']) | STRINGS
BODIES = st.lists(st.tuples(FIELDS, VALUES | KEYS.map(json.dumps)), max_size=4).map(
    lambda kv: "{" + ",".join(f"{k}:{v}" for k, v in kv) + "}") | VALUES
QUERIES = st.none() | st.dictionaries(TEXT, TEXT, max_size=3)


def with_query(event, query):
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = None if query is None else {k: [v] for k, v in query.items()}
    return event


def assert_answered(rig, event):
    response_status, body = call(rig, event)  # an exception here is a 502 from API Gateway
    assert response_status < 500, (response_status, body)


@pytest.fixture
def rig(make_rig):
    return make_rig()


def test_a_json_body_with_a_4301_digit_integer_is_a_400(rig):
    body = '{"key": "garden-images/a.jpg", "n": ' + "7" * 4301 + "}"
    status, answer = call(rig, with_text_body(event_fixture("api-diagnose-key.json"), body))
    assert status == 400, (status, answer)


@FUZZ
@given(body=BODIES, query=QUERIES)
def test_any_json_body_is_answered_below_500(rig, body, query):
    event = with_text_body(event_fixture("api-diagnose-key.json"), body)
    assert_answered(rig, with_query(event, query))


@FUZZ
@given(key=KEYS, query=QUERIES, encode=st.booleans())
def test_any_stored_result_path_and_query_is_answered_below_500(rig, key, query, encode):
    path = "/diagnoses/" + (quote(key, safe="/", errors="surrogatepass") if encode else key)
    assert_answered(rig, with_query(with_path(event_fixture("api-get-diagnosis.json"), path), query))


@settings(FUZZ, max_examples=25)  # each answer renders the OpenAPI document: costlier
@given(route=st.sampled_from(["/docs", "/openapi.json"]), query=QUERIES)
def test_any_query_on_the_docs_routes_is_answered_below_500(rig, route, query):
    event = with_path(event_fixture("api-docs.json"), route)
    assert_answered(rig, with_query(event, query))
