"""Records of one invocation overlap on the pool, come back in order, and inference never runs twice at once."""

import threading

import numpy as np
import pytest
from PIL import Image

from handler.domain import ObjectRef, Outcome
from handler.errors import TransientError
from handler.pipeline import RecordPipeline
from model.runtime import Classifier
from tests.threads import run_together


def refs(n: int) -> list[ObjectRef]:
    return [ObjectRef("bucket", f"garden-images/{i}.jpg") for i in range(n)]


class BarrierDiagnoser:
    """Each diagnosis waits until `width` of them are in flight: it only passes if they overlap."""

    def __init__(self, width: int, timeout: float = 5) -> None:
        self.barrier = threading.Barrier(width, timeout=timeout)

    def diagnose(self, ref: ObjectRef) -> Outcome:
        self.barrier.wait()
        return Outcome(ref, "ok")


def test_four_records_are_in_flight_at_once_and_results_keep_record_order():
    pipeline = RecordPipeline(BarrierDiagnoser(4), workers=4)
    futures = pipeline.start(refs(8), out_of_time=lambda: False)
    assert [f.result(timeout=10).ref.key for f in futures] == [r.key for r in refs(8)]


def test_with_one_worker_they_cannot_overlap():
    pipeline = RecordPipeline(BarrierDiagnoser(2, timeout=0.5), workers=1)
    (first, _) = pipeline.start(refs(2), out_of_time=lambda: False)
    with pytest.raises(threading.BrokenBarrierError):
        first.result(timeout=10)


def test_a_record_that_would_start_too_late_is_a_transient_error():
    pipeline = RecordPipeline(BarrierDiagnoser(1), workers=2)
    (future,) = pipeline.start(refs(1), out_of_time=lambda: True)
    with pytest.raises(TransientError, match="nearly out of time"):
        future.result(timeout=10)


class OneAtATimeBackend:
    """Fails if two threads are inside the interpreter together, as LiteRT would corrupt its tensors.

    The first call stays inside until a second caller arrives (at most a second): without the classifier's
    lock the other threads, already calling, arrive at once; with it none can, and the wait runs out.
    """

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.calls = 0
        self._count = threading.Lock()
        self._second_inside = threading.Event()

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        with self._count:
            self.inside += 1
            self.most = max(self.most, self.inside)
            first = self.calls == 0 and self.inside == 1
            if self.inside > 1:
                self._second_inside.set()
        if first:
            self._second_inside.wait(timeout=1.0)
        with self._count:
            self.inside -= 1
            self.calls += 1
        return np.array([[0.9, 0.1]], dtype=np.float32)


def test_threads_sharing_a_classifier_take_turns_in_the_interpreter():
    from handler.config import BUNDLED_MODEL_DIR
    from model.metadata import read_metadata

    meta = read_metadata(BUNDLED_MODEL_DIR)
    backend = OneAtATimeBackend()
    classifier = Classifier(meta.__class__(**{**meta.__dict__, "labels": ("a", "b"), "extra": {}}), backend)
    image = Image.new("RGB", (meta.width, meta.height), "green")
    run_together([lambda: [classifier.classify(image) for _ in range(10)]] * 4)
    assert backend.calls == 40 and backend.most == 1
