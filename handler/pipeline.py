"""Many records in one invocation: diagnosed on a few threads, so reads, decoding and stores overlap."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from handler.diagnose import Diagnoser
from handler.domain import ObjectRef, Outcome
from handler.errors import TransientError
from handler.observability import logger

RECORD_WORKERS = 4


class RecordPipeline:
    """Runs Diagnoser.diagnose for each record on a small pool; the model is shared and never reloaded.

    The LiteRT interpreter is not thread-safe: Classifier.classify takes a lock, so inference takes
    turns while other records download, decode or store. Callers read results in record order.
    """

    def __init__(self, diagnoser: Diagnoser, workers: int = RECORD_WORKERS) -> None:
        self._diagnoser = diagnoser
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="record")

    def start(self, refs: Sequence[ObjectRef], out_of_time: Callable[[], bool]) -> list[Future[Outcome]]:
        """Queue every record now; one that would start too late fails with TransientError instead."""
        return [self._pool.submit(self._diagnose, ref, out_of_time) for ref in refs]

    def _diagnose(self, ref: ObjectRef, out_of_time: Callable[[], bool]) -> Outcome:
        if out_of_time():
            raise TransientError("not started, invocation nearly out of time")
        # Keys for log lines written on this thread (stores, retries); other threads keep their own.
        logger.thread_safe_append_keys(bucket=ref.bucket, key=ref.key, **ref.log_fields)
        try:
            return self._diagnoser.diagnose(ref)
        finally:
            logger.thread_safe_clear_keys()
