"""The long-poll: bounded by the API's timeout and the invocation's deadline, pausing between looks."""

from __future__ import annotations

import pytest

from handler.api.errors import BadRequestError, NotFoundError, ServiceError
from handler.api.longpoll import API_TIMEOUT_S, LONGEST_PAUSE_S, MAX_WAIT_S, wait_for, wait_seconds


class FakeClock:
    """A clock that moves only when the code sleeps: no test waits in real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "a pause of nothing is a busy loop"
        self.pauses.append(seconds)
        self.now += seconds


def pending_until(clock: FakeClock, ready_at: float, answer: dict):
    looks: list[float] = []

    def lookup() -> dict:
        looks.append(clock.now)
        if clock.now < ready_at:
            raise NotFoundError("no diagnosis stored yet")
        return answer

    return lookup, looks


def test_a_result_already_stored_is_answered_at_once():
    clock = FakeClock()
    lookup, looks = pending_until(clock, 0, {"label": "healthy"})
    assert wait_for(lookup, 20, clock=clock, sleep=clock.sleep) == {"label": "healthy"}
    assert len(looks) == 1 and clock.pauses == []


def test_a_result_stored_during_the_wait_is_answered_soon_after():
    clock = FakeClock()
    lookup, looks = pending_until(clock, 1003.0, {"label": "blight"})
    assert wait_for(lookup, 20, clock=clock, sleep=clock.sleep) == {"label": "blight"}
    assert 1003.0 <= clock.now <= 1003.0 + LONGEST_PAUSE_S
    assert len(looks) < 12  # a handful of reads, not a busy loop


def test_the_pauses_grow_and_are_capped():
    clock = FakeClock()
    lookup, _ = pending_until(clock, float("inf"), {})
    with pytest.raises(NotFoundError):
        wait_for(lookup, 20, clock=clock, sleep=clock.sleep)
    whole = clock.pauses[:-1]  # the last one is cut to the deadline
    assert whole == sorted(whole) and whole[0] < whole[-1] == LONGEST_PAUSE_S


def test_no_result_within_the_wait_answers_the_last_not_found_at_the_deadline():
    clock = FakeClock()
    lookup, looks = pending_until(clock, float("inf"), {})
    with pytest.raises(NotFoundError, match="no diagnosis stored yet"):
        wait_for(lookup, 20, clock=clock, sleep=clock.sleep)
    assert clock.now == pytest.approx(1020.0) and looks[-1] == pytest.approx(1020.0)


def test_without_a_wait_it_looks_once():
    clock = FakeClock()
    lookup, looks = pending_until(clock, float("inf"), {})
    with pytest.raises(NotFoundError):
        wait_for(lookup, 0, clock=clock, sleep=clock.sleep)
    assert len(looks) == 1 and clock.pauses == []


def test_other_errors_are_not_waited_on():
    clock = FakeClock()

    def lookup() -> dict:
        raise ServiceError(503, "the table is throttling")

    with pytest.raises(ServiceError):
        wait_for(lookup, 20, clock=clock, sleep=clock.sleep)
    assert clock.pauses == []


@pytest.mark.parametrize(
    ("requested", "remaining_ms", "seconds"),
    [
        (None, None, 0.0),
        ("", None, 0.0),
        ("0", None, 0.0),
        ("20", None, 20.0),
        ("2.5", None, 2.5),
        ("600", None, MAX_WAIT_S),
        ("20", 10_000, 8.0),  # the invocation ends in 10 s: answer 2 s before
        ("20", 1_000, 0.0),
        ("20", 900_000, 20.0),
    ],
)
def test_the_wait_is_bounded_by_the_api_and_the_invocation(requested, remaining_ms, seconds):
    assert wait_seconds(requested, remaining_ms) == pytest.approx(seconds)
    assert wait_seconds(requested, remaining_ms) < API_TIMEOUT_S


@pytest.mark.parametrize("bad", ["-1", "soon", "nan", "inf", "1e999", "\ud800", "9" * 5000])
def test_a_wait_that_is_no_number_of_seconds_is_a_bad_request(bad):
    with pytest.raises(BadRequestError, match="wait must be") as raised:
        wait_seconds(bad)
    assert len(raised.value.msg) < 200
