"""GET /diagnoses/{key}?wait=N: wait a bounded time for a stored result instead of the app polling.

The wait ends before API Gateway's 29 s integration timeout and before the invocation's own
deadline, and looks again with growing pauses: a few reads a second at first, then one every two
seconds, never a busy loop. Clock and sleep are injected so tests run without waiting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

from handler.api.errors import BadRequestError, NotFoundError, shown

T = TypeVar("T")

API_TIMEOUT_S = 29.0  # API Gateway's integration timeout (REST and HTTP API)
MAX_WAIT_S = 25.0  # what ?wait= is cut to: the reply, a cold start's last read and the network fit in the rest
DEADLINE_MARGIN_S = 2.0  # kept back from the invocation's remaining time, to answer before Lambda ends it
FIRST_PAUSE_S = 0.2
PAUSE_GROWTH = 1.5
LONGEST_PAUSE_S = 2.0


def wait_seconds(requested: str | None, remaining_ms: int | None = None) -> float:
    """?wait=N as seconds to wait: 0 when absent, cut to MAX_WAIT_S and to the invocation's remaining time."""
    if requested is None or requested == "":
        return 0.0
    try:
        value = float(requested)
    except ValueError as exc:
        raise BadRequestError(f"wait must be a number of seconds (0 to {MAX_WAIT_S:g}); got {shown(requested, 40)!r}") from exc
    if not math.isfinite(value) or value < 0:
        raise BadRequestError(f"wait must be a number of seconds (0 to {MAX_WAIT_S:g}); got {shown(requested, 40)!r}")
    budget = min(value, MAX_WAIT_S)
    if remaining_ms is not None:
        budget = min(budget, remaining_ms / 1000 - DEADLINE_MARGIN_S)
    return max(budget, 0.0)


def wait_for(
    lookup: Callable[[], T],
    seconds: float,
    *,
    pending: tuple[type[Exception], ...] = (NotFoundError,),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """lookup()'s answer, asking again while it raises `pending` until `seconds` have passed; then its last error."""
    deadline = clock() + seconds
    pause = FIRST_PAUSE_S
    while True:
        try:
            return lookup()
        except pending:
            left = deadline - clock()
            if left <= 0:
                raise
        sleep(min(pause, left))
        pause = min(pause * PAUSE_GROWTH, LONGEST_PAUSE_S)
