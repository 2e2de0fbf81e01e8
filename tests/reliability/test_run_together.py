"""The concurrency tests' helper: a thread that hangs or raises fails the test instead of passing."""

import threading

import pytest

from tests.threads import run_together


def test_a_hung_thread_fails_the_test():
    never = threading.Event()
    with pytest.raises(AssertionError, match="still running"):
        run_together([lambda: None, never.wait], timeout=0.2)
    never.set()


def test_an_exception_on_a_thread_reaches_the_test():
    def boom():
        raise ValueError("on a worker")

    with pytest.raises(ValueError, match="on a worker"):
        run_together([boom, lambda: None])


def test_the_targets_run_at_the_same_time():
    meet = threading.Barrier(3, timeout=5)
    run_together([meet.wait] * 3)  # a BrokenBarrierError unless all three are running at once
