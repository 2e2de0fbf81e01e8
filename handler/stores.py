"""Where results go: a DynamoDB table, the S3 object's own metadata, or both.

Idempotency and ordering are conditional writes on the results table itself, one item per image.
Why not Powertools idempotency: it needs its own table (more IAM and template surface) and only
de-duplicates; it cannot say that an event is *older* than the result already stored. Ordering
needs a condition on the results item anyway, and the same condition de-duplicates for free.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from handler.client_errors import error_code
from handler.domain import CONDITIONAL, NO_SEQUENCER, Claim, DiagnosisRecord, EventKey, StoredObject
from handler.errors import AlreadyRecorded, InProgress, MetadataNotWritten, TransientError
from handler.listing import LISTING_ATTRIBUTES, listing_attributes
from handler.observability import logger, shorten

# A claim stops a concurrent duplicate from running the model a second time. It only saves work:
# the conditional write below is what guarantees one result, so a claim that outlives a crashed
# holder merely delays the retry, and one that expires under a slow holder costs one extra inference.
CLAIM_SECONDS = 60
# Bookkeeping attributes on the item; never part of a record as the API shows it.
INTERNAL_ATTRIBUTES = ("event_order", "event_identity", "claim_order", "claim_etag", "claim_until", "claim_token",
                       "write_token", *LISTING_ATTRIBUTES)
# The stored result is older than this event, or is this event's under another model.
# A conditional rejection (archived, over a limit) is never a result to keep: anything may replace it.
_OLDER_THAN_EVENT = (
    "attribute_not_exists(event_order) OR event_order < :o"
    " OR (event_order = :o AND (event_identity <> :i OR model_version <> :m OR rejection = :c))"
)
# For an event without a sequencer only a duplicate can be told apart: same bytes, same model.
_NOT_THE_SAME = "attribute_not_exists(event_identity) OR event_identity <> :i OR model_version <> :m OR rejection = :c"
_UNCLAIMED = "attribute_not_exists(claim_until) OR claim_until < :now OR claim_order < :o"


class ResultStore(Protocol):
    commits: bool  # True for the store whose write marks the event done; it is written last

    def claim(self, key: EventKey) -> Claim:
        """Reserve the event. AlreadyRecorded (nothing to do) or InProgress (retry later) say why not."""

    def release(self, claim: Claim) -> None:
        """Drop a claim that will not be followed by a write (best effort)."""

    def save(self, record: DiagnosisRecord, obj: StoredObject | None, claim: Claim | None = None) -> None:
        """Persist one record; raise TransientError when a retry may succeed."""


class DynamoResultStore:
    """One item per image, keyed by `image` = s3://bucket/key, written only by newer events."""

    commits = True

    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    def claim(self, key: EventKey) -> Claim:
        token = uuid.uuid4().hex
        values = {**self._key_values(key), ":o": key.order, ":e": key.etag, ":t": token,
                  ":until": int(time.time()) + CLAIM_SECONDS, ":now": int(time.time())}
        try:
            response = self._db.update_item(
                TableName=self._table,
                Key={"image": {"S": key.image}},
                UpdateExpression="SET claim_order = :o, claim_etag = :e, claim_until = :until, claim_token = :t",
                ConditionExpression=f"({_newer(key)}) AND ({_UNCLAIMED})",
                ExpressionAttributeValues=self._values(values),
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise TransientError(f"claiming {key.image} in {self._table} failed: {error_code(exc)}") from exc
            stored = self._item(exc.response.get("Item")) if "Item" in exc.response else self._raw_get(key.image)
            if stored and stored.get("claim_token") == token:
                # Our own claim landed but its reply was lost; botocore's retry then met it.
                return Claim(key, token, stored)
            if key.covered_by(stored):
                raise AlreadyRecorded("already recorded: the stored result is for this event or a newer one") from exc
            if key.superseded_by_claim(stored):
                # The newer upload's own event holds the key: it stores the result that counts. Nothing to retry.
                raise AlreadyRecorded("superseded: a newer upload of this key is being diagnosed") from exc
            raise InProgress(f"{key.image} is being diagnosed by another invocation") from exc
        except BotoCoreError as exc:
            raise TransientError(f"claiming {key.image} in {self._table} failed: {exc}") from exc
        return Claim(key, token, self._item(response.get("Attributes")))

    def release(self, claim: Claim) -> None:
        if claim.token is None:
            return
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"image": {"S": claim.key.image}},
                UpdateExpression="REMOVE claim_order, claim_etag, claim_until, claim_token",
                ConditionExpression="claim_token = :t",
                ExpressionAttributeValues=self._values({":t": claim.token}),
            )
        except (ClientError, BotoCoreError):
            pass  # someone newer holds it, or it is gone; an unreleased claim only delays a retry until it expires

    def save(self, record: DiagnosisRecord, obj: StoredObject | None, claim: Claim | None = None) -> None:
        """The conditional put; with the claim, also only while the stored result is the one the claim saw.

        That second condition is what makes the diagnoser's check of the current object (a HEAD after the
        claim, just before this call) close the race with a newer upload: see Diagnoser._check_current.
        """
        key = record.event_key
        values = self._key_values(key)
        condition = _newer(key)
        if claim is not None and claim.token is not None:
            seen = (claim.prior or {}).get("write_token")
            if seen:
                values[":seen"] = seen
            condition = f"({condition}) AND ({'write_token = :seen' if seen else 'attribute_not_exists(write_token)'})"
        token = uuid.uuid4().hex
        order = key.order
        if not key.ordered:
            # An API, backfill or Batch Operations write knows no sequencer: it keeps the order already
            # stored, so a late, older S3 event still cannot overwrite it.
            kept = self._stored_order(key.image)
            order = kept or NO_SEQUENCER
            values[":kept"] = order
            condition = f"({condition}) AND ({'event_order = :kept' if kept else 'attribute_not_exists(event_order)'})"
        fields = {**record.as_dict(), "event_order": order, "event_identity": key.identity, "write_token": token,
                  **listing_attributes(record.image, record.diagnosed_at)}  # GET /diagnoses's index
        item = {k: self._serializer.serialize(_to_dynamo(v)) for k, v in fields.items()}
        try:
            # A whole-item put: the result and the end of the claim land together, or not at all.
            self._db.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeValues=self._values(values),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                stored = self._item(exc.response.get("Item"))
                if stored and stored.get("write_token") == token:
                    return  # this very result is stored: our put landed and its reply was lost
                raise AlreadyRecorded("not written: a result for this event or a newer one is already stored") from exc
            raise TransientError(f"writing {record.image} to {self._table} failed: {error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"writing {record.image} to {self._table} failed: {exc}") from exc

    def _stored_order(self, image: str) -> str | None:
        try:
            response = self._db.get_item(TableName=self._table, Key={"image": {"S": image}}, ConsistentRead=True,
                                         ProjectionExpression="event_order")
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"reading {image} from {self._table} failed: {exc}") from exc
        return (response.get("Item") or {}).get("event_order", {}).get("S")

    def get(self, image: str) -> dict[str, Any] | None:
        """The record as the API shows it; None until a result is stored (a bare claim is not one)."""
        item = self._raw_get(image)
        if item is None or "status" not in item:
            return None
        return {k: v for k, v in item.items() if k not in INTERNAL_ATTRIBUTES}

    def shown(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A raw item (a Query's) as the API shows records."""
        return {k: v for k, v in (self._item(raw) or {}).items() if k not in INTERNAL_ATTRIBUTES}

    def _raw_get(self, image: str) -> dict[str, Any] | None:
        try:
            response = self._db.get_item(TableName=self._table, Key={"image": {"S": image}}, ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"reading {image} from {self._table} failed: {exc}") from exc
        return self._item(response.get("Item"))

    def _item(self, raw: dict[str, Any] | None) -> dict[str, Any] | None:
        if not raw:
            return None
        return {k: _from_dynamo(self._deserializer.deserialize(v)) for k, v in raw.items()}

    def _values(self, values: dict[str, Any]) -> dict[str, Any]:
        return {k: self._serializer.serialize(v) for k, v in values.items()}

    @staticmethod
    def _key_values(key: EventKey) -> dict[str, Any]:
        values = {":i": key.identity, ":m": key.model_version, ":c": CONDITIONAL}
        return {**values, ":o": key.order} if key.ordered else values


class StoreChain:
    """Writes S3 metadata first and the table last: the table write is the commit.

    If the copy succeeds and the table write fails, the retry finds no stored result, diagnoses
    again and only writes the table (the metadata already says the same). The other way round a
    retry would see the committed result, skip, and leave the metadata unwritten.
    """

    def __init__(self, stores: list[ResultStore]) -> None:
        self._stores = sorted(stores, key=lambda store: store.commits)

    @property
    def commits(self) -> bool:
        """True when a table remembers results (and so can tell a duplicate event from a new one)."""
        return any(store.commits for store in self._stores)

    def claim(self, key: EventKey) -> Claim:
        claims = [store.claim(key) for store in self._stores if store.commits]
        return claims[0] if claims else Claim(key)

    def release(self, claim: Claim) -> None:
        for store in self._stores:
            if store.commits:
                store.release(claim)

    def save(self, record: DiagnosisRecord, obj: StoredObject | None, claim: Claim | None = None) -> DiagnosisRecord:
        """The record as stored; MetadataNotWritten only when no table holds it instead."""
        for store in self._stores:
            try:
                # The claim goes to the table only: it conditions the commit on the result the claim saw.
                if store.commits:
                    store.save(record, obj, claim)
                else:
                    store.save(record, obj)
            except AlreadyRecorded as exc:
                if record.metadata_not_written:
                    raise AlreadyRecorded(str(exc), metadata_not_written=record.metadata_not_written) from exc
                raise
            except MetadataNotWritten as exc:
                logger.warning("diagnosis not written onto the object", extra={"image": shorten(record.image),
                                                                              "reason": str(exc)})
                if not self.commits:
                    raise
                # The table still gets the result (its write is ordered, so a newer one is never replaced).
                record = replace(record, metadata_not_written=str(exc))
        return record


def _newer(key: EventKey) -> str:
    return _OLDER_THAN_EVENT if key.ordered else _NOT_THE_SAME


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, list):
        return [_to_dynamo(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    return value
