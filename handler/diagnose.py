"""The work for one object: read, decode, classify, store. Clients arrive injected."""

from __future__ import annotations

import time
from dataclasses import replace

from PIL import Image

from handler.config import Settings
from handler.domain import (
    Claim,
    DiagnosisRecord,
    EventKey,
    ImageBody,
    ObjectRef,
    Outcome,
    StoredObject,
    bare_etag,
    has_dot_segment,
)
from handler.errors import (
    AlreadyRecorded,
    ImageRejected,
    InProgress,
    MetadataNotWritten,
    ObjectGone,
    ObjectMissing,
    RejectedForNow,
    can_be_lifted,
)
from handler.object_metadata import MODEL_META
from handler.objects import ObjectReader
from handler.observability import span
from handler.records import ok_record, rejected_record
from handler.stores import StoreChain
from model.imaging import decode_image
from model.runtime import Classifier, Prediction

COPY_EVENT = "ObjectCreated:Copy"  # what our metadata write-back fires


class Diagnoser:
    def __init__(self, settings: Settings, classifier: Classifier, reader: ObjectReader, store: StoreChain) -> None:
        self._settings = settings
        self._classifier = classifier
        self._reader = reader
        self._store = store

    def classify_bytes(self, data: bytes | ImageBody) -> Prediction:
        """Decode and classify image bytes; ImageRejected when they are not a usable image."""
        image = self._decode(data)
        with span("inference"):
            return self._classifier.classify(image)

    def diagnose(self, ref: ObjectRef) -> Outcome:
        """Diagnose one S3 object and store the record; TransientError propagates for a retry."""
        if not ref.names_a_created_object:
            return Outcome(ref, "skipped", f"{ref.event_name} is not an ObjectCreated event")
        if not ref.key.startswith(self._settings.image_prefix):
            return Outcome(ref, "skipped", f"key is outside IMAGE_PREFIX {self._settings.image_prefix!r}")
        if has_dot_segment(ref.key):
            # The API refuses these keys (clients and proxies collapse '..' in a URL): never stored, so
            # never a result GET /diagnoses/{key} would refuse to show (docs/api.md).
            return Outcome(ref, "skipped", "the key has a '.' or '..' segment; such keys are not accepted")
        if ref.key.endswith("/"):
            # What the S3 console's "Create folder" makes: an empty object whose key ends in '/'.
            return Outcome(ref, "skipped", "a folder marker (the key ends in '/'), not a photo")
        try:
            ref = self._identified(ref)
        except ObjectMissing as exc:
            return _missing(ref, exc)
        except ObjectGone as exc:
            return Outcome(ref, "skipped", str(exc))
        key = EventKey.of(ref.uri, ref.sequencer, ref.etag, ref.version_id, self._classifier.model_version)
        try:
            # Before any read: a duplicate or a late, older event costs one conditional write, no inference.
            claim = self._store.claim(key)
        except AlreadyRecorded as exc:
            return Outcome(ref, "skipped", str(exc))
        committed = False
        try:
            outcome = self._diagnose_claimed(ref, claim)
            committed = outcome.status != "skipped"
            return outcome
        finally:
            if not committed:
                self._store.release(claim)

    def _identified(self, ref: ObjectRef) -> ObjectRef:
        """The ref the claim and the record both name: the right spelling of the key, and an ETag."""
        if ref.other_keys:
            # Each spelling is asked whether it holds the event's bytes (ETag/version), not only whether it
            # exists: 'leaf+1.jpg' decoded as 'leaf 1.jpg' may be another, existing photo.
            spellings = (ref.key, *ref.other_keys)
            ref = replace(ref, other_keys=())
            held = next((key for key in spellings if self._reader.holds(replace(ref, key=key))), None)
            if held is not None:
                ref = replace(ref, key=held)
        if not ref.etag:
            ref = self._reader.identify(ref)
        return ref

    def _diagnose_claimed(self, ref: ObjectRef, claim: Claim) -> Outcome:
        started = time.perf_counter()
        try:
            with span("s3_read"):
                obj = self._reader.fetch(ref)
        except ObjectMissing as exc:
            return _missing(ref, exc)
        except ObjectGone as exc:
            return Outcome(ref, "skipped", str(exc))
        except ImageRejected as exc:
            return self._store_record(ref, self._rejected(ref, exc, started), None, claim)
        # Only our write-back is a Copy: a Put, Post or multipart upload carrying our metadata is a
        # user's upload (perhaps a forged result) and is diagnosed like any other.
        if ref.event_name == COPY_EVENT and obj.metadata.get(MODEL_META) == self._classifier.model_version:
            if not self._store.commits or claim.recorded_for(obj.etag, self._classifier.model_version):
                return Outcome(ref, "skipped", "already diagnosed by this model version (own write-back)")
            if claim.live_claim_for(obj.etag):
                # Our own copy's event overtook the table write that follows the copy: come back later.
                raise InProgress(f"{ref.uri}: the result for these bytes is being written")
            # Metadata written but no table row (the write after the copy failed): finish the job.
        try:
            if obj.body is None:
                raise RejectedForNow(f"object is {obj.size:,} bytes; the limit is {self._settings.max_image_bytes:,}")
            prediction = self.classify_bytes(obj.body)
        except ImageRejected as exc:
            return self._store_record(ref, self._rejected(ref, exc, started), obj, claim)
        elapsed = (time.perf_counter() - started) * 1000
        record = ok_record(ref.uri, prediction, elapsed, **_identity(ref))
        return self._store_record(ref, record, obj, claim)

    def _check_current(self, ref: ObjectRef, obj: StoredObject | None) -> None:
        """ObjectGone unless the key's current object is the one diagnosed: a HEAD naming no version.

        Why this closes the race with a newer upload, for every origin (with a sequencer or without):
        the claim (before the read) saw the stored result, this HEAD comes after it, and the table write
        that follows is conditioned on the stored result being unchanged since the claim (stores.py).
        A newer upload that landed before this HEAD is seen here (S3 reads are strongly consistent);
        one that landed after it has its own event, whose result is written after ours (ours is then
        replaced) or before ours (our conditional write then fails). No window is left for the table.
        With the S3-metadata sink alone, the copy is conditioned on the diagnosed ETag (object_metadata.py).
        """
        diagnosed_etag = obj.etag if obj is not None else bare_etag(ref.etag)
        diagnosed_version = obj.version_id if obj is not None else ref.version_id
        etag, version = self._reader.current(ref)  # ObjectMissing once deleted (a delete marker)
        if diagnosed_etag is not None:
            # Same ETag, other version: the same bytes uploaded again; this result describes them too.
            if etag != diagnosed_etag:
                raise ObjectGone(f"{ref.uri} was replaced by a newer upload; its own event stores its result")
        elif diagnosed_version and version != diagnosed_version:
            raise ObjectGone(f"{ref.uri} has a newer version; its own event stores its result")

    def _decode(self, data: bytes | ImageBody) -> Image.Image:
        meta = self._classifier.meta
        return decode_image(data, max_pixels=self._settings.max_image_pixels, target=(meta.width, meta.height))

    def _rejected(self, ref: ObjectRef, exc: ImageRejected, started: float) -> DiagnosisRecord:
        elapsed = (time.perf_counter() - started) * 1000
        return rejected_record(ref.uri, str(exc), self._classifier.model_version, elapsed, **_identity(ref),
                               conditional=can_be_lifted(exc))

    def _store_record(self, ref: ObjectRef, record: DiagnosisRecord, obj: StoredObject | None,
                      claim: Claim) -> Outcome:
        try:
            with span("store"):
                self._check_current(ref, obj)
                record = self._store.save(record, obj, claim)
        except ObjectMissing as exc:
            return _missing(ref, exc)
        except AlreadyRecorded as exc:
            return Outcome(ref, "skipped", str(exc), metric="MetadataNotWritten" if exc.metadata_not_written else None)
        except ObjectGone as exc:
            return Outcome(ref, "skipped", str(exc))
        except MetadataNotWritten as exc:  # and no table to hold the result instead
            # The record goes with it, so the API can answer what the bytes are without serving the metadata.
            return Outcome(ref, "skipped", f"diagnosed, not stored: {exc}", record=record, metric="MetadataNotWritten")
        metric = "MetadataNotWritten" if record.metadata_not_written else None
        return Outcome(ref, record.status, record.error, record, metric=metric)


def _identity(ref: ObjectRef) -> dict[str, str | None]:
    """The ref's ETag/version only: the record's EventKey must equal the one claimed."""
    return {"etag": bare_etag(ref.etag), "version_id": ref.version_id, "sequencer": ref.sequencer}


def _missing(ref: ObjectRef, exc: ObjectMissing) -> Outcome:
    """Skipped, never recorded as rejected; an AccessDenied is counted so a misconfigured role shows."""
    return Outcome(ref, "skipped", str(exc), metric="ObjectReadDenied" if exc.denied else None)

