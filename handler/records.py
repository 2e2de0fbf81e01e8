"""The stored result of one diagnosis: what DynamoDB, S3 metadata and the API all show."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from model.runtime import Prediction


@dataclass(frozen=True)
class DiagnosisRecord:
    image: str  # s3://<bucket>/<decoded key>: the table's partition key
    status: str  # "ok" | "rejected"
    model_version: str
    diagnosed_at: str
    latency_ms: float
    label: str | None = None
    confidence: float | None = None
    top_k: tuple[tuple[str, float], ...] = ()
    error: str | None = None
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    metadata_not_written: str | None = None  # why the result is not on the object's metadata (sink "both")

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict without empty fields."""
        data: dict[str, Any] = {
            "image": self.image,
            "status": self.status,
            "label": self.label,
            "confidence": self.confidence,
            "top_k": [{"label": label, "confidence": conf} for label, conf in self.top_k],
            "model_version": self.model_version,
            "error": self.error,
            "etag": self.etag,
            "version_id": self.version_id,
            "sequencer": self.sequencer,
            "diagnosed_at": self.diagnosed_at,
            "latency_ms": self.latency_ms,
            "metadata_not_written": self.metadata_not_written,
        }
        return {k: v for k, v in data.items() if v is not None and v != []}

    @property
    def event_key(self) -> EventKey:
        return EventKey.of(self.image, self.sequencer, self.etag, self.version_id, self.model_version)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ok_record(image: str, prediction: Prediction, latency_ms: float, **identity: str | None) -> DiagnosisRecord:
    return DiagnosisRecord(
        image=image,
        status="ok",
        label=prediction.label,
        confidence=prediction.confidence,
        top_k=prediction.top_k,
        model_version=prediction.model_version,
        diagnosed_at=utc_now(),
        latency_ms=round(latency_ms, 1),
        **identity,
    )


def rejected_record(
    image: str, error: str, model_version: str, latency_ms: float, **identity: str | None
) -> DiagnosisRecord:
    return DiagnosisRecord(
        image=image,
        status="rejected",
        error=error,
        model_version=model_version,
        diagnosed_at=utc_now(),
        latency_ms=round(latency_ms, 1),
        **identity,
    )


# Sequencers seen in practice are 16-20 hex digits; 64 leaves room and keeps DynamoDB's string order numeric.
SEQUENCER_WIDTH = 64
NO_SEQUENCER = "-"  # sorts before "0": an unsequenced event never outranks a sequenced one


def sequencer_order(sequencer: str | None) -> str:
    """A sequencer made comparable as a plain string; "-" (older than any) when there is none or it is not hex.

    AWS (S3 User Guide, "Event message structure"): sequencers "can be of different lengths. So, to
    compare these values, first left-pad the shorter value with zeros, and then do a lexicographical
    comparison." Padding every value to one fixed width lets DynamoDB's string `<` do exactly that.
    """
    raw = (sequencer or "").strip().upper()
    if not raw or len(raw) > SEQUENCER_WIDTH or any(c not in "0123456789ABCDEF" for c in raw):
        return NO_SEQUENCER
    return raw.rjust(SEQUENCER_WIDTH, "0")


@dataclass(frozen=True)
class EventKey:
    """What makes one S3 event's result distinct: the object, its place in time, its bytes, the model.

    Events for one key are ordered by `order` (the padded sequencer). Two events with the same order
    are the same event delivered twice when `identity` (ETag/version) and the model also match.
    Events without a sequencer (Batch Operations tasks, hand-made events, moto's) cannot be ordered:
    they are de-duplicated by identity only, and one that names no ETag or version never is.
    """

    image: str
    order: str
    identity: str
    model_version: str

    @classmethod
    def of(cls, image: str, sequencer: str | None, etag: str | None, version_id: str | None, model_version: str) -> EventKey:
        etag = (etag or "").strip('"')
        # Nothing names the bytes: a unique identity, so the event is always diagnosed, never taken for a duplicate.
        identity = f"{etag}/{version_id or ''}" if etag or version_id else f"?{uuid.uuid4().hex}"
        return cls(image=image, order=sequencer_order(sequencer), identity=identity, model_version=model_version)

    @property
    def ordered(self) -> bool:
        return self.order != NO_SEQUENCER

    @property
    def etag(self) -> str:
        return self.identity.split("/", 1)[0]

    def covered_by(self, stored: dict[str, Any] | None) -> bool:
        """True when a stored result is for this very event or a newer one: nothing to do."""
        if not stored or "status" not in stored:
            return False
        same = stored.get("event_identity") == self.identity and stored.get("model_version") == self.model_version
        if not self.ordered:
            return same
        order = str(stored.get("event_order", NO_SEQUENCER))
        return order > self.order or (order == self.order and same)

    def superseded_by_claim(self, stored: dict[str, Any] | None) -> bool:
        """True when a live claim on the item is for a newer S3 event: that event's result is the one to keep."""
        if not stored or not self.ordered:
            return False
        return str(stored.get("claim_order", NO_SEQUENCER)) > self.order and int(stored.get("claim_until", 0)) > time.time()
