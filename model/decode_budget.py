"""A per-container memory budget for image decodes: each waits until its bytes fit, or is refused."""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache

from model.errors import ImageTooLarge

MIB = 1024 * 1024
# Of what the function has beyond the model and runtime, decodes may hold 40%: the rest is for the
# object bodies in flight (up to 20 MB each, a batch's worth), inference, the interpreter's growth
# and what the allocator has not yet handed back. Measured: with it, an SQS batch of 49 MP images
# peaks under half the function's memory (tests/reliability/test_memory.py).
DECODE_SHARE = 0.4
# glibc serves allocations below its mmap threshold from heaps it rarely shrinks, and raises the
# threshold (to 32 MiB) after the first large free: image buffers freed by one decode then stay in
# the process, and four threads' heaps add up (measured: 0.8-1.3 GB peak for a batch whose decodes
# never held more than 0.75 GB at once; 0.7 GB with this). A fixed 1 MiB threshold sends every image buffer to mmap,
# so a freed decode is given back to the OS at once.
MMAP_THRESHOLD = 1 * 1024 * 1024
_M_MMAP_THRESHOLD = -3  # <malloc.h>
# Where /proc cannot tell (not Linux): the handler with the model loaded, measured on Linux (~100 MiB), rounded up.
FALLBACK_BASELINE = 160 * MIB


class DecodeBudget:
    """Bytes that concurrent decodes may hold at once; `reserve` blocks until a decode's share is free."""

    def __init__(self, total: int, description: str) -> None:
        self.total = total
        self.description = description  # how the total was derived, for the rejection message
        self._held = 0
        self._freed = threading.Condition()

    @property
    def held(self) -> int:
        with self._freed:
            return self._held

    @contextmanager
    def reserve(self, cost: int, what: str) -> Iterator[None]:
        """Hold `cost` bytes while the block runs; ImageTooLarge at once if it could never fit."""
        if cost > self.total:
            raise ImageTooLarge(
                f"{what} needs about {cost / MIB:,.0f} MiB to decode; the decode budget is "
                f"{self.total / MIB:,.0f} MiB ({self.description})"
            )
        with self._freed:
            self._freed.wait_for(lambda: self._held + cost <= self.total)
            self._held += cost
        try:
            yield
        finally:
            with self._freed:
                self._held -= cost
                self._freed.notify_all()


def budget_from(env: Mapping[str, str], baseline: int) -> DecodeBudget | None:
    """DECODE_SHARE of AWS_LAMBDA_FUNCTION_MEMORY_SIZE beyond `baseline`; None outside Lambda (no limit known)."""
    raw = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "").strip()
    if not raw.isdigit() or int(raw) == 0:
        return None
    memory = int(raw) * MIB
    total = max(0, int((memory - baseline) * DECODE_SHARE))
    description = (f"{DECODE_SHARE:.0%} of AWS_LAMBDA_FUNCTION_MEMORY_SIZE={raw} MB beyond the "
                   f"{baseline / MIB:,.0f} MiB the model and runtime use")
    return DecodeBudget(total, description)


def resident_bytes() -> int:
    """This process's resident memory now (VmRSS), or FALLBACK_BASELINE where /proc does not exist."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return FALLBACK_BASELINE


def return_freed_buffers_to_the_os() -> bool:
    """Fix glibc's mmap threshold at MMAP_THRESHOLD; False where there is no glibc (macOS, musl)."""
    try:
        # The process's own symbols: libc is already loaded. ctypes.util.find_library would run
        # ldconfig in a subprocess (~6 ms) on the first decode, inside the first invocation.
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


_CREATING = threading.Lock()


def container_budget() -> DecodeBudget | None:
    """The budget every decode in this container shares, fixed at the first decode (the model is loaded by then)."""
    # Under a lock: the first records of a batch decode at once, and each must get the same budget
    # (lru_cache alone may build one per racing thread: measured, two 49 MP WebPs then ran together).
    with _CREATING:
        return _container_budget()


@lru_cache(maxsize=1)
def _container_budget() -> DecodeBudget | None:
    budget = budget_from(os.environ, resident_bytes())
    if budget is not None:
        return_freed_buffers_to_the_os()
    return budget
