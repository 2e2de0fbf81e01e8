"""Every fixture in events/ is recognised by exactly one source (or as an API request): detection cannot depend on order."""

import json

import pytest

from handler.domain import ObjectRef
from handler.errors import UnknownEvent
from handler.sources import api
from handler.sources.dispatch import EVENT_SOURCES, recognise
from tests.conftest import EVENTS

API = "HttpRequest"  # not a source: the handler gives these to the resolver before any source is asked
FIXTURES = sorted(EVENTS.glob("*.json"))
KINDS = {"api": API, "http-api": API, "function-url": API, "batch-ops": "JobInvocations",
         "eventbridge": "ObjectCreatedEvents", "s3-test-event": "S3TestEvents", "s3": "Notifications", "sqs": "Batches"}
DOORS = {"api": api.FrontDoor.REST_API, "http-api": api.FrontDoor.HTTP_API, "function-url": api.FrontDoor.FUNCTION_URL}


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def kind(name: str) -> str:
    """The source a fixture's name promises, by its longest matching prefix."""
    prefixes = [prefix for prefix in KINDS if name.startswith(prefix)]
    assert prefixes, f"events/{name}: name it after its source, starting with one of {sorted(KINDS)}"
    return KINDS[max(prefixes, key=len)]


def recognised_by(event):
    names = [type(s).__name__ for s in EVENT_SOURCES if s.recognises(event)]
    return names + [API] if api.front_door(event) is not None else names


def test_every_source_has_a_fixture():
    assert {kind(path.name) for path in FIXTURES} == {type(source).__name__ for source in EVENT_SOURCES} | {API}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_each_fixture_matches_exactly_its_own_source(path):
    assert recognised_by(load(path)) == [kind(path.name)]


@pytest.mark.parametrize("path", [p for p in FIXTURES if kind(p.name) != API], ids=lambda p: p.name)
def test_each_fixture_parses_to_the_objects_it_names(path):
    parsed = recognise(load(path)).parse(load(path))
    assert all(isinstance(ref, ObjectRef) and ref.bucket and ref.key for ref in parsed.refs)


@pytest.mark.parametrize("path", [p for p in FIXTURES if kind(p.name) == API], ids=lambda p: p.name)
def test_each_http_request_goes_to_the_resolver_of_its_own_front_door(path):
    prefix = max((prefix for prefix in DOORS if path.name.startswith(prefix)), key=len)
    assert api.front_door(load(path)) is DOORS[prefix]


def test_an_unknown_event_names_every_accepted_shape_once():
    with pytest.raises(UnknownEvent) as raised:
        recognise({"hello": "world"})
    message = str(raised.value)
    assert all(message.count(shape) == 1 for shape in [api.SHAPE, *(source.shape for source in EVENT_SOURCES)])
