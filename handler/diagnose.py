"""The work for one object: read, decode, classify, store. Clients arrive injected."""

from __future__ import annotations

import time
from dataclasses import dataclass

from PIL import Image

from handler.config import Settings
from handler.errors import ImageRejected, ObjectGone
from handler.imaging import decode_image
from handler.objects import ObjectReader, StoredObject
from handler.observability import span
from handler.records import DiagnosisRecord, ok_record, rejected_record
from handler.sources.s3 import ObjectRef
from handler.stores import MODEL_META, ResultStore
from model.runtime import Classifier, Prediction


@dataclass(frozen=True)
class Outcome:
    """What happened to one object: 'ok', 'rejected' (recorded) or 'skipped' (not recorded)."""

    ref: ObjectRef
    status: str
    reason: str | None = None
    record: DiagnosisRecord | None = None


class Diagnoser:
    def __init__(self, settings: Settings, classifier: Classifier, reader: ObjectReader, store: ResultStore) -> None:
        self._settings = settings
        self._classifier = classifier
        self._reader = reader
        self._store = store

    def classify_bytes(self, data: bytes) -> Prediction:
        """Decode and classify image bytes; ImageRejected when they are not a usable image."""
        image = self._decode(data)
        with span("inference"):
            return self._classifier.classify(image)

    def diagnose(self, ref: ObjectRef) -> Outcome:
        """Diagnose one S3 object and store the record; TransientError propagates for a retry."""
        if not ref.event_name.startswith("ObjectCreated:"):
            return Outcome(ref, "skipped", f"{ref.event_name} is not an ObjectCreated event")
        if not ref.key.startswith(self._settings.image_prefix):
            return Outcome(ref, "skipped", f"key is outside IMAGE_PREFIX {self._settings.image_prefix!r}")
        started = time.perf_counter()
        try:
            with span("s3_read"):
                obj = self._reader.fetch(ref)
        except ObjectGone as exc:
            return Outcome(ref, "skipped", str(exc))
        except ImageRejected as exc:
            return self._store_record(ref, self._rejected(ref, None, str(exc), started), None)
        if obj.metadata.get(MODEL_META) == self._classifier.model_version:
            # Our own metadata write-back (ObjectCreated:Copy), or bytes already diagnosed by this model.
            return Outcome(ref, "skipped", "already diagnosed by this model version (own write-back)")
        try:
            if obj.body is None:
                raise ImageRejected(f"object is {obj.size:,} bytes; the limit is {self._settings.max_image_bytes:,}")
            prediction = self.classify_bytes(obj.body)
        except ImageRejected as exc:
            return self._store_record(ref, self._rejected(ref, obj, str(exc), started), obj)
        elapsed = (time.perf_counter() - started) * 1000
        record = ok_record(ref.uri, prediction, elapsed, **_identity(ref, obj))
        return self._store_record(ref, record, obj)

    def _decode(self, data: bytes) -> Image.Image:
        meta = self._classifier.meta
        return decode_image(data, max_pixels=self._settings.max_image_pixels, target=(meta.width, meta.height))

    def _rejected(self, ref: ObjectRef, obj: StoredObject | None, error: str, started: float) -> DiagnosisRecord:
        elapsed = (time.perf_counter() - started) * 1000
        return rejected_record(ref.uri, error, self._classifier.model_version, elapsed, **_identity(ref, obj))

    def _store_record(self, ref: ObjectRef, record: DiagnosisRecord, obj: StoredObject | None) -> Outcome:
        try:
            with span("store"):
                self._store.save(record, obj)
        except ObjectGone as exc:
            return Outcome(ref, "skipped", str(exc))
        return Outcome(ref, record.status, record.error, record)


def _identity(ref: ObjectRef, obj: StoredObject | None) -> dict[str, str | None]:
    return {
        "etag": (obj.etag if obj else None) or (ref.etag or "").strip('"') or None,
        "version_id": (obj.version_id if obj else None) or ref.version_id,
        "sequencer": ref.sequencer,
    }

