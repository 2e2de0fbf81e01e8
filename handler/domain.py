"""The core types: the object to diagnose, what was read, the claim, the stored record, the outcome.

This module imports nothing else from the project (tests/test_imports.py): every other module may use it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


def s3_uri(bucket: str, key: str = "") -> str:
    """s3://bucket/key, the key written out (not URL-encoded), as the AWS CLI prints it."""
    return f"s3://{bucket}/{key}"


def bare_etag(etag: str | None) -> str | None:
    """S3 quotes ETags in replies ("\\"abc\\""), events do not: the bare value, None when there is none."""
    return (etag or "").strip('"') or None


RESTORE_COMPLETED = "ObjectRestore:Completed"  # S3's event when an archived object's restored copy is readable
# Why a rejection was recorded: FINAL when the bytes are not an image (nothing changes that but a new
# upload), CONDITIONAL when the same bytes could be diagnosed later (archived, over a limit that can be
# raised, a memory budget). A conditional rejection never counts as a result: every origin diagnoses again.
FINAL = "final"
CONDITIONAL = "conditional"


def has_dot_segment(key: str) -> bool:
    """True for a key with a '.' or '..' segment: a name to S3, a path to every client that normalises URLs."""
    segments = key.split("/")
    return "." in segments or ".." in segments


class Origin(StrEnum):
    """Where a reference comes from. Only an upload has an S3 event name; the others name an object that exists."""

    UPLOAD = "upload"
    API = "api"
    BACKFILL = "backfill"
    BATCH_OPERATIONS = "batch-operations"


@dataclass(frozen=True)
class ObjectRef:
    """One object to diagnose: an upload an event announces, or an existing object a caller names."""

    bucket: str
    key: str
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    event_name: str | None = "ObjectCreated:Put"  # the S3 event's name; None unless origin is UPLOAD
    origin: Origin = Origin.UPLOAD
    # Other spellings of the key, tried in order when `key` does not hold the bytes the event names
    # (EventBridge: the key decoded without '+' as a space, and the raw key).
    other_keys: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return s3_uri(self.bucket, self.key)

    @property
    def names_a_created_object(self) -> bool:
        """False for an upload event that names no new bytes to read (a delete, a restore still running).

        A completed restore counts: the archived bytes became readable, and their rejection is lifted.
        """
        name = self.event_name or ""
        return self.origin is not Origin.UPLOAD or name.startswith("ObjectCreated:") or name == RESTORE_COMPLETED

    @property
    def log_fields(self) -> dict[str, str]:
        """Where the reference comes from, for log lines (never the key: callers shorten it)."""
        return {"origin": self.origin.value, **({"event_name": self.event_name} if self.event_name else {})}


class ImageBody(Protocol):
    """The bytes of an object as the decoder reads them: a seekable, readable file with a size."""

    def __len__(self) -> int: ...

    def read(self, size: int | None = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...


@dataclass(frozen=True)
class StoredObject:
    """An object's bytes and the settings a copy onto itself must carry over."""

    ref: ObjectRef
    body: ImageBody | None  # None when the object is over the byte limit: never read
    size: int
    etag: str | None
    version_id: str | None
    content_type: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    copy_parameters: dict[str, Any] = field(default_factory=dict)  # CopyObject parameters that keep its settings


@dataclass(frozen=True)
class DiagnosisRecord:
    """The stored result of one diagnosis: what DynamoDB, S3 metadata and the API all show."""

    image: str  # s3://<bucket>/<decoded key>: the table's partition key
    status: str  # "ok" | "rejected"
    model_version: str
    diagnosed_at: str
    latency_ms: float
    label: str | None = None
    confidence: float | None = None
    top_k: tuple[tuple[str, float], ...] = ()
    error: str | None = None
    recognized: bool | None = None  # every "ok" result says: False when the model does not know the photo
    reason: str | None = None  # why not recognised ("no leaf in the photo")
    display_label: str | None = None  # the label as people read it; `label` is the stable machine name
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    metadata_not_written: str | None = None  # why the result is not on the object's metadata (sink "both")
    rejection: str | None = None  # FINAL or CONDITIONAL, for a rejected record only

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict without empty fields."""
        data: dict[str, Any] = {
            "image": self.image,
            "status": self.status,
            "label": self.label,
            "display_label": self.display_label,
            "confidence": self.confidence,
            "recognized": self.recognized,
            "reason": self.reason,
            "top_k": [{"label": label, "confidence": conf} for label, conf in self.top_k],
            "model_version": self.model_version,
            "error": self.error,
            "etag": self.etag,
            "version_id": self.version_id,
            "sequencer": self.sequencer,
            "diagnosed_at": self.diagnosed_at,
            "latency_ms": self.latency_ms,
            "metadata_not_written": self.metadata_not_written,
            "rejection": self.rejection,
        }
        return {k: v for k, v in data.items() if v is not None and v != []}

    @property
    def event_key(self) -> EventKey:
        return EventKey.of(self.image, self.sequencer, self.etag, self.version_id, self.model_version)


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
        etag = bare_etag(etag) or ""
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
        if not stored or "status" not in stored or stored.get("rejection") == CONDITIONAL:
            return False  # no result, or one that only says "not now": diagnose again
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


@dataclass(frozen=True)
class Claim:
    """This invocation's reservation of one event, and the stored item it would replace."""

    key: EventKey
    token: str | None = None
    prior: dict[str, Any] | None = None  # the item as it was; read only here, through the questions below

    def recorded_for(self, etag: str | None, model_version: str) -> bool:
        """The stored result is this model's, for these very bytes (a later copy only changed metadata)."""
        prior = self.prior or {}
        return "status" in prior and prior.get("etag") == etag and prior.get("model_version") == model_version

    def live_claim_for(self, etag: str | None) -> bool:
        """An earlier claim for these very bytes has not expired: its holder is writing their result."""
        prior = self.prior or {}
        return bool(prior) and prior.get("claim_etag") == etag and int(prior.get("claim_until", 0)) > time.time()


@dataclass(frozen=True)
class Outcome:
    """What happened to one object: 'ok', 'rejected' (recorded) or 'skipped' (not recorded)."""

    ref: ObjectRef
    status: str
    reason: str | None = None
    record: DiagnosisRecord | None = None
    metric: str | None = None  # a counter this outcome adds besides its status's (counted by handler.report)

    def summary(self) -> dict[str, Any]:
        """This outcome's line in a source's reply."""
        return {"image": self.ref.uri, "status": self.status, "reason": self.reason}
