"""Threads for concurrency tests: they start together, and one that hangs fails the test."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

JOIN_TIMEOUT_S = 60.0


def run_together(targets: Sequence[Callable[[], object]], timeout: float = JOIN_TIMEOUT_S) -> None:
    """Run every target on its own thread, released at once by one barrier; AssertionError when any hangs."""
    gate = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def run(target: Callable[[], object]) -> None:
        gate.wait()
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread, which re-raises it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(target,), daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    hung = [thread.name for thread in threads if thread.is_alive()]
    assert not hung, f"{len(hung)} thread(s) still running after {timeout} s: {hung}"
    if errors:
        raise errors[0]
