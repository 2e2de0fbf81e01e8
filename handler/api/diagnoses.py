"""What the API does: classify uploaded bytes, diagnose S3 objects, read stored results."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.api.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RequestEntityTooLargeError,
    UnsupportedMediaTypeError,
    shown,
)
from handler.api.s3_urls import NotAnS3Url, S3Location, parse_s3_url
from handler.api.uploads import ImageUpload, ObjectRequest
from handler.client_errors import S3_DENIED, S3_MISSING, error_code
from handler.config import Settings
from handler.container import Container
from handler.domain import ObjectRef, Origin, bare_etag, has_dot_segment
from handler.errors import ImageRejected, ImageTooLarge, TransientError
from handler.object_metadata import read_verified_diagnosis
from handler.observability import read_denied
from handler.report import report_outcome, report_upload

MAX_KEY_BYTES = 1024  # S3's limit on an object key, in UTF-8 bytes


class DiagnosisApi:
    """The API's work, on the container's one model and clients."""

    def __init__(self, container: Container) -> None:
        self._container = container

    @property
    def _settings(self) -> Settings:
        return self._container.settings

    def classify_upload(self, upload: ImageUpload) -> dict[str, Any]:
        """Diagnose bytes sent in the request; nothing is stored (there is no S3 object to key it by)."""
        started = time.perf_counter()
        try:
            prediction = self._container.diagnoser.classify_bytes(upload.data)
        except ImageTooLarge as exc:
            raise RequestEntityTooLargeError(f"image too large: {exc}") from exc
        except ImageRejected as exc:
            raise UnsupportedMediaTypeError(f"not a usable image: {exc}") from exc
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        report_upload(prediction, latency_ms)
        return {
            "status": "ok",
            "label": prediction.label,
            "display_label": prediction.display_label,
            "confidence": prediction.confidence,
            "recognized": prediction.recognized,
            **({} if prediction.recognized else {"reason": prediction.reason}),
            "top_k": [{"label": label, "confidence": conf} for label, conf in prediction.top_k],
            "model_version": prediction.model_version,
            "latency_ms": latency_ms,
            "stored": False,
        }

    def locate(self, request: ObjectRequest) -> S3Location:
        """The object a {"key"} or {"url"} request names; 403 unless it is in our bucket and prefix."""
        bucket = self._settings.images_bucket
        if not bucket:
            raise ForbiddenError("this deployment accepts no S3 objects: IMAGES_BUCKET is not set")
        if request.key is not None:
            location = S3Location(bucket=bucket, key=request.key)
        else:
            try:
                location = parse_s3_url(request.url or "")
            except NotAnS3Url as exc:
                raise ForbiddenError(f"only S3 URLs of bucket {bucket} are accepted: {exc}") from exc
        if location.bucket != bucket:
            raise ForbiddenError(f"only objects in bucket {bucket} are accepted, not {shown(location.bucket)}")
        self.check_key(location.key)
        if location.key.endswith("/"):
            # What the console's "Create folder" makes; the event path skips it too. A retry never helps.
            raise BadRequestError(f"{shown(location.uri)} is a folder (the key ends in '/'), not a photo")
        return location

    def check_key(self, key: str) -> None:
        """400 for what can be no S3 key at all, 403 for a key outside the prefix; before any request."""
        try:
            size = len(key.encode("utf-8"))
        except UnicodeEncodeError as exc:
            # JSON's "\ud800" decodes to a lone surrogate, which UTF-8 (and so S3) cannot hold.
            raise BadRequestError(f"the key is not valid UTF-8 (a lone surrogate at character {exc.start})") from exc
        if size > MAX_KEY_BYTES:
            raise BadRequestError(f"the key is {size:,} bytes of UTF-8; S3 keys are at most {MAX_KEY_BYTES:,}")
        prefix = self._settings.image_prefix
        # '.'/'..' segments: refused here and skipped by the event path alike (docs/api.md).
        if not key.startswith(prefix) or has_dot_segment(key):
            raise ForbiddenError(f"only keys under {prefix!r} are accepted")

    def diagnose_object(self, location: S3Location) -> dict[str, Any]:
        """Diagnose an S3 object and store the result, exactly as its upload event would have."""
        head = self._head(location)
        size = int(head.get("ContentLength") or 0)
        if size > self._settings.max_image_bytes:
            raise RequestEntityTooLargeError(f"{shown(location.uri)} is {size:,} bytes; the limit is {self._settings.max_image_bytes:,}")
        etag = bare_etag(head.get("ETag"))
        # The version HEAD saw too: the same identity an S3 event for these bytes carries, so it de-duplicates.
        ref = ObjectRef(bucket=location.bucket, key=location.key, etag=etag, version_id=head.get("VersionId"),
                        event_name=None, origin=Origin.API)
        outcome = self._container.diagnoser.diagnose(ref)  # reads the bytes HEAD saw (If-Match), stores the record
        report_outcome(ref, outcome)  # counted and logged as an event's record is
        if self._container.completion_events is not None:  # a stored result is announced as an event's is
            self._container.completion_events.announce([outcome])
        if outcome.status == "ok" and outcome.record is not None:
            return {**outcome.record.as_dict(), "stored": True}
        if outcome.status == "rejected":
            raise UnsupportedMediaTypeError(f"{shown(location.uri)} is not a usable image: {outcome.reason}")
        if outcome.record is not None:
            # Diagnosed but not stored (the write-back did not fit, say): answer what these bytes are,
            # never whatever the object's metadata says.
            if outcome.record.status == "rejected":
                raise UnsupportedMediaTypeError(f"{shown(location.uri)} is not a usable image: {outcome.record.error}")
            return {**outcome.record.as_dict(), "stored": False, "not_stored": outcome.reason}
        current = self._current_result(location, head, etag)
        if current is not None and current.get("status") == "rejected":
            # Answered as the first request was (a final rejection stays; a conditional one was tried again).
            raise UnsupportedMediaTypeError(f"{shown(location.uri)} is not a usable image: {current.get('error')}")
        if current is not None:
            # Already diagnosed by this model, these very bytes: answer with the stored result.
            return current
        raise ConflictError(f"{shown(location.uri)} changed or was deleted while it was read; retry ({outcome.reason})")

    def _current_result(self, location: S3Location, head: dict[str, Any], etag: str | None) -> dict[str, Any] | None:
        """The stored result when it is this model's, for the bytes HEAD saw; None otherwise."""
        try:
            stored = self.stored_result(location, head)
        except NotFoundError:
            return None
        same_model = stored.get("model_version") == self._container.classifier.model_version
        same_bytes = stored.get("etag") in (None, etag)  # metadata-only results carry no ETag
        return stored if same_model and same_bytes else None

    def stored_result(self, location: S3Location, head: dict[str, Any] | None = None) -> dict[str, Any]:
        """The record stored for an object: the table's item, or the object's metadata without a table."""
        table = self._container.table
        if self._settings.writes_table and table is not None:
            item = table.get(location.uri)
            if item is None:
                raise NotFoundError(f"no diagnosis stored for {shown(location.uri)}")
            return {**item, "stored": True}
        head = head or self._head(location)
        record = read_verified_diagnosis(location.bucket, location.key, head, self._container.result_mac)
        if record is None:  # none, or metadata this function did not write for these bytes (no valid MAC)
            raise NotFoundError(f"no diagnosis stored for {shown(location.uri)}")
        return {**record, "stored": True}

    def _head(self, location: S3Location) -> dict[str, Any]:
        try:
            return self._container.s3.head_object(Bucket=location.bucket, Key=location.key)
        except ClientError as exc:
            code = error_code(exc)
            if code in S3_MISSING:
                raise NotFoundError(f"no object {shown(location.uri)}") from exc
            if code in S3_DENIED:
                # Without s3:ListBucket, S3 answers a missing key with 403: "missing or not ours".
                read_denied(location.bucket, location.key)
                raise NotFoundError(f"no object {shown(location.uri)}") from exc
            raise TransientError(f"reading {shown(location.uri)} failed: {code or exc}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"reading {shown(location.uri)} failed: {exc}") from exc
