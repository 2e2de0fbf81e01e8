"""Where results go: a DynamoDB table, the S3 object's own metadata, or both."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import quote

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from handler.errors import ObjectGone, TransientError
from handler.objects import StoredObject
from handler.records import DiagnosisRecord

LABEL_META = "diagnosis-label"
CONFIDENCE_META = "diagnosis-confidence"
MODEL_META = "diagnosis-model"
STATUS_META = "diagnosis-status"


class ResultStore(Protocol):
    def save(self, record: DiagnosisRecord, obj: StoredObject | None) -> None:
        """Persist one record; raise TransientError when a retry may succeed."""


class DynamoResultStore:
    """One item per image, keyed by `image` = s3://bucket/key."""

    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    def save(self, record: DiagnosisRecord, obj: StoredObject | None) -> None:
        item = {k: self._serializer.serialize(_to_dynamo(v)) for k, v in record.as_dict().items()}
        try:
            self._db.put_item(TableName=self._table, Item=item)
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"writing {record.image} to {self._table} failed: {exc}") from exc

    def get(self, image: str) -> dict[str, Any] | None:
        try:
            response = self._db.get_item(TableName=self._table, Key={"image": {"S": image}}, ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"reading {image} from {self._table} failed: {exc}") from exc
        item = response.get("Item")
        if item is None:
            return None
        return {k: _from_dynamo(self._deserializer.deserialize(v)) for k, v in item.items()}


class S3MetadataStore:
    """Copies the object onto itself with the diagnosis added to its user metadata.

    The copy fires ObjectCreated:Copy; the handler recognises MODEL_META and never
    diagnoses its own write-back again.
    """

    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def save(self, record: DiagnosisRecord, obj: StoredObject | None) -> None:
        if obj is None:
            return
        metadata = {**obj.metadata, **diagnosis_metadata(record)}
        params: dict[str, Any] = {
            "Bucket": obj.ref.bucket,
            "Key": obj.ref.key,
            "CopySource": {"Bucket": obj.ref.bucket, "Key": obj.ref.key},
            "MetadataDirective": "REPLACE",
            "Metadata": metadata,
            **obj.headers,
        }
        if obj.content_type:
            params["ContentType"] = obj.content_type
        if obj.version_id:
            params["CopySource"]["VersionId"] = obj.version_id
        if obj.etag:
            # Never stamp a diagnosis onto bytes we did not look at.
            params["CopySourceIfMatch"] = obj.etag
        try:
            self._s3.copy_object(**params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("PreconditionFailed", "412", "NoSuchKey", "NoSuchVersion"):
                raise ObjectGone(f"{record.image} changed before its metadata was written ({code})") from exc
            raise TransientError(f"writing metadata onto {record.image} failed: {code}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"writing metadata onto {record.image} failed: {exc}") from exc


class StoreChain:
    """Writes to each store in order: the table first, so a retry after a failed copy redoes both."""

    def __init__(self, stores: list[ResultStore]) -> None:
        self._stores = stores

    def save(self, record: DiagnosisRecord, obj: StoredObject | None) -> None:
        for store in self._stores:
            store.save(record, obj)


def diagnosis_metadata(record: DiagnosisRecord) -> dict[str, str]:
    """User metadata must be ASCII: non-ASCII labels are percent-encoded."""
    meta = {MODEL_META: record.model_version, STATUS_META: record.status}
    if record.label is not None:
        meta[LABEL_META] = quote(record.label, safe=" _-.,()'")
    if record.confidence is not None:
        meta[CONFIDENCE_META] = f"{record.confidence:.4f}"
    return meta


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
