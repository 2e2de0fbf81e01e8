"""Completion events: which outcomes put one, how many calls, what a failing PutEvents costs."""

from __future__ import annotations

import json
import logging

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from handler.completion import DETAIL_TYPE, SOURCE, CompletionEvents, stored_records
from handler.domain import DiagnosisRecord, ObjectRef, Outcome
from handler.errors import TransientError

BUS = "garden-bus"


def record(n: int, status: str = "ok") -> DiagnosisRecord:
    return DiagnosisRecord(image=f"s3://b/garden-images/{n}.jpg", status=status, model_version="m",
                           diagnosed_at="2026-12-03T10:00:00.000Z", latency_ms=1.0, label="L" if status == "ok" else None,
                           confidence=0.9 if status == "ok" else None, error=None if status == "ok" else "not an image")


def outcome(n: int, status: str = "ok") -> Outcome:
    ref = ObjectRef("b", f"garden-images/{n}.jpg")
    return Outcome(ref, status, None, None if status == "skipped" else record(n, status))


class Events:
    """A PutEvents stand-in: each call answers with the next scripted failure codes (None: accepted)."""

    def __init__(self, *script) -> None:
        self.calls: list[list[dict]] = []
        self._script = list(script)

    def put_events(self, Entries):
        self.calls.append(Entries)
        step = self._script.pop(0) if self._script else None
        if isinstance(step, Exception):
            raise step
        codes = step or [None] * len(Entries)
        answers = [{"ErrorCode": code, "ErrorMessage": "x"} if code else {"EventId": "e"} for code in codes]
        return {"FailedEntryCount": sum(1 for c in codes if c), "Entries": answers}


def test_only_stored_results_put_events_skips_and_retries_none():
    results = [outcome(1), outcome(2, "rejected"), outcome(3, "skipped"), TransientError("x")]
    assert [r.image for r in stored_records(results)] == ["s3://b/garden-images/1.jpg", "s3://b/garden-images/2.jpg"]


def test_each_event_carries_the_stored_record_as_its_detail_on_the_bus():
    events = Events()
    assert CompletionEvents(events, BUS).announce([outcome(1), outcome(2, "rejected")]) == 0
    (entries,) = events.calls
    assert [(e["EventBusName"], e["Source"], e["DetailType"]) for e in entries] == [(BUS, SOURCE, DETAIL_TYPE)] * 2
    assert json.loads(entries[1]["Detail"]) == record(2, "rejected").as_dict()


def test_twenty_five_results_take_three_calls_of_at_most_ten():
    events = Events()
    CompletionEvents(events, BUS).announce([outcome(n) for n in range(25)])
    assert [len(call) for call in events.calls] == [10, 10, 5]


def test_nothing_stored_makes_no_call():
    events = Events()
    CompletionEvents(events, BUS).announce([outcome(1, "skipped")])
    assert events.calls == []


def test_entries_failed_inside_a_200_are_retried_alone_with_backoff():
    events, slept = Events(["ThrottlingException", None], ["InternalFailure"]), []
    assert CompletionEvents(events, BUS, sleep=slept.append).announce([outcome(1), outcome(2)]) == 0
    assert [len(call) for call in events.calls] == [2, 1, 1]
    assert json.loads(events.calls[1][0]["Detail"])["image"].endswith("1.jpg")
    assert slept == [0.1, 0.2]


def test_a_put_that_keeps_failing_is_logged_and_counted_never_raised(caplog, monkeypatch):
    counted = []
    monkeypatch.setattr("handler.completion.metrics.add_metric", lambda **kw: counted.append(kw))
    events = Events(EndpointConnectionError(endpoint_url="x"), ["InternalFailure"], ["InternalFailure"])
    caplog.set_level(logging.WARNING)
    assert CompletionEvents(events, BUS, sleep=lambda s: None).announce([outcome(1)]) == 1
    assert len(events.calls) == 3
    assert [(c["name"], c["value"]) for c in counted] == [("CompletionEventsFailed", 1)]
    (line,) = [r for r in caplog.records if r.getMessage().startswith("completion event not put")]
    assert line.error == "InternalFailure" and line.image.endswith("1.jpg")


def test_access_denied_is_not_retried():
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutEvents")
    events = Events(denied)
    assert CompletionEvents(events, BUS, sleep=lambda s: pytest.fail("no backoff")).announce([outcome(1)]) == 1
    assert len(events.calls) == 1
