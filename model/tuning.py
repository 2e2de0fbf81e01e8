"""What the build serves: int8 when it agrees with Keras on real photos, and the thread count that pays."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_INT8_AGREEMENT = 0.99  # top-1 agreement with Keras on the real --samples photos
MIN_JUDGING_PHOTOS = 100  # below this one disagreement is more than 1 %: too few to judge int8 on
THREAD_GAIN = 0.15  # another thread must cut the median inference time by at least this much
MAX_THREADS = 4
TIMED_RUNS = 15


@dataclass(frozen=True)
class Choice:
    """The variant kept ("dynamic" or "none") and why, in words for the build's report."""

    quantize: str
    reason: str


def choose_variant(int8_figures: dict[str, Any], min_agreement: float = MIN_INT8_AGREEMENT) -> Choice:
    """Keep int8 only if it agrees with Keras on top-1 for >= min_agreement of enough real photos."""
    photos = int8_figures.get("real_samples", 0)
    if photos < MIN_JUDGING_PHOTOS:
        return Choice("none", f"float32: only {photos} real photos in --samples; int8 is judged on at least "
                              f"{MIN_JUDGING_PHOTOS} (pass --samples with real photos, or --quantize dynamic)")
    agreement = int8_figures["real_top1_agreement"]
    if agreement < min_agreement:
        return Choice("none", f"float32: int8 agrees with Keras on top-1 for {agreement:.2%} of {photos} real "
                              f"photos (< {min_agreement:.0%})")
    return Choice("dynamic", f"int8: agrees with Keras on top-1 for {agreement:.2%} of {photos} real photos "
                             f"(>= {min_agreement:.0%})")


def time_threads(tflite: bytes, sample: np.ndarray, candidates: tuple[int, ...] | None = None) -> dict[int, float]:
    """Median milliseconds per inference of one input at each thread count (after a warm-up run)."""
    from ai_edge_litert.interpreter import Interpreter

    timings: dict[int, float] = {}
    for threads in candidates or thread_candidates():
        interpreter = Interpreter(model_content=tflite, num_threads=threads)
        interpreter.allocate_tensors()
        index = interpreter.get_input_details()[0]["index"]
        interpreter.set_tensor(index, sample[np.newaxis].astype(np.float32))
        interpreter.invoke()
        runs = []
        for _ in range(TIMED_RUNS):
            started = time.perf_counter()
            interpreter.invoke()
            runs.append((time.perf_counter() - started) * 1000)
        timings[threads] = round(statistics.median(runs), 2)
    return timings


def thread_candidates() -> tuple[int, ...]:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return tuple(range(1, min(cores, MAX_THREADS) + 1))


def choose_threads(timings: dict[int, float]) -> int:
    """Fewest threads: one more is taken only when it is at least THREAD_GAIN faster than the current pick."""
    chosen = min(timings)
    for threads in sorted(timings):
        if timings[threads] <= timings[chosen] * (1 - THREAD_GAIN):
            chosen = threads
    return chosen
