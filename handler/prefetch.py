"""Read the next few objects on a small thread pool, so S3 downloads overlap decoding and inference."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from handler.objects import ObjectReader, StoredObject
from handler.sources.s3 import ObjectRef

FETCH_WORKERS = 4


class PrefetchingReader:
    """An ObjectReader that downloads ahead; callers still consume objects one by one, on their own thread.

    Only reads run on the pool: decoding, the (not thread-safe) LiteRT interpreter, the stores,
    logging and tracing all stay on the caller's thread. At most `depth` objects are held in
    memory ahead of the caller.
    """

    def __init__(self, reader: ObjectReader, workers: int = FETCH_WORKERS, depth: int | None = None) -> None:
        self._reader = reader
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3-read")
        self._depth = depth or workers
        self._queued: deque[ObjectRef] = deque()
        self._ahead: dict[ObjectRef, Future[StoredObject]] = {}

    def prefetch(self, refs: Iterable[ObjectRef]) -> None:
        """Start reading these objects, in order; whatever an earlier batch left is dropped."""
        self.discard()
        self._queued.extend(refs)
        self._top_up()

    def fetch(self, ref: ObjectRef) -> StoredObject:
        """The object's bytes: from the read started ahead if there is one, else read now."""
        future = self._ahead.pop(ref, None)
        self._top_up()  # the next download starts before we wait for this one
        if future is None:
            return self._reader.fetch(ref)
        return future.result()  # re-raises what the read raised (ObjectGone, TransientError, ...)

    def discard(self) -> None:
        """Forget reads nobody will consume (records skipped, or not started for lack of time)."""
        for future in self._ahead.values():
            future.cancel()
        self._ahead.clear()
        self._queued.clear()

    def _top_up(self) -> None:
        while self._queued and len(self._ahead) < self._depth:
            ref = self._queued.popleft()
            if ref not in self._ahead:
                self._ahead[ref] = self._pool.submit(self._reader.fetch, ref)
